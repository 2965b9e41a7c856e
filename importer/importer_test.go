package importer_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/importer"
)

// Generated shapes, not real keys.
var (
	openaiKey    = "sk-" + strings.Repeat("Q7", 24)
	anthropicKey = "sk-ant-" + strings.Repeat("k", 30)
	awsKeyID     = "AKIA" + "QRSTUVWX23456789"
	awsSecret    = strings.Repeat("abcd/EFG+h", 4)
)

// summary renders a result as type -> field -> value, for comparison.
func summary(t *testing.T, res *importer.Result) map[string]map[string]string {
	t.Helper()
	out := make(map[string]map[string]string)
	for _, c := range res.Candidates {
		if c.Name != c.Type {
			t.Errorf("candidate %q has type %q, want the name to be the type", c.Name, c.Type)
		}
		m := make(map[string]string)
		for f, s := range c.Fields {
			m[f] = string(s.Reveal())
		}
		out[c.Type] = m
	}
	return out
}

func skippedKeys(res *importer.Result) []string {
	var keys []string
	for _, s := range res.Skipped {
		keys = append(keys, s.Key)
	}
	return keys
}

func TestParse(t *testing.T) {
	reg := catalog.Builtin()
	tests := []struct {
		name    string
		format  importer.Format
		data    string
		want    map[string]map[string]string
		skipped []string
	}{
		{
			name:   "dotenv as Airtrain writes it",
			format: importer.Dotenv,
			data: "OPENAI_API_KEY=" + openaiKey + "\nOPENAI_ORGANIZATION_ID=None\n" +
				"# a comment\nexport ANTHROPIC_API_KEY='" + anthropicKey + "'\n" +
				"VERSION=2023-06-01\nHOST=http://gpu:11434\nUNRELATED=1\n",
			want: map[string]map[string]string{
				"openai":    {"api_key": openaiKey},
				"anthropic": {"api_key": anthropicKey, "version": "2023-06-01"},
				"ollama":    {"host": "http://gpu:11434"},
			},
			skipped: []string{"OPENAI_ORGANIZATION_ID", "UNRELATED"},
		},
		{
			name:   "dotenv generic name without its key",
			format: importer.Dotenv,
			data:   "PROJECT_ID=demo\nGROQ_API_KEY=gsk_abc\n",
			want: map[string]map[string]string{
				"groq": {"api_key": "gsk_abc"},
			},
			skipped: []string{"PROJECT_ID"},
		},
		{
			name:   "json with Airtrain field names",
			format: importer.JSON,
			data: `{"openai_api_key": "` + openaiKey + `", "openai_organization_id": null,
  "extra": true}`,
			want:    map[string]map[string]string{"openai": {"api_key": openaiKey}},
			skipped: []string{"extra", "openai_organization_id"},
		},
		{
			name:   "json numbers",
			format: importer.JSON,
			data:   `{"host": "http://localhost:11434", "timeout": 45}`,
			want: map[string]map[string]string{
				"ollama": {"host": "http://localhost:11434", "timeout": "45"},
			},
		},
		{
			name:   "yaml aws",
			format: importer.YAML,
			data: "aws_access_key_id: " + awsKeyID + "\naws_secret_access_key: " + awsSecret +
				"\naws_region: eu-west-1\naws_session_token: null\n",
			want: map[string]map[string]string{"aws": {"access_key_id": awsKeyID,
				"secret_access_key": awsSecret, "region": "eu-west-1"}},
			skipped: []string{"aws_session_token"},
		},
		{
			name:   "yaml lancedb and duplicates by alias",
			format: importer.YAML,
			data:   "database_uri: .lancedb\nhf_token: hf_one\nhugging_face_hub_token: hf_two\n",
			want: map[string]map[string]string{
				"lancedb":     {"database_uri": ".lancedb"},
				"huggingface": {"api_key": "hf_one"},
			},
			skipped: []string{"hugging_face_hub_token"},
		},
		{
			name:   "empty yaml",
			format: importer.YAML,
			data:   "",
			want:   map[string]map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := importer.Parse("creds", []byte(tt.data), tt.format, reg)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := summary(t, res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse found %v, want %v", got, tt.want)
			}
			if got := skippedKeys(res); !reflect.DeepEqual(got, tt.skipped) {
				t.Errorf("Parse skipped %q, want %q", got, tt.skipped)
			}
			for _, s := range res.Skipped {
				if s.Reason == "" {
					t.Errorf("skipped %s without a reason", s.Key)
				}
			}
		})
	}
}

func TestParseRunsCheck(t *testing.T) {
	res, err := importer.Parse("x.env", []byte("OPENAI_API_KEY=sk-short\n"), importer.Dotenv,
		catalog.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Candidates) != 1 || res.Candidates[0].Check == nil {
		t.Fatalf("Parse = %+v, want one candidate that fails its check", res.Candidates)
	}
	if strings.Contains(res.Candidates[0].Check.Error(), "sk-short") {
		t.Error("check error shows the value")
	}
}

