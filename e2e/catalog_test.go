package e2e

import (
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/protocol"
)

// token returns n random letters and digits, so that every key a test uses
// is unique and can be searched for in outputs.
func token(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func openaiKey() string    { return "sk-" + token(45) }
func anthropicKey() string { return "sk-ant-" + token(40) }
func groqKey() string      { return "gsk_" + token(40) }
func geminiKey() string    { return "AIza" + token(35) }

// listed returns the daemon's list as JSON, by name.
func listed(t *testing.T, d *daemontest.Daemon) map[string]protocol.Info {
	t.Helper()
	var infos []protocol.Info
	if err := json.Unmarshal([]byte(d.MustRun("", "list", "--json")), &infos); err != nil {
		t.Fatalf("list --json: %v", err)
	}
	out := map[string]protocol.Info{}
	for _, in := range infos {
		out[in.Name] = in
	}
	return out
}

// noSecrets fails when any of secrets occurs in text; what names the text.
// The message never shows the secret itself.
func noSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for i, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains secret #%d", what, i)
		}
	}
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCatalogSetChecksType(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})

	_, stderr, code := d.Run("sk-short", "set", "openai", "--type", "openai")
	if code != 7 {
		t.Fatalf("set openai sk-short: exit %d, want 7: %s", code, stderr)
	}
	if !strings.Contains(stderr, "api_key") || !strings.Contains(stderr, `must start with "sk-"`) {
		t.Errorf("set openai sk-short: message names neither field nor rule: %s", stderr)
	}
	noSecrets(t, "refusal message", stderr, "sk-short")
	if _, ok := listed(t, d)["openai"]; ok {
		t.Fatal("a refused credential was stored")
	}

	key := openaiKey()
	out, stderr, code := d.Run(key, "set", "openai", "--type", "openai")
	if code != 0 {
		t.Fatalf("set openai with a well-formed key: exit %d: %s", code, stderr)
	}
	noSecrets(t, "set output", out+stderr, key)

	_, stderr, code = d.Run("sk-short", "set", "openai-draft", "--type", "openai", "--no-check")
	if code != 0 {
		t.Fatalf("set --no-check: exit %d: %s", code, stderr)
	}
	infos := listed(t, d)
	if in := infos["openai"]; in.Type != "openai" || in.Unchecked {
		t.Errorf("openai listed as %+v, want type openai, checked", in)
	}
	if in := infos["openai-draft"]; !in.Unchecked {
		t.Errorf("openai-draft listed as %+v, want unchecked", in)
	}

	out = d.MustRun("", "exec", "--cred", "openai", "--", "python3", "-c",
		"import os; print(len(os.environ['OPENAI_API_KEY']))")
	if strings.TrimSpace(out) != fmt.Sprint(len(key)) {
		t.Errorf("exec printed %q, want the key's length %d", strings.TrimSpace(out), len(key))
	}

	show := d.MustRun("", "show", "openai")
	if !strings.Contains(show, "<redacted>") || !strings.Contains(show, "OPENAI_API_KEY") {
		t.Errorf("show openai:\n%s", show)
	}
	noSecrets(t, "show output", show, key)
	show = d.MustRun("", "show", "openai-draft")
	if !strings.Contains(show, "unchecked") {
		t.Errorf("show of an unchecked credential does not say so:\n%s", show)
	}
}

func TestCatalogShowNonSecretFields(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	key := anthropicKey()
	d.MustRun("api_key="+key+"\nversion=2024-01-01\n", "set", "claude", "--type", "anthropic")
	var v struct {
		Type   string `json:"type"`
		Fields []struct {
			Name   string `json:"name"`
			Secret bool   `json:"secret"`
			Set    bool   `json:"set"`
			Value  string `json:"value"`
		} `json:"fields"`
	}
	out := d.MustRun("", "show", "claude", "--json")
	noSecrets(t, "show --json", out, key)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("show --json: %v", err)
	}
	got := map[string]string{}
	for _, f := range v.Fields {
		if f.Set {
			got[f.Name] = f.Value
		}
	}
	if v.Type != "anthropic" || got["api_key"] != "" || got["version"] != "2024-01-01" {
		t.Errorf("show --json = type %s, fields %v; want the version shown and the key not", v.Type, got)
	}
}

