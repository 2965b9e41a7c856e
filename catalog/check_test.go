package catalog_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/secret"
)

// Sample values are generated shapes, not real keys.
var (
	openaiKey    = "sk-proj-" + strings.Repeat("A1b2", 10)
	anthropicKey = "sk-ant-api03-" + strings.Repeat("x", 40)
	awsKeyID     = "AKIA" + "ABCDEFGH23456789"
	awsSecret    = strings.Repeat("s/3+", 10)
	geminiKey    = "AIza" + strings.Repeat("Ab_-9", 7)
)

func serviceAccount(drop string) string {
	members := [][2]string{
		{"type", "service_account"}, {"project_id", "demo-project"},
		{"private_key_id", "0123abcd"},
		{"private_key", `-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n`},
		{"client_email", "robot@demo-project.iam.gserviceaccount.com"},
		{"client_id", "1234567890"}, {"token_uri", "https://oauth2.googleapis.com/token"},
	}
	var parts []string
	for _, m := range members {
		if m[0] != drop {
			parts = append(parts, `"`+m[0]+`": "`+m[1]+`"`)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func secrets(t testing.TB, m map[string]string) map[string]*secret.Secret {
	t.Helper()
	out := make(map[string]*secret.Secret, len(m))
	for k, v := range m {
		out[k] = secret.FromString(v)
	}
	return out
}

func lookup(t testing.TB, name string) *catalog.Type {
	t.Helper()
	typ, ok := catalog.Builtin().Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q): not found", name)
	}
	return typ
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		typ    string
		fields map[string]string
		bad    []string // fields the error must name, in order; nil means valid
	}{
		{"openai ok", "openai", map[string]string{"api_key": openaiKey}, nil},
		{"openai with org", "openai", map[string]string{"api_key": openaiKey,
			"organization_id": "org-" + strings.Repeat("aB3", 8)}, nil},
		{"openai short", "openai", map[string]string{"api_key": "sk-abc"}, []string{"api_key"}},
		{"openai prefix", "openai", map[string]string{"api_key": "pk-" + strings.Repeat("a", 40)},
			[]string{"api_key"}},
		{"openai newline", "openai", map[string]string{"api_key": openaiKey + "\n"},
			[]string{"api_key"}},
		{"openai bad org", "openai", map[string]string{"api_key": openaiKey,
			"organization_id": "org-short"}, []string{"organization_id"}},
		{"openai missing", "openai", map[string]string{}, []string{"api_key"}},
		{"openai empty counts as missing", "openai", map[string]string{"api_key": ""},
			[]string{"api_key"}},
		{"openai unknown", "openai", map[string]string{"api_key": openaiKey, "zz": "1", "aa": "2"},
			[]string{"aa", "zz"}},
		{"anthropic ok", "anthropic", map[string]string{"api_key": anthropicKey,
			"version": "2023-06-01"}, nil},
		{"anthropic openai key", "anthropic", map[string]string{"api_key": openaiKey},
			[]string{"api_key"}},
		{"anthropic bad version", "anthropic", map[string]string{"api_key": anthropicKey,
			"version": "latest"}, []string{"version"}},
		{"aws ok", "aws", map[string]string{"access_key_id": awsKeyID,
			"secret_access_key": awsSecret, "region": "eu-west-3"}, nil},
		{"aws temporary", "aws", map[string]string{"access_key_id": "ASIA" + awsKeyID[4:],
			"secret_access_key": awsSecret, "session_token": "FwoGZXIvYXdzE" + awsSecret}, nil},
		{"aws bad", "aws", map[string]string{"access_key_id": "AKIAabc",
			"secret_access_key": awsSecret[1:], "region": "Europe"},
			[]string{"access_key_id", "secret_access_key", "region"}},
		{"aws missing secret", "aws", map[string]string{"access_key_id": awsKeyID},
			[]string{"secret_access_key"}},
		{"google ok", "google-cloud", map[string]string{"project_id": "demo-project",
			"service_account_key": serviceAccount("")}, nil},
		{"google no private key", "google-cloud", map[string]string{"project_id": "p",
			"service_account_key": serviceAccount("private_key")},
			[]string{"service_account_key"}},
		{"google not json", "google-cloud", map[string]string{"project_id": "p",
			"service_account_key": "{not json"}, []string{"service_account_key"}},
		{"google missing project", "google-cloud",
			map[string]string{"service_account_key": serviceAccount("")}, []string{"project_id"}},
		{"gemini ok", "gemini", map[string]string{"api_key": geminiKey}, nil},
		{"gemini short", "gemini", map[string]string{"api_key": geminiKey[:38]},
			[]string{"api_key"}},
		{"gemini bad char", "gemini", map[string]string{"api_key": geminiKey[:38] + "!"},
			[]string{"api_key"}},
		{"groq ok", "groq", map[string]string{"api_key": "gsk_" + strings.Repeat("q", 52)}, nil},
		{"groq prefix", "groq", map[string]string{"api_key": "gsk-abc"}, []string{"api_key"}},
		{"perplexity ok", "perplexity", map[string]string{"api_key": "pplx-abc123"}, nil},
		{"perplexity bare prefix", "perplexity", map[string]string{"api_key": "pplx-"},
			[]string{"api_key"}},
		{"cerebras ok", "cerebras", map[string]string{"api_key": "csk-abc123"}, nil},
		{"cerebras prefix", "cerebras", map[string]string{"api_key": "sk-abc123"},
			[]string{"api_key"}},
		{"together ok", "together", map[string]string{"api_key": strings.Repeat("0f", 32)}, nil},
		{"together space", "together", map[string]string{"api_key": "abc def"},
			[]string{"api_key"}},
		{"fireworks ok", "fireworks", map[string]string{"api_key": "fw_abc123"}, nil},
		{"fireworks non-ascii", "fireworks", map[string]string{"api_key": "abcé"},
			[]string{"api_key"}},
		{"exa ok", "exa", map[string]string{"api_key": "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"},
			nil},
		{"mistral ok", "mistral", map[string]string{"api_key": strings.Repeat("M", 32)}, nil},
		{"cohere tab", "cohere", map[string]string{"api_key": "abc\tdef"}, []string{"api_key"}},
		{"deepseek ok", "deepseek", map[string]string{"api_key": "sk-" + strings.Repeat("d", 32)},
			nil},
		{"deepseek prefix", "deepseek", map[string]string{"api_key": "ds-abc"},
			[]string{"api_key"}},
		{"xai ok", "xai", map[string]string{"api_key": "xai-" + strings.Repeat("x", 80)}, nil},
		{"xai prefix", "xai", map[string]string{"api_key": "xai_abc"}, []string{"api_key"}},
		{"huggingface ok", "huggingface", map[string]string{"api_key": "hf_abcdef"}, nil},
		{"huggingface prefix", "huggingface", map[string]string{"api_key": "hf-abcdef"},
			[]string{"api_key"}},
		{"sambanova ok", "sambanova", map[string]string{"api_key": "0f0f-1e1e",
			"endpoint_url": "https://api.sambanova.ai/v1"}, nil},
		{"sambanova loopback http", "sambanova", map[string]string{"api_key": "k",
			"endpoint_url": "http://127.0.0.1:8080/v1"}, nil},
		{"sambanova remote http", "sambanova", map[string]string{"api_key": "k",
			"endpoint_url": "http://example.com/v1"}, []string{"endpoint_url"}},
		{"sambanova not url", "sambanova", map[string]string{"api_key": "k",
			"endpoint_url": "api.sambanova.ai"}, []string{"endpoint_url"}},
		{"ollama empty", "ollama", map[string]string{}, nil},
		{"ollama ok", "ollama", map[string]string{"host": "http://10.1.2.3:11434",
			"timeout": "120"}, nil},
		{"ollama bad", "ollama", map[string]string{"host": "ftp://h", "timeout": "0"},
			[]string{"host", "timeout"}},
		{"ollama negative", "ollama", map[string]string{"timeout": "-5"}, []string{"timeout"}},
		{"lancedb ok", "lancedb", map[string]string{"database_uri": "db://my-db"}, nil},
		{"lancedb blank", "lancedb", map[string]string{"database_uri": "  "},
			[]string{"database_uri"}},
		{"lancedb missing", "lancedb", map[string]string{}, []string{"database_uri"}},
		{"azure ok", "azure-openai", map[string]string{"api_key": strings.Repeat("a0", 16),
			"endpoint": "https://demo.openai.azure.com", "api_version": "2024-10-01-preview"},
			nil},
		{"azure http", "azure-openai", map[string]string{"api_key": "k",
			"endpoint": "http://localhost:1234"}, []string{"endpoint"}},
		{"azure missing endpoint", "azure-openai", map[string]string{"api_key": "k"},
			[]string{"endpoint"}},
		{"generic value", "generic", map[string]string{"value": "anything-goes_1"}, nil},
		{"generic fields", "generic", map[string]string{"user": "u", "pass.word": "p"}, nil},
		{"generic none", "generic", map[string]string{}, []string{"value"}},
		{"generic bad name", "generic", map[string]string{"1x": "v"}, []string{"1x"}},
		{"generic multi-line", "generic", map[string]string{"value": "line 1\nline 2\n",
			"other": "o o"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lookup(t, tt.typ).Check(secrets(t, tt.fields))
			if tt.bad == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var ce *catalog.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *CheckError", err)
			}
			var got []string
			for _, p := range ce.Problems {
				got = append(got, p.Field)
				if p.Rule == "" {
					t.Errorf("problem with %s has no rule", p.Field)
				}
			}
			if !reflect.DeepEqual(got, tt.bad) {
				t.Errorf("Check named %q, want %q", got, tt.bad)
			}
			for name, v := range tt.fields {
				if len(v) > 6 && strings.Contains(err.Error(), v) {
					t.Errorf("error shows the value of %s", name)
				}
			}
		})
	}
}

