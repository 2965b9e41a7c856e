package e2e

import (
	"bufio"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joho/godotenv"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// injAlnum returns n random letters and digits.
func injAlnum(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// injFixture is a daemon holding a typed openai credential, a generic one
// and a generic one with two fields.
type injFixture struct {
	d                     *daemontest.Daemon
	openai, token, dbPass string
}

func newInjFixture(t *testing.T) *injFixture {
	t.Helper()
	f := &injFixture{d: daemontest.Start(t, daemontest.Options{}),
		openai: "sk-" + injAlnum(45), token: "tok-" + injAlnum(30), dbPass: "pw-" + injAlnum(24)}
	f.d.MustRun("api_key="+f.openai+"\n", "set", "openai", "--type", "openai")
	f.d.MustRun(f.token+"\n", "set", "mytoken")
	f.d.MustRun("user=app\npassword="+f.dbPass+"\n", "set", "db", "--fields")
	return f
}

// scrub hides the fixture's values, and their first bytes, in text about to
// be logged.
func (f *injFixture) scrub(s string) string {
	return strings.NewReplacer(f.openai, "[openai]", f.token, "[mytoken]", f.dbPass, "[db]",
		f.openai[:10], "[openai...]", f.token[:10], "[mytoken...]", f.dbPass[:10], "[db...]").Replace(s)
}

// hasValue reports whether s holds any of the fixture's values.
func (f *injFixture) hasValue(s string) bool {
	return strings.Contains(s, f.openai) || strings.Contains(s, f.token) || strings.Contains(s, f.dbPass)
}

func TestExecInjectsCredentialsNotInArgv(t *testing.T) {
	f := newInjFixture(t)
	// The child prints the two variables, then its own command line and
	// credctl's, NUL bytes made visible.
	script := `printf '%s\n%s\n--\n' "$OPENAI_API_KEY" "$MYTOKEN"
tr '\0' ' ' </proc/$$/cmdline; echo; tr '\0' ' ' </proc/$PPID/cmdline; echo`
	out, errs, code := f.d.Run("", "exec", "openai", "--cred", "mytoken", "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("credctl exec: exit %d: %s", code, f.scrub(errs))
	}
	env, cmdlines, ok := strings.Cut(out, "--\n")
	if !ok {
		t.Fatalf("unexpected output: %q", f.scrub(out))
	}
	if env != f.openai+"\n"+f.token+"\n" {
		t.Errorf("child saw OPENAI_API_KEY and MYTOKEN as %q, want the stored values", f.scrub(env))
	}
	if !strings.Contains(cmdlines, "credctl exec openai") {
		t.Errorf("command lines not read: %q", cmdlines)
	}
	if f.hasValue(cmdlines) {
		t.Errorf("a value is on a command line: %q", f.scrub(cmdlines))
	}
}

func TestExecMaskReplacesValuesInOutput(t *testing.T) {
	f := newInjFixture(t)
	// Whole, inside a longer line, split across two processes' writes with
	// a pause between, on stderr, and the generic credential too.
	script := `printf '%s\n' "$OPENAI_API_KEY"
printf 'key=%s;end\n' "$OPENAI_API_KEY"
printf %s "$OPENAI_API_KEY" | head -c 20; sleep 0.2; printf '%s\n' "$OPENAI_API_KEY" | tail -c +21
printf 'err:%s\n' "$OPENAI_API_KEY" >&2
printf 'tok:%s\n' "$MYTOKEN"`
	out, errs, code := f.d.Run("", "exec", "--mask", "openai", "mytoken", "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("credctl exec --mask: exit %d: %s", code, f.scrub(errs))
	}
	if f.hasValue(out) || f.hasValue(errs) {
		t.Fatalf("a value got through the mask:\nstdout %q\nstderr %q", f.scrub(out), f.scrub(errs))
	}
	wantOut := "<redacted:openai>\nkey=<redacted:openai>;end\n<redacted:openai>\ntok:<redacted:mytoken>\n"
	if out != wantOut {
		t.Errorf("stdout = %q, want %q", f.scrub(out), wantOut)
	}
	if errs != "err:<redacted:openai>\n" {
		t.Errorf("stderr = %q, want %q", f.scrub(errs), "err:<redacted:openai>\n")
	}

	// Without --mask the command writes straight through.
	out, _, code = f.d.Run("", "exec", "openai", "--", "sh", "-c", `printf %s "$OPENAI_API_KEY"`)
	if code != 0 || out != f.openai {
		t.Errorf("without --mask: exit %d, stdout %q, want the value", code, f.scrub(out))
	}
}

func TestExecForwardsSIGTERM(t *testing.T) {
	f := newInjFixture(t)
	cmd := exec.Command(f.d.Ctl, "exec", "openai", "--", "sh", "-c", "echo ready; exec sleep 120")
	cmd.Env = f.d.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, leave no process behind.
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child did not start: %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("credctl still running 30s after SIGTERM: the signal did not reach the child")
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 143 {
		t.Fatalf("credctl exec after SIGTERM: %v, want exit status 143", err)
	}
}

func TestExecPassesExitCode(t *testing.T) {
	f := newInjFixture(t)
	if _, _, code := f.d.Run("", "exec", "openai", "--", "sh", "-c", "exit 42"); code != 42 {
		t.Fatalf("exit code %d, want 42", code)
	}
}

func TestExecEnvFile(t *testing.T) {
	f := newInjFixture(t)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "app.env")
	os.WriteFile(envFile, []byte(`# app settings
export OPENAI_API_KEY=cred://openai
PGPASSWORD="cred://db/password"
DATABASE_URL=postgres://app:cred://db/password@db.internal/app
TOKEN='cred://mytoken/value'
PLAIN=just text
`), 0o600)
	script := `printf '%s|%s|%s|%s|%s\n' "$OPENAI_API_KEY" "$PGPASSWORD" "$DATABASE_URL" "$TOKEN" "$PLAIN"`
	out, errs, code := f.d.Run("", "exec", "--env-file", envFile, "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("credctl exec --env-file: exit %d: %s", code, f.scrub(errs))
	}
	want := f.openai + "|" + f.dbPass + "|postgres://app:" + f.dbPass + "@db.internal/app|" +
		f.token + "|just text\n"
	if out != want {
		t.Errorf("child saw %q, want %q", f.scrub(out), f.scrub(want))
	}

	// With --mask, resolved references are hidden too.
	out, _, code = f.d.Run("", "exec", "--mask", "--env-file", envFile, "--", "sh", "-c", script)
	masked := "<redacted:openai>|<redacted:db>|postgres://app:<redacted:db>@db.internal/app|" +
		"<redacted:mytoken>|just text\n"
	if code != 0 || out != masked {
		t.Errorf("with --mask: exit %d, stdout %q", code, f.scrub(out))
	}
}

func TestExecEnvFileErrors(t *testing.T) {
	f := newInjFixture(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	for _, tt := range []struct {
		name, line string
		code       int
		want       []string
	}{
		{"missing credential", "A=cred://nope", 5, []string{"cred://nope", ":2:"}},
		{"missing field", "A=cred://db/nofield", 5, []string{"cred://db/nofield", ":2:"}},
		{"malformed", "A=cred://db/password/extra", 1,
			[]string{"malformed reference", "cred://db/password/extra", ":2:"}},
		{"empty name", "A=x cred:// y", 1, []string{"malformed reference", ":2:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			envFile := filepath.Join(dir, "bad.env")
			os.WriteFile(envFile, []byte("OK=cred://openai\n"+tt.line+"\n"), 0o600)
			_, errs, code := f.d.Run("", "exec", "--env-file", envFile, "--", "touch", marker)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, f.scrub(errs))
			}
			for _, w := range append(tt.want, envFile) {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q does not name %q", f.scrub(errs), w)
				}
			}
			if f.hasValue(errs) {
				t.Errorf("stderr holds a value: %q", f.scrub(errs))
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the command ran despite the error")
			}
		})
	}
}