func TestCatalogTypes(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	out := d.MustRun("", "types")
	for _, want := range []string{"openai", "OPENAI_API_KEY", "anthropic", "ANTHROPIC_API_KEY", "gsk_"} {
		if !strings.Contains(out, want) {
			t.Errorf("types does not mention %s", want)
		}
	}
	var types []protocol.TypeInfo
	if err := json.Unmarshal([]byte(d.MustRun("", "types", "--json")), &types); err != nil {
		t.Fatalf("types --json: %v", err)
	}
	found := false
	for _, ty := range types {
		for _, f := range ty.Fields {
			if ty.Name == "openai" && f.Name == "api_key" {
				found = f.Secret && f.Required && f.Env == "OPENAI_API_KEY" && f.Rule != ""
			}
		}
	}
	if !found {
		t.Error("types --json: openai's api_key is not a required secret under OPENAI_API_KEY with a rule")
	}
}

func TestImportDotenv(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	keys := []string{openaiKey(), anthropicKey(), groqKey()}
	path := writeFile(t, filepath.Join(t.TempDir(), "airtrain.env"), fmt.Sprintf(
		"OPENAI_API_KEY=%s\nANTHROPIC_API_KEY=%s\nGROQ_API_KEY=%s\n", keys[0], keys[1], keys[2]))

	out, stderr, code := d.Run("", "import", path)
	if code != 0 {
		t.Fatalf("import %s: exit %d: %s%s", path, code, out, stderr)
	}
	noSecrets(t, "import output", out+stderr, keys...)
	infos := listed(t, d)
	for _, name := range []string{"openai", "anthropic", "groq"} {
		if infos[name].Type != name {
			t.Errorf("after import, %s is listed as %+v", name, infos[name])
		}
	}
	list := d.MustRun("", "list")
	if !strings.Contains(list, "groq") || !strings.Contains(list, "anthropic") {
		t.Errorf("list after import:\n%s", list)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("import without --shred removed the file: %v", err)
	}

	// A second import skips what exists and changes nothing.
	out = d.MustRun("", "import", path)
	if !strings.Contains(out, "skipped openai") {
		t.Errorf("second import did not skip openai:\n%s", out)
	}
	if got := d.MustRun("", "get", "groq"); strings.TrimSpace(got) != keys[2] {
		t.Error("get groq after import: not the imported key")
	}
}

// TestImportUserType imports a variable of a type declared only in the
// agent's config file, and refuses one that breaks its pattern before
// anything reaches the agent.
func TestImportUserType(t *testing.T) {
	conf := writeFile(t, filepath.Join(t.TempDir(), "credd.toml"), `
[[type]]
name = "acme"
  [[type.field]]
  name = "api_key"
  secret = true
  required = true
  env = "ACME_API_KEY"
  pattern = "acme_[A-Za-z0-9]{32}"
`)
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", conf}})
	key, oa := "acme_"+token(32), openaiKey()
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "app.env"), "ACME_API_KEY="+key+"\nOPENAI_API_KEY="+oa+"\n")

	out, stderr, code := d.Run("", "import", path)
	if code != 0 {
		t.Fatalf("import: exit %d: %s%s", code, out, stderr)
	}
	noSecrets(t, "import output", out+stderr, key, oa)
	if !strings.Contains(out, "stored acme (acme)") {
		t.Errorf("import did not store the user type:\n%s", out)
	}
	if infos := listed(t, d); infos["acme"].Type != "acme" || infos["openai"].Type != "openai" {
		t.Errorf("after import: acme %+v, openai %+v", infos["acme"], infos["openai"])
	}
	if got := d.MustRun("", "get", "acme"); strings.TrimSpace(got) != key {
		t.Error("get acme after import: not the imported key")
	}

	// A value that breaks the type's pattern is reported by the local
	// check and refused by the agent, and nothing is stored under it.
	bad := "acme_short" + token(3)
	path = writeFile(t, filepath.Join(dir, "bad.env"), "ACME_API_KEY="+bad+"\n")
	d.MustRun("", "rm", "acme")
	out, stderr, code = d.Run("", "import", "--dry-run", path)
	if code != 0 || !strings.Contains(out, "fails its format check") {
		t.Errorf("dry run of a bad acme key: exit %d:\n%s%s", code, out, stderr)
	}
	noSecrets(t, "dry-run output", out+stderr, bad)
	out, stderr, code = d.Run("", "import", path)
	if code == 0 || !strings.Contains(out, "refused acme") {
		t.Errorf("import of a bad acme key: exit %d:\n%s%s", code, out, stderr)
	}
	noSecrets(t, "import output", out+stderr, bad)
	if _, ok := listed(t, d)["acme"]; ok {
		t.Error("a refused acme key was stored")
	}
}