func TestCheckMessage(t *testing.T) {
	err := lookup(t, "openai").Check(secrets(t, map[string]string{"api_key": "sk-tooshort"}))
	want := `openai credential: api_key: must start with "sk-" and be at least 40 characters`
	if err == nil || err.Error() != want {
		t.Fatalf("Check = %v, want %s", err, want)
	}
}

func TestAllSortedAndComplete(t *testing.T) {
	var names []string
	for _, typ := range catalog.Builtin().All() {
		names = append(names, typ.Name)
		main := typ.Field(typ.Main)
		if main == nil {
			t.Errorf("%s: main field %q is not declared", typ.Name, typ.Main)
			continue
		}
		hasSecret := false
		for _, f := range typ.Fields {
			hasSecret = hasSecret || f.Secret
		}
		if hasSecret && !main.Secret {
			t.Errorf("%s: main field %q is not secret", typ.Name, typ.Main)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("All() not sorted: %q", names)
	}
	for _, want := range []string{"openai", "anthropic", "aws", "google-cloud", "gemini", "groq",
		"together", "fireworks", "cerebras", "perplexity", "exa", "sambanova", "ollama",
		"lancedb", "generic", "mistral", "deepseek", "xai", "cohere", "huggingface",
		"azure-openai"} {
		if _, ok := catalog.Builtin().Lookup(want); !ok {
			t.Errorf("Lookup(%q): missing", want)
		}
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name     string
		typ      string
		cred     string
		fields   map[string]string
		defaults bool // apply defaults first
		want     map[string]string
	}{
		{"openai without org", "openai", "openai", map[string]string{"api_key": openaiKey}, false,
			map[string]string{"api_key": "OPENAI_API_KEY"}},
		{"openai with org", "openai", "work", map[string]string{"api_key": openaiKey,
			"organization_id": "org-x"}, false,
			map[string]string{"api_key": "OPENAI_API_KEY", "organization_id": "OPENAI_ORGANIZATION_ID"}},
		{"anthropic version not from default", "anthropic", "a",
			map[string]string{"api_key": anthropicKey}, true,
			map[string]string{"api_key": "ANTHROPIC_API_KEY"}},
		{"anthropic version held", "anthropic", "a",
			map[string]string{"api_key": anthropicKey, "version": "2023-06-01"}, false,
			map[string]string{"api_key": "ANTHROPIC_API_KEY", "version": "VERSION"}},
		{"aws region from default", "aws", "aws", map[string]string{"access_key_id": awsKeyID,
			"secret_access_key": awsSecret}, true,
			map[string]string{"access_key_id": "AWS_ACCESS_KEY_ID",
				"secret_access_key": "AWS_SECRET_ACCESS_KEY", "region": "AWS_REGION"}},
		{"aws empty token skipped", "aws", "aws", map[string]string{"access_key_id": awsKeyID,
			"secret_access_key": awsSecret, "region": "us-west-2", "session_token": ""}, false,
			map[string]string{"access_key_id": "AWS_ACCESS_KEY_ID",
				"secret_access_key": "AWS_SECRET_ACCESS_KEY", "region": "AWS_REGION"}},
		{"ollama nothing held", "ollama", "ollama", map[string]string{}, true,
			map[string]string{}},
		{"ollama host held", "ollama", "ollama", map[string]string{"host": "http://h:1"}, true,
			map[string]string{"host": "HOST"}},
		{"google", "google-cloud", "gc", map[string]string{"project_id": "p",
			"service_account_key": "{}"}, false,
			map[string]string{"project_id": "PROJECT_ID",
				"service_account_key": "SERVICE_ACCOUNT_KEY"}},
		{"azure version from default", "azure-openai", "az", map[string]string{"api_key": "k",
			"endpoint": "https://x"}, true,
			map[string]string{"api_key": "AZURE_OPENAI_API_KEY",
				"endpoint": "AZURE_OPENAI_ENDPOINT", "api_version": "OPENAI_API_VERSION"}},
		{"sambanova endpoint from default", "sambanova", "s", map[string]string{"api_key": "k"},
			true, map[string]string{"api_key": "SAMBANOVA_API_KEY",
				"endpoint_url": "SAMBANOVA_ENDPOINT_URL"}},
		{"generic value", "generic", "my-service.token", map[string]string{"value": "v"}, false,
			map[string]string{"value": "MY_SERVICE_TOKEN"}},
		{"generic leading digit", "generic", "1password", map[string]string{"value": "v"}, false,
			map[string]string{"value": "_1PASSWORD"}},
		{"generic fields", "generic", "db", map[string]string{"user": "u", "pass-word": "p"},
			false, map[string]string{"user": "USER", "pass-word": "PASS_WORD"}},
		{"unknown field not exported", "gemini", "g", map[string]string{"api_key": geminiKey,
			"extra": "x"}, false, map[string]string{"api_key": "GEMINI_API_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := lookup(t, tt.typ)
			fields := secrets(t, tt.fields)
			if tt.defaults {
				typ.ApplyDefaults(fields)
			}
			got := typ.Env(tt.cred, fields)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Env(%q) = %v, want %v", tt.cred, got, tt.want)
			}
		})
	}
}