func TestParseMalformed(t *testing.T) {
	const value = "sk-SECRETVALUE0123456789"
	tests := []struct {
		name   string
		format importer.Format
		data   string
		want   string
	}{
		{"dotenv unterminated", importer.Dotenv,
			"A=1\nB=2\nOPENAI_API_KEY=\"" + value + "\nC=3\n", "bad.env:3: "},
		{"dotenv bad name", importer.Dotenv, "A=1\nBAD KEY" + value + "=1\n", "bad.env:2: "},
		{"json syntax", importer.JSON, "{\n  \"openai_api_key\": " + value + "\n}", "bad.json:2:"},
		{"json truncated", importer.JSON, `{"openai_api_key": "` + value, "unexpected end"},
		{"json not an object", importer.JSON, `["` + value + `"]`, "must be an object"},
		{"json nested", importer.JSON, `{"openai_api_key": {"v": "` + value + `"}}`,
			"must be a string"},
		{"json trailing", importer.JSON, `{} {"a": "` + value + `"}`, "trailing data"},
		{"yaml syntax", importer.YAML, "a: 1\nopenai_api_key: \"" + value + "\n", "bad.yaml:"},
		{"yaml list", importer.YAML, "- " + value + "\n", "must be a mapping"},
		{"yaml nested", importer.YAML, "openai_api_key:\n  - " + value + "\n",
			"must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "bad." + map[importer.Format]string{importer.Dotenv: "env",
				importer.JSON: "json", importer.YAML: "yaml"}[tt.format]
			res, err := importer.Parse(name, []byte(tt.data), tt.format, catalog.Builtin())
			if err == nil {
				t.Fatalf("Parse = %v, want an error", res)
			}
			if res != nil {
				t.Errorf("Parse returned a result with its error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRETVALUE") {
				t.Errorf("Parse error shows the file's contents")
			}
		})
	}
}

func TestFromEnviron(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "HOST=build-box", "VERSION=3", "TIMEOUT=5",
		"OPENAI_API_KEY=" + openaiKey, "DATABASE_URI=postgres://x", "HF_TOKEN=",
		"MISTRAL_API_KEY=" + strings.Repeat("m", 32), "NOEQUALS"}
	res := importer.FromEnviron(environ, catalog.Builtin())
	want := map[string]map[string]string{
		"openai":  {"api_key": openaiKey},
		"mistral": {"api_key": strings.Repeat("m", 32)},
	}
	if got := summary(t, res); !reflect.DeepEqual(got, want) {
		t.Errorf("FromEnviron found %v, want %v", got, want)
	}
	wantSkipped := []string{"DATABASE_URI", "HF_TOKEN", "HOST", "TIMEOUT", "VERSION"}
	if got := skippedKeys(res); !reflect.DeepEqual(got, wantSkipped) {
		t.Errorf("FromEnviron skipped %q, want %q", got, wantSkipped)
	}
}

func TestFromEnvironUserType(t *testing.T) {
	reg, err := catalog.NewRegistry([]catalog.UserType{{Name: "acme", Fields: []catalog.UserField{
		{Name: "token", Secret: true, Env: "ACME_TOKEN"},
		{Name: "key", Secret: true, Env: "OPENAI_API_KEY"}, // a built-in's variable
	}}})
	if err != nil {
		t.Fatal(err)
	}
	res := importer.FromEnviron([]string{"ACME_TOKEN=t0k", "OPENAI_API_KEY=" + openaiKey}, reg)
	want := map[string]map[string]string{"acme": {"token": "t0k"},
		"openai": {"api_key": openaiKey}}
	if got := summary(t, res); !reflect.DeepEqual(got, want) {
		t.Errorf("FromEnviron found %v, want %v", got, want)
	}
}

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("creds.json", `{"gemini_api_key": "AIza`+strings.Repeat("g", 35)+`"}`)
	res, err := importer.FromFile(filepath.Join(dir, "creds"), catalog.Builtin())
	if err != nil {
		t.Fatalf("FromFile(no suffix): %v", err)
	}
	if len(res.Candidates) != 1 || res.Candidates[0].Type != "gemini" ||
		res.Candidates[0].Check != nil {
		t.Errorf("FromFile(no suffix) = %+v, want one valid gemini credential", res.Candidates)
	}

	p := write(".env", "GROQ_API_KEY=gsk_x\n")
	if res, err := importer.FromFile(p, catalog.Builtin()); err != nil ||
		len(res.Candidates) != 1 {
		t.Errorf("FromFile(.env) = %v, %v; want one candidate", res, err)
	}

	if _, err := importer.FromFile(write("creds.toml", "a = 1"), catalog.Builtin()); err == nil ||
		!strings.Contains(err.Error(), "unsupported file type") {
		t.Errorf("FromFile(.toml) = %v, want an unsupported file type error", err)
	}
	if _, err := importer.FromFile(filepath.Join(dir, "missing.env"), catalog.Builtin()); err == nil {
		t.Error("FromFile(missing) succeeded")
	}
	big := write("big.env", "A="+strings.Repeat("x", importer.MaxFileSize)+"\n")
	if _, err := importer.FromFile(big, catalog.Builtin()); err == nil ||
		!strings.Contains(err.Error(), "larger than") {
		t.Errorf("FromFile(big) = %v, want a size error", err)
	}
}