func TestInjectRendersTemplate(t *testing.T) {
	f := newInjFixture(t)
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "config.tmpl")
	os.WriteFile(tmpl, []byte("api_key: {{ cred://openai }}\npassword: \"{{cred://db/password}}\"\n"+
		"docs: use cred://NAME in templates\n"), 0o644)
	want := "api_key: " + f.openai + "\npassword: \"" + f.dbPass + "\"\ndocs: use cred://NAME in templates\n"
	out := filepath.Join(dir, "config.yaml")

	f.d.MustRun("", "inject", "-i", tmpl, "-o", out)
	got, err := os.ReadFile(out)
	if err != nil || string(got) != want {
		t.Fatalf("rendered %q, %v; want %q", f.scrub(string(got)), err, f.scrub(want))
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}

	// An existing file is refused, and left as it was.
	os.WriteFile(out, []byte("old"), 0o644)
	_, errs, code := f.d.Run("", "inject", "-i", tmpl, "-o", out)
	if code == 0 || !strings.Contains(errs, "--force") {
		t.Errorf("overwrite without --force: exit %d, stderr %q", code, f.scrub(errs))
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Errorf("refused overwrite changed the file")
	}
	f.d.MustRun("", "inject", "-i", tmpl, "-o", out, "--force")
	if b, _ := os.ReadFile(out); string(b) != want {
		t.Errorf("--force did not replace the file")
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("mode after --force %v, want 0600", st.Mode().Perm())
	}

	// No -o, and -o -, write to stdout.
	for _, args := range [][]string{{"inject", "-i", tmpl}, {"inject", "-i", tmpl, "-o", "-"}} {
		if s := f.d.MustRun("", args...); s != want {
			t.Errorf("credctl %s printed %q", strings.Join(args, " "), f.scrub(s))
		}
	}
}