func TestImportJSONAndYAML(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	oa, an := openaiKey(), anthropicKey()
	dir := t.TempDir()
	js := writeFile(t, filepath.Join(dir, "creds.json"),
		fmt.Sprintf("{\n  \"openai_api_key\": %q\n}\n", oa))
	ym := writeFile(t, filepath.Join(dir, "creds.yaml"),
		fmt.Sprintf("anthropic_api_key: %q\nversion: \"2023-06-01\"\n", an))

	for _, p := range []string{js, ym} {
		out, stderr, code := d.Run("", "import", p)
		if code != 0 {
			t.Fatalf("import %s: exit %d: %s%s", p, code, out, stderr)
		}
		noSecrets(t, "import output", out+stderr, oa, an)
	}
	infos := listed(t, d)
	if infos["openai"].Type != "openai" || infos["anthropic"].Type != "anthropic" {
		t.Errorf("after json and yaml imports: %+v", infos)
	}
	if got := d.MustRun("", "get", "anthropic"); strings.TrimSpace(got) != an {
		t.Error("get anthropic after the yaml import: not the imported key")
	}
}

func TestImportMalformed(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	key := openaiKey()
	path := writeFile(t, filepath.Join(t.TempDir(), "broken.json"),
		fmt.Sprintf("{\n  \"openai_api_key\": %q,\n  \"groq_api_key\": \n}\n", key))
	out, stderr, code := d.Run("", "import", path)
	if code == 0 {
		t.Fatalf("import of a malformed file succeeded:\n%s", out)
	}
	// The error names the file and the line (file:line:column).
	if !strings.Contains(stderr, path+":4:") {
		t.Errorf("error does not name the file and line: %s", stderr)
	}
	noSecrets(t, "import error", out+stderr, key)
	if n := len(listed(t, d)); n != 0 {
		t.Errorf("a malformed import stored %d credentials", n)
	}
}

func TestImportShredAndRefusal(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	dir := t.TempDir()

	// One candidate fails its check: nothing is shredded.
	bad := writeFile(t, filepath.Join(dir, "bad.env"),
		"OPENAI_API_KEY=sk-short\nGROQ_API_KEY="+groqKey()+"\n")
	out, stderr, code := d.Run("", "import", bad, "--shred")
	if code != 7 {
		t.Errorf("import with a refused candidate: exit %d, want 7: %s%s", code, out, stderr)
	}
	if !strings.Contains(out, "refused openai") || !strings.Contains(out, "stored groq") {
		t.Errorf("import report:\n%s", out)
	}
	noSecrets(t, "import report", out+stderr, "sk-short")
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the file was shredded although a candidate was refused: %v", err)
	}

	good := writeFile(t, filepath.Join(dir, "good.env"), "OPENAI_API_KEY="+openaiKey()+"\n")
	out = d.MustRun("", "import", good, "--shred")
	if !strings.Contains(out, "shredded") {
		t.Errorf("import --shred:\n%s", out)
	}
	if _, err := os.Stat(good); !os.IsNotExist(err) {
		t.Errorf("import --shred left the file: %v", err)
	}
}

