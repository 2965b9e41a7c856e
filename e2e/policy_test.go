package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// askSource is a tiny client built into test binaries: it connects to the
// socket, asks for one credential with the given labels, and prints the
// reply's ok flag and error code.
const askSource = `package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
)

func main() {
	if os.Getenv("ASK_WAIT") != "" {
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	c, err := net.Dial("unix", os.Getenv("AIRTRAIN_CRED_SOCK"))
	if err != nil {
		fmt.Println("dial-error")
		os.Exit(1)
	}
	req, _ := json.Marshal(map[string]any{"id": 1, "op": "get", "name": os.Args[1],
		"agent": os.Getenv("ASK_AGENT"), "skill": os.Getenv("ASK_SKILL")})
	c.Write(append(req, '\n'))
	line, _ := bufio.NewReader(c).ReadBytes('\n')
	var r struct {
		OK    bool ` + "`json:\"ok\"`" + `
		Error struct{ Code string } ` + "`json:\"error\"`" + `
	}
	json.Unmarshal(line, &r)
	if r.OK {
		fmt.Println("ok")
		return
	}
	fmt.Println(r.Error.Code)
}
`

// runnerSource starts its arguments as a child and waits: an "agent
// runner" whose descendants a parent_exe rule may allow.
const runnerSource = `package main

import (
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if cmd.Run() != nil {
		os.Exit(1)
	}
}
`