func TestInjectErrorsWriteNothing(t *testing.T) {
	f := newInjFixture(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		name, ref string
		code      int
		want      string
	}{
		{"missing credential", "{{ cred://nope }}", 5, "cred://nope"},
		{"missing field", "{{ cred://db/nofield }}", 5, "cred://db/nofield"},
		{"malformed", "{{ cred://db/pass word }}", 1, "malformed reference"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := filepath.Join(dir, "t.tmpl")
			os.WriteFile(tmpl, []byte("ok: {{ cred://openai }}\nbad: "+tt.ref+"\n"), 0o600)
			out := filepath.Join(dir, "out", "result")
			os.MkdirAll(filepath.Dir(out), 0o700)
			stdout, errs, code := f.d.Run("", "inject", "-i", tmpl, "-o", out)
			if code != tt.code || !strings.Contains(errs, tt.want) || !strings.Contains(errs, tmpl+":2:") {
				t.Errorf("exit %d, stderr %q; want exit %d naming %q and line 2", code, f.scrub(errs), tt.code, tt.want)
			}
			if f.hasValue(stdout) || f.hasValue(errs) {
				t.Errorf("a value was printed")
			}
			if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

// injTricky are values that env's quoting must carry exactly.
var injTricky = []string{
	`it's "quoted"`,
	"two words  and\ttab",
	"line one\nline two",
	"$HOME ${HOME} $(echo no) `echo no`",
	`back\slash \n \\ end\`,
	`\$HOME`,
	"unicode héllo ✓ 日本",
	"'",
	`"`,
	"!history # hash",
}

func TestEnvQuotingRoundTrip(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	env := append(append([]string(nil), d.Env...), "CREDCTL="+d.Ctl)
	fish, fishErr := exec.LookPath("fish")
	if fishErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fish is not installed: %v", fishErr)
		}
		t.Logf("fish is not installed; skipping the fish round trips")
	}
	shells := [][]string{
		{"sh", "-c", `eval "$("$CREDCTL" env tricky)" && printf %s "$TRICKY"`},
		{"bash", "-c", `eval "$("$CREDCTL" env --format bash tricky)" && printf %s "$TRICKY"`},
	}
	if fishErr == nil {
		shells = append(shells, []string{fish, "--no-config", "-c",
			`$CREDCTL env --format fish tricky | source; and printf %s $TRICKY`})
	}
	for i, v := range injTricky {
		// set drops one final newline from stdin.
		d.MustRun(v+"\n", "set", "tricky")
		for _, sh := range shells {
			cmd := exec.Command(sh[0], sh[1:]...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil || string(out) != v {
				t.Errorf("value %d through %s: got %q, %v; want %q", i, sh[0], out, err, v)
			}
		}
		line := d.MustRun("", "env", "--format", "dotenv", "tricky")
		m, err := godotenv.Unmarshal(line)
		if err != nil || m["TRICKY"] != v {
			t.Errorf("value %d through dotenv: %q reads back as %q, %v; want %q", i, line, m["TRICKY"], err, v)
		}
	}
}

func TestEnvRefusesUnsafeVariableName(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	d.MustRun("v\n", "set", "tricky")
	_, errs, code := d.Run("", "env", "tricky", "--rename", "TRICKY=X;touch /tmp/no")
	if code == 0 || !strings.Contains(errs, "not a valid variable name") {
		t.Fatalf("exit %d, stderr %q; want a refusal", code, errs)
	}
}