func TestImportFromEnvDryRun(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	key := openaiKey()
	out, stderr, code := d.RunEnv([]string{"OPENAI_API_KEY=" + key}, "", "import", "--from-env", "--dry-run")
	if code != 0 {
		t.Fatalf("import --from-env --dry-run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "openai (openai)") || !strings.Contains(out, "nothing stored") {
		t.Errorf("dry run report:\n%s", out)
	}
	noSecrets(t, "dry run report", out+stderr, key)
	if n := len(listed(t, d)); n != 0 {
		t.Errorf("a dry run stored %d credentials", n)
	}
}

// standIn is a local HTTPS server in place of a provider. It answers by the
// key it receives and remembers where each key arrived.
type standIn struct {
	name   string
	header string // where the provider expects the key
	prefix string // before the key in that header
	status map[string]int
	hang   map[string]bool

	mu       sync.Mutex
	inHeader map[string]int
	inURL    int
	srv      *httptest.Server
}

func newStandIn(t *testing.T, name, header, prefix string) *standIn {
	s := &standIn{name: name, header: header, prefix: prefix, status: map[string]int{},
		hang: map[string]bool{}, inHeader: map[string]int{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.Header.Get(s.header), s.prefix)
	s.mu.Lock()
	s.inHeader[key]++
	for k := range s.status {
		if strings.Contains(r.URL.String(), k) || strings.Contains(r.RequestURI, k) {
			s.inURL++
		}
	}
	hang := s.hang[key]
	status, ok := s.status[key]
	s.mu.Unlock()
	if hang {
		// Longer than the daemon's client timeout: the daemon gives up.
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		// Returning would answer 200; abort so that it never answers.
		panic(http.ErrAbortHandler)
	}
	if !ok {
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
	fmt.Fprint(w, `{"data":[]}`)
}

func (s *standIn) urlHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inURL
}

func (s *standIn) seen(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inHeader[key]
}

func TestValidateOnlineThroughDaemon(t *testing.T) {
	openai := newStandIn(t, "openai", "Authorization", "Bearer ")
	anthropic := newStandIn(t, "anthropic", "X-Api-Key", "")
	gemini := newStandIn(t, "gemini", "X-Goog-Api-Key", "")

	dir := t.TempDir()
	var pems []byte
	for _, s := range []*standIn{openai, anthropic, gemini} {
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
			Bytes: s.srv.Certificate().Raw})...)
	}
	certs := writeFile(t, filepath.Join(dir, "standins.pem"), string(pems))
	conf := writeFile(t, filepath.Join(dir, "credd.toml"), fmt.Sprintf(
		"[validate.base_url]\nopenai = %q\nanthropic = %q\ngemini = %q\n",
		openai.srv.URL, anthropic.srv.URL, gemini.srv.URL))
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", conf},
		Env: []string{"SSL_CERT_FILE=" + certs}})

	keys := map[string]string{
		"openai": openaiKey(), "openai-revoked": openaiKey(),
		"anthropic": anthropicKey(), "anthropic-slow": anthropicKey(), "gemini": geminiKey(),
	}
	openai.status[keys["openai"]] = http.StatusOK
	openai.status[keys["openai-revoked"]] = http.StatusUnauthorized
	anthropic.status[keys["anthropic"]] = http.StatusTooManyRequests
	anthropic.status[keys["anthropic-slow"]] = http.StatusOK
	anthropic.hang[keys["anthropic-slow"]] = true
	gemini.status[keys["gemini"]] = http.StatusOK
	var all []string
	for name, key := range keys {
		typ, _, _ := strings.Cut(name, "-")
		d.MustRun(key, "set", name, "--type", typ)
		all = append(all, key)
	}

	// Offline: every key is well formed.
	out := d.MustRun("", "validate")
	if strings.Count(out, "valid (offline)") != len(keys) {
		t.Errorf("offline validate:\n%s", out)
	}

	out, stderr, code := d.Run("", "validate", "--online", "--json")
	if code != 7 {
		t.Errorf("validate --online with a revoked key: exit %d, want 7: %s", code, stderr)
	}
	noSecrets(t, "validate output", out+stderr, all...)
	var items []protocol.ValidateItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("validate --json: %v", err)
	}
	want := map[string]struct {
		outcome string
		status  int
	}{
		"openai": {"valid", 200}, "openai-revoked": {"invalid", 401},
		"anthropic": {"unknown", 429}, "anthropic-slow": {"unknown", 0}, "gemini": {"valid", 200},
	}
	for _, it := range items {
		w, ok := want[it.Name]
		if !ok || it.Outcome != w.outcome || it.Status != w.status || !it.Online {
			t.Errorf("validate %s = %s (HTTP %d, online %v, %s), want %s (HTTP %d)",
				it.Name, it.Outcome, it.Status, it.Online, it.Reason, w.outcome, w.status)
		}
		delete(want, it.Name)
	}
	if len(want) != 0 {
		t.Errorf("validate did not report %v", want)
	}

	// Each stand-in saw its keys in the right header, never in the URL.
	byType := map[string]*standIn{"openai": openai, "anthropic": anthropic, "gemini": gemini}
	for name, key := range keys {
		typ, _, _ := strings.Cut(name, "-")
		s := byType[typ]
		if s.seen(key) == 0 {
			t.Errorf("the %s stand-in never saw %s's key in %s", s.name, name, s.header)
		}
	}
	for _, s := range []*standIn{openai, anthropic, gemini} {
		if s.urlHits() != 0 {
			t.Errorf("the %s stand-in saw a key in a URL", s.name)
		}
	}

	infos := listed(t, d)
	if infos["openai"].Checked.IsZero() || infos["gemini"].Checked.IsZero() {
		t.Error("a credential found valid online has no checked time")
	}
	if !infos["openai-revoked"].Checked.IsZero() || !infos["anthropic"].Checked.IsZero() {
		t.Error("a credential not found valid has a checked time")
	}

	// Named validation, and one audit record per credential checked.
	out, stderr, code = d.Run("", "validate", "openai", "gemini", "--online")
	if code != 0 || !strings.Contains(out, "openai") || strings.Contains(out, "anthropic") {
		t.Errorf("validate openai gemini --online: exit %d:\n%s%s", code, out, stderr)
	}
	perCred := map[string]int{}
	for _, e := range d.Audit().Entries {
		if e.Event == "validate" {
			perCred[e.Credential]++
		}
	}
	if perCred["openai"] != 3 || perCred["gemini"] != 3 || perCred["anthropic-slow"] != 2 {
		t.Errorf("validate audit records per credential = %v", perCred)
	}
	noSecrets(t, "daemon log", d.Stderr(), all...)
}