// buildHelper compiles a one-file program into dir/name.
func buildHelper(t *testing.T, dir, name, src string) string {
	t.Helper()
	srcDir := filepath.Join(t.TempDir(), name)
	os.MkdirAll(srcDir, 0o755)
	os.WriteFile(filepath.Join(srcDir, "main.go"), []byte(src), 0o644)
	os.WriteFile(filepath.Join(srcDir, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644)
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// ask runs a helper binary against d and returns what it printed.
func ask(t *testing.T, d *daemontest.Daemon, argv0 string, bin string, cred string, env ...string) string {
	t.Helper()
	cmd := execCommand(bin, cred)
	cmd.Args[0] = argv0
	cmd.Env = append(append([]string(nil), d.Env...), env...)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyOnRealProcesses(t *testing.T) {
	bins := t.TempDir()
	os.Chmod(bins, 0o755)
	allowed := buildHelper(t, bins, "allowed", askSource)
	runner := buildHelper(t, bins, "runner", runnerSource)
	copyPath := filepath.Join(bins, "copy")
	copyFile(t, allowed, copyPath)
	other := buildHelper(t, bins, "other", strings.Replace(askSource, `fmt.Println("ok")`, `fmt.Println("ok") // other`, 1))
	link := filepath.Join(bins, "link-to-allowed")
	os.Symlink(allowed, link)
	victim := filepath.Join(bins, "victim")
	copyFile(t, allowed, victim)
	_, credctl := daemontest.Binaries(t)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config", "airtrain", "credd.toml")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	writeConfig(t, cfg, fmt.Sprintf(`
[[rule]]
name = "cli"
exe = %q
action = "allow"

[[rule]]
name = "reader"
credentials = ["openai"]
ops = ["get"]
exe = [%q]
action = "allow"

[[rule]]
name = "victim"
credentials = ["openai"]
exe = [%q]
action = "allow"

[[rule]]
name = "pinned"
credentials = ["anthropic"]
exe_sha256 = [%q]
action = "allow"

[[rule]]
name = "runner-children"
credentials = ["runner-key"]
parent_exe = [%q]
action = "allow"

[[rule]]
name = "labelled"
credentials = ["labelled"]
exe = [%q]
agent = ["summariser"]
action = "allow"
`, credctl, allowed, victim, sha256File(t, allowed), runner, allowed))

	d := daemontest.Start(t, daemontest.Options{Dir: dir, Args: []string{"--config", cfg}})
	for _, n := range []string{"openai", "anthropic", "runner-key", "labelled", "aws"} {
		d.MustRun("v-"+n+"\n", "set", n)
	}

	tests := []struct {
		name  string
		argv0 string
		bin   string
		cred  string
		env   []string
		want  string
	}{
		{"allowed binary reads its key", "allowed", allowed, "openai", nil, "ok"},
		{"allowed binary reads nothing else", "allowed", allowed, "aws", nil, "denied"},
		{"copy at another path is not the allowed path", "allowed", copyPath, "openai", nil, "denied"},
		{"copy with the same content passes a hash pin", "copy", copyPath, "anthropic", nil, "ok"},
		{"different binary fails the hash pin", "other", other, "anthropic", nil, "denied"},
		{"symlink resolves to the allowed binary", "link", link, "openai", nil, "ok"},
		{"spoofed argv[0] does not pass an exe rule", allowed, other, "openai", nil, "denied"},
		{"forged labels alone pass nothing", "other", other, "labelled", []string{"ASK_AGENT=summariser"}, "denied"},
		{"labels narrow a kernel-backed rule", "allowed", allowed, "labelled", []string{"ASK_AGENT=summariser"}, "ok"},
		{"wrong label on the right binary", "allowed", allowed, "labelled", []string{"ASK_AGENT=other"}, "denied"},
		{"not a child of the runner", "other", other, "runner-key", nil, "denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ask(t, d, tt.argv0, tt.bin, tt.cred, tt.env...); got != tt.want {
				t.Fatalf("%s asking for %s = %q, want %q", tt.bin, tt.cred, got, tt.want)
			}
		})
	}
	t.Run("child of the runner", func(t *testing.T) {
		cmd := execCommand(runner, other, "runner-key")
		cmd.Env = d.Env
		out, _ := cmd.Output()
		if got := strings.TrimSpace(string(out)); got != "ok" {
			t.Fatalf("child of the allowed runner got %q, want ok", got)
		}
	})
	t.Run("replaced binary is unknown", func(t *testing.T) {
		// The victim runs, its file is replaced on disk, then it asks:
		// the kernel reports its executable deleted, so the exe rule
		// that names its path does not grant it.
		cmd := execCommand(victim, "openai")
		cmd.Env = append(append([]string(nil), d.Env...), "ASK_WAIT=1")
		stdin, _ := cmd.StdinPipe()
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		copyFile(t, other, victim+".new")
		if err := os.Rename(victim+".new", victim); err != nil {
			t.Fatal(err)
		}
		stdin.Write([]byte("go\n"))
		cmd.Wait()
		if got := strings.TrimSpace(out.String()); got != "denied" {
			t.Fatalf("replaced binary got %q, want denied", got)
		}
		// A fresh start of the (new) file at the same path is allowed by
		// path: path rules follow the path, hash pins follow content.
		if got := ask(t, d, "victim", victim, "openai"); got != "ok" {
			t.Fatalf("new binary at the allowed path got %q", got)
		}
	})

	// Every decision is in the audit log with the rule that made it.
	var named bool
	for _, e := range d.Audit().Entries {
		if e.Event == "get" && e.Credential == "openai" && e.Outcome == "granted" && e.RuleName == "reader" && e.Rule != nil && *e.Rule == 1 {
			named = true
		}
		if e.Outcome == "denied" && e.Rule == nil {
			t.Errorf("denied record without its rule: %+v", e)
		}
	}
	if !named {
		t.Fatal("no granted get of openai names rule 1 (reader)")
	}

	// The denial names the rule but reveals no other credential.
	out := ask(t, d, "other", other, "openai")
	if out != "denied" {
		t.Fatalf("got %q", out)
	}

	// credctl policy test explains the same decisions without a daemon.
	env := []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	got, _, code := d.RunEnv(env, "", "policy", "test", "--exe", allowed, "--name", "openai")
	if code != 0 || !strings.HasPrefix(got, "allow by rule 1 (reader)") {
		t.Fatalf("policy test --exe allowed --name openai: exit %d, %q", code, got)
	}
	got, _, _ = d.RunEnv(env, "", "policy", "test", "--exe", other, "--name", "openai")
	if !strings.HasPrefix(got, "deny by the default action") {
		t.Fatalf("policy test --exe other: %q", got)
	}
	got, _, _ = d.RunEnv(env, "", "policy", "test", "--exe", copyPath, "--name", "anthropic")
	if !strings.HasPrefix(got, "allow by rule 3 (pinned)") {
		t.Fatalf("policy test for a hash-pinned copy: %q", got)
	}
}

func TestPolicyListHidesWhatRulesHide(t *testing.T) {
	_, credctl := daemontest.Binaries(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credd.toml")
	writeConfig(t, cfg, fmt.Sprintf(`
[[rule]]
name = "writer"
exe = %q
ops = ["set", "unlock", "lock"]
action = "allow"

[[rule]]
name = "see-public"
exe = %q
credentials = ["public-*"]
action = "allow"
`, credctl, credctl))
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", cfg}})
	d.MustRun("v\n", "set", "public-a")
	d.MustRun("v\n", "set", "secret-b")
	out := d.MustRun("", "list", "--json")
	var infos []struct{ Name string }
	json.Unmarshal([]byte(out), &infos)
	if len(infos) != 1 || infos[0].Name != "public-a" {
		t.Fatalf("list = %s, want only public-a", out)
	}
	_, stderr, code := d.Run("", "get", "secret-b")
	if code != 6 || strings.Contains(stderr, "public-a") {
		t.Fatalf("get secret-b: exit %d, %s; want 6 and no other names", code, stderr)
	}
}

func TestConfigReload(t *testing.T) {
	_, credctl := daemontest.Binaries(t)
	dir := t.TempDir()
	cfgDir := filepath.Join(dir, "cfg")
	os.MkdirAll(cfgDir, 0o700)
	cfg := filepath.Join(cfgDir, "credd.toml")
	allowAll := fmt.Sprintf("[[rule]]\nname = \"cli\"\nexe = %q\naction = \"allow\"\n", credctl)
	denyGet := fmt.Sprintf("[[rule]]\nname = \"no-get\"\nops = [\"get\"]\naction = \"deny\"\n\n%s", allowAll)
	writeConfig(t, cfg, allowAll)
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", cfg}})
	d.MustRun("v\n", "set", "k")

	waitCode := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, _, code := d.Run("", "get", "k")
			if code == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: get still exits %d, want %d", what, code, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	writeConfig(t, cfg, denyGet) // rename over
	waitCode(6, "rename-over")

	if err := os.WriteFile(cfg, []byte(allowAll), 0o600); err != nil { // direct write
		t.Fatal(err)
	}
	waitCode(0, "direct write")

	// A broken file is refused and the rules in force stay.
	writeConfig(t, cfg, denyGet+"\nbogus_key = 1\n")
	time.Sleep(500 * time.Millisecond)
	if _, _, code := d.Run("", "get", "k"); code != 0 {
		t.Fatalf("a broken config changed the rules: get exits %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Stderr(), "bogus_key") {
		if time.Now().After(deadline) {
			t.Fatalf("the refused reload is not logged with the problem: %s", d.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// SIGHUP reloads too, with the watcher's event long past.
	os.WriteFile(cfg, []byte(denyGet), 0o600)
	waitCode(6, "write before SIGHUP")
	d.Signal(syscall.SIGHUP)
	waitCode(6, "SIGHUP")
	var reloads, refused int
	for _, e := range d.Audit().Entries {
		if e.Event == "reload" {
			reloads++
			if e.Outcome == "error" {
				refused++
			} else if !strings.Contains(e.Detail, "sha256:") {
				t.Errorf("reload record without the file's hash: %+v", e)
			}
		}
	}
	if reloads < 4 || refused < 1 {
		t.Fatalf("audit has %d reloads (%d refused); want at least 4 and 1", reloads, refused)
	}
}

func TestConfirm(t *testing.T) {
	_, credctl := daemontest.Binaries(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credd.toml")
	answer := filepath.Join(dir, "answer")
	prompt := filepath.Join(dir, "prompt.sh")
	// A scripted prompt: answers with the exit status written in a file,
	// or hangs when the file says so; records what it was shown.
	os.WriteFile(prompt, []byte(`#!/bin/sh
for last; do :; done
printf '%s\n' "$last" >> "$0.shown"
a=$(cat "`+answer+`")
[ "$a" = hang ] && exec sleep 60
exit "$a"
`), 0o755)

	rules := func(withPrompt bool) string {
		s := fmt.Sprintf(`
confirm_timeout = "2s"
[[rule]]
name = "ask-for-aws"
credentials = ["aws"]
ops = ["get"]
action = "confirm"

[[rule]]
name = "cli"
exe = %q
action = "allow"
`, credctl)
		if withPrompt {
			s = fmt.Sprintf("confirm_command = [%q]\n", prompt) + s
		}
		return s
	}
	writeConfig(t, cfg, rules(true))
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", cfg}})
	d.MustRun("v-aws\n", "set", "aws")

	for _, tt := range []struct {
		answer string
		code   int
	}{{"0", 0}, {"1", 6}, {"hang", 6}} {
		os.WriteFile(answer, []byte(tt.answer), 0o600)
		if _, stderr, code := d.Run("", "get", "aws"); code != tt.code {
			t.Fatalf("prompt answering %s: get exits %d (%s), want %d", tt.answer, code, stderr, tt.code)
		}
	}
	shown, _ := os.ReadFile(prompt + ".shown")
	if !strings.Contains(string(shown), `credential "aws"`) || !strings.Contains(string(shown), credctl) || strings.Contains(string(shown), "v-aws") {
		t.Fatalf("the prompt was shown %q: want the credential and the executable, never the value", shown)
	}

	// Without a prompt command the request waits for credctl approve.
	writeConfig(t, cfg, strings.Replace(rules(false), `"2s"`, `"20s"`, 1))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Stderr(), "config reloaded") || strings.Count(d.Stderr(), "config reloaded") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("config not reloaded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)

	cmd := execCommand(d.Ctl, "get", "aws")
	cmd.Env = d.Env
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	for deadline := time.Now().Add(10 * time.Second); id == "" && time.Now().Before(deadline); {
		var p []struct {
			ID         string
			Credential string
			PID        int
		}
		json.Unmarshal([]byte(d.MustRun("", "pending", "--json")), &p)
		if len(p) == 1 && p[0].Credential == "aws" && p[0].PID == cmd.Process.Pid {
			id = p[0].ID
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the waiting request never appeared in credctl pending")
	}
	d.MustRun("", "approve", id)
	if err := cmd.Wait(); err != nil || out.String() != "v-aws\n" {
		t.Fatalf("approved get: %v, %q", err, out.String())
	}

	var confirms int
	for _, e := range d.Audit().Entries {
		if e.Event == "confirm" {
			confirms++
		}
	}
	if confirms != 4 {
		t.Fatalf("audit has %d confirm records, want 4 (yes, no, timeout, approve)", confirms)
	}
}

func TestIdleTimeoutLocks(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credd.toml")
	writeConfig(t, cfg, "idle_timeout = \"1s\"\n")
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", cfg}})
	d.MustRun("v\n", "set", "k")
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := d.MustRun("", "status", "--json")
		if strings.Contains(st, `"locked": true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still unlocked 20s after a 1s idle timeout")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var idle bool
	for _, e := range d.Audit().Entries {
		idle = idle || (e.Event == "auto_lock" && strings.Contains(e.Detail, "idle"))
	}
	if !idle {
		t.Fatal("no idle auto_lock record")
	}
}

func TestSIGUSR1Locks(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	d.MustRun("v\n", "set", "k")
	d.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, code := d.Run("", "get", "k"); code == 4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGUSR1 did not lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStatusCountsOnlyWhatTheCallerMayList: under rules, status reveals
// neither the names nor the number of credentials the caller cannot list.
func TestStatusCountsOnlyWhatTheCallerMayList(t *testing.T) {
	_, credctl := daemontest.Binaries(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credd.toml")
	writeConfig(t, cfg, fmt.Sprintf(`
[rotation]
max_age = "1s"

[[rule]]
name = "writer"
exe = %q
ops = ["set", "unlock", "lock"]
action = "allow"

[[rule]]
name = "see-public"
exe = %q
credentials = ["public-*"]
action = "allow"
`, credctl, credctl))
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", cfg}})
	d.MustRun("v\n", "set", "public-a")
	d.MustRun("v\n", "set", "secret-b")
	time.Sleep(1100 * time.Millisecond) // both past the 1s maximum age
	var st struct {
		Credentials int
		RotationDue []string `json:"rotation_due"`
	}
	if err := json.Unmarshal([]byte(d.MustRun("", "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Credentials != 1 || len(st.RotationDue) != 1 || st.RotationDue[0] != "public-a" {
		t.Fatalf("status = %+v, want 1 credential and only public-a due", st)
	}
}