func TestApplyDefaultsValues(t *testing.T) {
	typ := lookup(t, "aws")
	fields := secrets(t, map[string]string{"access_key_id": awsKeyID,
		"secret_access_key": awsSecret})
	added := typ.ApplyDefaults(fields)
	if !reflect.DeepEqual(added, []string{"region"}) {
		t.Fatalf("ApplyDefaults added %q, want [region]", added)
	}
	if got := string(fields["region"].Reveal()); got != "us-east-1" {
		t.Errorf("region = %q, want us-east-1", got)
	}
	if again := typ.ApplyDefaults(fields); len(again) != 0 {
		t.Errorf("second ApplyDefaults added %q, want nothing", again)
	}
}

func TestExportsAliases(t *testing.T) {
	typ := lookup(t, "huggingface")
	got := typ.Exports("hf", secrets(t, map[string]string{"api_key": "hf_abc"}))
	want := []catalog.Export{{Var: "HF_TOKEN", Field: "api_key"},
		{Var: "HUGGING_FACE_HUB_TOKEN", Field: "api_key"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Exports = %v, want %v", got, want)
	}
}

func TestUserTypes(t *testing.T) {
	good := catalog.UserType{Name: "acme", Description: "Acme API", Fields: []catalog.UserField{
		{Name: "client_id", Required: true},
		{Name: "token", Secret: true, Required: true, Env: "ACME_TOKEN", Pattern: `acme_[a-z0-9]{8}`},
	}}
	reg, err := catalog.NewRegistry([]catalog.UserType{good})
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	typ, ok := reg.Lookup("acme")
	if !ok || !typ.User || typ.Main != "token" {
		t.Fatalf("Lookup(acme) = %+v, %v; want a user type with main field token", typ, ok)
	}
	if _, ok := reg.Lookup("openai"); !ok {
		t.Error("Lookup(openai) in a registry with user types: missing")
	}
	if n, m := len(reg.All()), len(catalog.Builtin().All()); n != m+1 {
		t.Errorf("All() has %d types, want %d", n, m+1)
	}
	if err := typ.Check(secrets(t, map[string]string{"client_id": "c",
		"token": "acme_abcd1234"})); err != nil {
		t.Errorf("Check(valid) = %v", err)
	}
	// The pattern must match the whole value.
	err = typ.Check(secrets(t, map[string]string{"client_id": "c", "token": "xacme_abcd12345"}))
	var ce *catalog.CheckError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Field != "token" {
		t.Errorf("Check(bad token) = %v, want one problem with token", err)
	} else if strings.Contains(err.Error(), "xacme_abcd12345") {
		t.Error("error shows the value")
	}
	env := typ.Env("acme", secrets(t, map[string]string{"client_id": "c", "token": "t"}))
	want := map[string]string{"client_id": "CLIENT_ID", "token": "ACME_TOKEN"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("Env = %v, want %v", env, want)
	}

	bad := []struct {
		name string
		typ  catalog.UserType
		want string
	}{
		{"bad regex", catalog.UserType{Name: "x", Fields: []catalog.UserField{
			{Name: "k", Secret: true, Pattern: "("}}}, "pattern does not compile"},
		{"clash", catalog.UserType{Name: "openai", Fields: []catalog.UserField{
			{Name: "k", Secret: true}}}, "clashes with the built-in type"},
		{"bad name", catalog.UserType{Name: "Bad Name", Fields: []catalog.UserField{
			{Name: "k", Secret: true}}}, "name must be"},
		{"no secret", catalog.UserType{Name: "x", Fields: []catalog.UserField{
			{Name: "k"}}}, "declares no secret field"},
		{"main not secret", catalog.UserType{Name: "x", Main: "a", Fields: []catalog.UserField{
			{Name: "a"}, {Name: "k", Secret: true}}}, `main field "a" is not secret`},
		{"main missing", catalog.UserType{Name: "x", Main: "zz", Fields: []catalog.UserField{
			{Name: "k", Secret: true}}}, `main field "zz" is not declared`},
		{"bad env", catalog.UserType{Name: "x", Fields: []catalog.UserField{
			{Name: "k", Secret: true, Env: "1-BAD"}}}, "is not a valid name"},
		{"field twice", catalog.UserType{Name: "x", Fields: []catalog.UserField{
			{Name: "k", Secret: true}, {Name: "k"}}}, `field "k" declared twice`},
		{"no fields", catalog.UserType{Name: "x"}, "declares no fields"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.NewRegistry([]catalog.UserType{tt.typ})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRegistry = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	_, err = catalog.NewRegistry([]catalog.UserType{good, good})
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("NewRegistry(duplicate) = %v, want a duplicate error", err)
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"openai": "OPENAI", "my-key.v2": "MY_KEY_V2",
		"9lives": "_9LIVES", "": "_", "ÄB": "__B"} {
		if got := catalog.EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	typ := lookup(b, "openai")
	fields := secrets(b, map[string]string{"api_key": openaiKey,
		"organization_id": "org-" + strings.Repeat("aB3", 8)})
	b.ReportAllocs()
	for b.Loop() {
		if err := typ.Check(fields); err != nil {
			b.Fatal(err)
		}
	}
}