func TestRotateAndUndo(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	oldKey, newKey := openaiKey(), openaiKey()
	d.MustRun(oldKey, "set", "openai", "--type", "openai")

	_, stderr, code := d.Run("sk-short", "rotate", "openai")
	if code != 7 {
		t.Errorf("rotate to a malformed key: exit %d, want 7: %s", code, stderr)
	}
	noSecrets(t, "rotate refusal", stderr, "sk-short")

	out, stderr, code := d.Run(newKey, "rotate", "openai")
	if code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, stderr)
	}
	noSecrets(t, "rotate output", out+stderr, oldKey, newKey)
	if got := strings.TrimSpace(d.MustRun("", "get", "openai")); got != newKey {
		t.Error("get after rotate: not the new key")
	}
	if in := listed(t, d)["openai"]; !in.HasPrevious {
		t.Errorf("after rotate, list shows %+v, want has_previous", in)
	}

	d.MustRun("", "rotate", "openai", "--undo")
	if got := strings.TrimSpace(d.MustRun("", "get", "openai")); got != oldKey {
		t.Error("get after undo: not the old key")
	}
	if _, _, code := d.Run("", "rotate", "openai", "--undo"); code != 5 {
		t.Errorf("a second undo: exit %d, want 5 (nothing to undo)", code)
	}

	// The rotation survives a restart of the daemon: it is in the backend.
	d.MustRun(newKey, "rotate", "openai")
	d.Stop()
	d2 := daemontest.Start(t, daemontest.Options{Dir: d.Dir})
	if got := strings.TrimSpace(d2.MustRun("", "get", "openai")); got != newKey {
		t.Error("get after restart: not the rotated key")
	}
	d2.MustRun("", "rotate", "openai", "--undo")
	if got := strings.TrimSpace(d2.MustRun("", "get", "openai")); got != oldKey {
		t.Error("undo after restart: not the old key")
	}

	events := map[string]int{}
	for _, e := range d2.Audit().Entries {
		if e.Credential == "openai" {
			events[e.Event+"/"+e.Outcome]++
		}
	}
	if events["rotate/granted"] != 2 || events["undo_rotate/granted"] != 2 || events["rotate/error"] != 1 {
		t.Errorf("audit events for openai: %v", events)
	}
}

func TestRotationDue(t *testing.T) {
	conf := writeFile(t, filepath.Join(t.TempDir(), "credd.toml"), "[rotation]\nmax_age = \"1s\"\n")
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", conf}})
	d.MustRun(openaiKey(), "set", "openai", "--type", "openai")

	deadline := time.Now().Add(30 * time.Second)
	for !listed(t, d)["openai"].RotationDue {
		if time.Now().After(deadline) {
			t.Fatal("openai never became due for rotation with max_age 1s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := d.MustRun("", "status"); !strings.Contains(out, "openai is past its maximum age") {
		t.Errorf("status does not name the due credential:\n%s", out)
	}
	if out := d.MustRun("", "list"); !strings.Contains(out, "rotation due") {
		t.Errorf("list does not mark the due credential:\n%s", out)
	}
	if out := d.MustRun("", "show", "openai"); !strings.Contains(out, "rotation:  due") {
		t.Errorf("show does not mark the due credential:\n%s", out)
	}

	// An unlock warns once per due credential.
	if _, stderr, code := d.RunEnv([]string{"AIRTRAIN_CRED_PASSPHRASE=" + daemontest.Passphrase},
		"", "unlock"); code != 0 {
		t.Fatalf("unlock: exit %d: %s", code, stderr)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Stderr(), "past its maximum age") {
		if time.Now().After(deadline) {
			t.Fatalf("no rotation warning at unlock in the daemon's log:\n%s", d.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A rotation makes it current again.
	d.MustRun(openaiKey(), "rotate", "openai")
	if in := listed(t, d)["openai"]; in.RotationDue && time.Since(in.Updated) < time.Second {
		t.Error("a credential rotated less than a second ago is due")
	}
}

// TestCatalogSessionLeaksNothing runs a full session and searches every
// output, the daemon's log and the audit log for the values used. Only the
// commands whose purpose is to print a value (get, env, a child of exec)
// may show one.
func TestCatalogSessionLeaksNothing(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	oa, oa2, an, gr := openaiKey(), openaiKey(), anthropicKey(), groqKey()
	secrets := []string{oa, oa2, an, gr, "sk-short"}
	var quiet strings.Builder // outputs that must hold no value
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, stderr, _ := d.Run(stdin, args...)
		quiet.WriteString(stderr)
		return out
	}

	quiet.WriteString(run(oa, "set", "openai", "--type", "openai"))
	quiet.WriteString(run("sk-short", "set", "bad", "--type", "openai"))
	envFile := writeFile(t, filepath.Join(t.TempDir(), "airtrain.env"),
		"ANTHROPIC_API_KEY="+an+"\nGROQ_API_KEY="+gr+"\n")
	quiet.WriteString(run("", "import", envFile, "--dry-run"))
	quiet.WriteString(run("", "import", envFile))
	for _, args := range [][]string{
		{"list"}, {"list", "--json"}, {"status"}, {"types"},
		{"show", "openai"}, {"show", "anthropic", "--json"}, {"show", "groq"},
		{"validate"}, {"validate", "--json"}, {"validate", "groq", "--json"},
	} {
		quiet.WriteString(run("", args...))
	}
	quiet.WriteString(run(oa2, "rotate", "openai"))
	quiet.WriteString(run("", "show", "openai"))
	quiet.WriteString(run("", "rotate", "openai", "--undo"))

	// Commands that print values on purpose; their stderr still must not.
	if got := strings.TrimSpace(run("", "get", "openai")); got != oa {
		t.Error("get openai: not the stored key")
	}
	if out := run("", "env", "--cred", "groq"); !strings.Contains(out, gr) {
		t.Error("env --cred groq does not carry the key")
	}
	out := run("", "exec", "--cred", "anthropic", "--", "python3", "-c",
		"import os; print(os.environ['ANTHROPIC_API_KEY'])")
	if strings.TrimSpace(out) != an {
		t.Error("exec child did not see the key")
	}

	noSecrets(t, "credctl output", quiet.String(), secrets...)
	noSecrets(t, "daemon log", d.Stderr(), secrets...)
	raw, err := os.ReadFile(d.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "audit log", string(raw), secrets...)
}
