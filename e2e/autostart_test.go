package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// odEnv is a private world for credctl starting credd on demand: its own
// home, XDG folders and socket path, no session bus (so credd picks the
// file backend without waiting for a keyring), and nothing inherited that
// would point elsewhere.
type odEnv struct {
	dir, socket, credd, credctl string
	env                         []string
}

func newODEnv(t *testing.T, sockDir string) *odEnv {
	t.Helper()
	credd, credctl := daemontest.Binaries(t)
	dir := t.TempDir()
	o := &odEnv{dir: dir, socket: filepath.Join(dir, sockDir, "credd.sock"),
		credd: credd, credctl: credctl}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AIRTRAIN_") || strings.HasPrefix(k, "XDG_") ||
			k == "HOME" || k == "DBUS_SESSION_BUS_ADDRESS" {
			continue
		}
		o.env = append(o.env, kv)
	}
	o.env = append(o.env,
		"HOME="+filepath.Join(dir, "home"),
		"AIRTRAIN_CRED_SOCK="+o.socket,
		"XDG_STATE_HOME="+filepath.Join(dir, "state"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "xdgrun"),
	)
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last: whatever the test started goes.
	t.Cleanup(func() { stopDaemons(t, o.credd, o.socket) })
	return o
}

// run runs credctl with the environment plus extra, and returns its
// stdout, stderr and exit code.
func (o *odEnv) run(stdin string, extra []string, args ...string) (string, string, int) {
	cmd := execCommand(o.credctl, args...)
	cmd.Env = append(append([]string(nil), o.env...), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// daemonsFor lists the live processes running the credd binary at exe
// whose command line names socket.
func daemonsFor(t *testing.T, exe, socket string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		// A zombie has no exe link, so it is not counted.
		if target, err := os.Readlink("/proc/" + ent.Name() + "/exe"); err != nil || target != exe {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		for i := range args {
			if args[i] == "--socket" && i+1 < len(args) && args[i+1] == socket {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// stopDaemons stops every credd serving socket: SIGTERM, SIGKILL after
// ten seconds. A process that is gone or a zombie counts as stopped: the
// daemons were started detached and are no children of the test.
func stopDaemons(t *testing.T, exe, socket string) {
	pids := daemonsFor(t, exe, socket)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// alive reports whether pid names a process that has not exited.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func statusPID(t *testing.T, out string) int {
	t.Helper()
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.PID == 0 {
		t.Fatalf("status --json = %q: no pid (%v)", out, err)
	}
	return st.PID
}

// TestAutostartRace starts eight credctl processes at once with no daemon
// running: all of them must succeed, talking to one and the same credd.
// With a stale socket left by a dead daemon, every credd that got as far
// as replacing it would remove the others' sockets and serve on its own,
// so the start lock is what keeps the count at one.
func TestAutostartRace(t *testing.T) {
	t.Run("no socket", func(t *testing.T) { testAutostartRace(t, false) })
	t.Run("stale socket", func(t *testing.T) { testAutostartRace(t, true) })
}

func testAutostartRace(t *testing.T, stale bool) {
	o := newODEnv(t, "run")
	if stale {
		leaveStaleSocket(t, o.socket)
	}
	const n = 8
	type result struct {
		out, errs string
		code      int
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, errs, code := o.run("", nil, "status", "--json")
			results[i] = result{out, errs, code}
		}()
	}
	close(start)
	wg.Wait()

	pids := map[int]bool{}
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("credctl status #%d: exit %d: %s", i, r.code, r.errs)
		}
		pids[statusPID(t, r.out)] = true
	}
	running := daemonsFor(t, o.credd, o.socket)
	if len(running) != 1 || len(pids) != 1 || !pids[running[0]] {
		t.Fatalf("status answered from pids %v; credd processes for this socket: %v; "+
			"want exactly one, the same", pids, running)
	}

	// Detached: its own session, not credctl's.
	sid := field(t, running[0], 6)
	if sid != strconv.Itoa(running[0]) {
		t.Errorf("credd's session id is %s, want its own pid %d", sid, running[0])
	}
	logPath := filepath.Join(o.dir, "state", "airtrain", "credd.log")
	logText, err := os.ReadFile(logPath)
	if err != nil || !bytes.Contains(logText, []byte("listening")) {
		t.Errorf("log %s: err %v, want credd's start-up lines in it", logPath, err)
	}
}

// leaveStaleSocket leaves a socket file at path that nobody listens on,
// as a daemon killed with SIGKILL does.
func leaveStaleSocket(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// field returns the n-th field (1-based) of /proc/<pid>/stat after the
// command name: 6 is the session id.
func field(t *testing.T, pid, n int) string {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// f[0] is the state, the 3rd field of the line.
	return f[n-3]
}

// TestStartShell checks that credctl start --sh and --fish print lines a
// shell can evaluate, even for a socket path with a space and a quote, that
// a second start is a no-op, and that the daemon does not inherit the
// passphrase variable.
func TestStartShell(t *testing.T) {
	o := newODEnv(t, "it's run")
	const pass = "start-shell-passphrase-value"
	out, errs, code := o.run("", []string{"AIRTRAIN_CRED_PASSPHRASE=" + pass},
		"start", "--sh")
	if code != 0 {
		t.Fatalf("credctl start --sh: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "credd started") {
		t.Errorf("credctl start stderr = %q, want it to say credd started", errs)
	}
	sh := execCommand("sh", "-c", `eval "$(cat)"; printf %s "$AIRTRAIN_CRED_SOCK"`)
	sh.Stdin = strings.NewReader(out)
	got, err := sh.Output()
	if err != nil || string(got) != o.socket {
		t.Fatalf("sh eval of %q gave %q (err %v), want %q", out, got, err, o.socket)
	}

	first := daemonsFor(t, o.credd, o.socket)
	if len(first) != 1 {
		t.Fatalf("credd processes after start: %v, want one", first)
	}
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(first[0]) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(environ, []byte("AIRTRAIN_CRED_PASSPHRASE")) ||
		bytes.Contains(environ, []byte(pass)) {
		t.Error("the started credd inherited AIRTRAIN_CRED_PASSPHRASE")
	}

	out2, errs, code := o.run("", nil, "start", "--sh")
	if code != 0 || out2 != out || !strings.Contains(errs, "already running") {
		t.Errorf("second start: exit %d, stdout %q, stderr %q; want exit 0, the same "+
			"line and already running", code, out2, errs)
	}
	if again := daemonsFor(t, o.credd, o.socket); len(again) != 1 || again[0] != first[0] {
		t.Errorf("credd processes after a second start: %v, want only %v", again, first)
	}

	out, errs, code = o.run("", nil, "start", "--fish")
	if code != 0 || !strings.HasPrefix(out, "set -gx AIRTRAIN_CRED_SOCK ") {
		t.Fatalf("credctl start --fish: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if fish, err := exec.LookPath("fish"); err == nil {
		cmd := execCommand(fish, "--no-config", "-c", `source; printf %s $AIRTRAIN_CRED_SOCK`)
		cmd.Stdin = strings.NewReader(out)
		got, err := cmd.Output()
		if err != nil || string(got) != o.socket {
			t.Errorf("fish source of %q gave %q (err %v), want %q", out, got, err, o.socket)
		}
	} else if os.Getenv("CI") == "true" {
		t.Errorf("fish is required under CI: %v", err)
	}

	if _, errs, code := o.run("", nil, "start", "--sh", "--fish"); code != 2 {
		t.Errorf("start --sh --fish: exit %d (%s), want 2", code, errs)
	}
}

// TestNoAutostart checks the opt-out and the commands that never start the
// agent.
func TestNoAutostart(t *testing.T) {
	o := newODEnv(t, "run")
	_, errs, code := o.run("", []string{"AIRTRAIN_CRED_NO_AUTOSTART=1"}, "status")
	if code != 3 || !strings.Contains(errs, "credctl: hint: no agent answered at "+o.socket) ||
		!strings.Contains(errs, "credctl start") {
		t.Errorf("status with AIRTRAIN_CRED_NO_AUTOSTART=1: exit %d, stderr %q; want 3 "+
			"and the hint naming the socket and credctl start", code, errs)
	}
	if out, errs, code := o.run("", nil, "version"); code != 0 ||
		strings.Contains(out, "agent") {
		t.Errorf("version: exit %d, stdout %q, stderr %q; want 0 and no agent line",
			code, out, errs)
	}
	if _, errs, code := o.run("", nil, "uninstall", "--dry-run"); code != 0 {
		t.Errorf("uninstall --dry-run: exit %d: %s", code, errs)
	}
	if got := daemonsFor(t, o.credd, o.socket); len(got) != 0 {
		t.Errorf("credd processes %v were started; want none", got)
	}
	if _, err := os.Lstat(o.socket); err == nil {
		t.Errorf("socket %s exists; nothing should have created it", o.socket)
	}
}

// TestAutostartFailure points credctl at a credd that exits at once: the
// command fails with exit 3 and an error naming the log file.
func TestAutostartFailure(t *testing.T) {
	o := newODEnv(t, "run")
	bin := t.TempDir()
	ctl := filepath.Join(bin, "credctl")
	data, err := os.ReadFile(o.credctl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ctl, data, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho 'fake credd: cannot start' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "credd"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	o.credctl = ctl
	_, errs, code := o.run("", nil, "list")
	logPath := filepath.Join(o.dir, "state", "airtrain", "credd.log")
	if code != 3 || !strings.Contains(errs, "exited at start") || !strings.Contains(errs, logPath) {
		t.Errorf("list with a failing credd: exit %d, stderr %q; want 3 and the log %s",
			code, errs, logPath)
	}
	if logText, err := os.ReadFile(logPath); err != nil ||
		!strings.Contains(string(logText), "fake credd: cannot start") {
		t.Errorf("log %s = %q (err %v), want the daemon's stderr", logPath, logText, err)
	}
}

// TestInstallDryRun checks that credctl install --dry-run prints the units
// with the real credd path and the systemctl commands, and that neither it
// nor uninstall --dry-run writes anything under HOME.
func TestInstallDryRun(t *testing.T) {
	o := newODEnv(t, "run")
	home := filepath.Join(o.dir, "home")
	out, errs, code := o.run("", nil, "install", "--dry-run")
	if code != 0 {
		t.Fatalf("install --dry-run: exit %d: %s", code, errs)
	}
	units := filepath.Join(home, ".config", "systemd", "user")
	for _, want := range []string{
		"write " + filepath.Join(units, "credd.socket") + " (mode 0644):\n",
		"write " + filepath.Join(units, "credd.service") + " (mode 0644):\n",
		"    | ExecStart=" + o.credd + "\n",
		"    | ListenStream=%t/airtrain/credd.sock\n",
		"run systemctl --user daemon-reload\n",
		"run systemctl --user enable --now credd.socket\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install --dry-run output lacks %q:\n%s", want, out)
		}
	}
	// No user manager runs here, and the dry run says so.
	if !strings.Contains(errs, "credctl: hint: ") {
		t.Errorf("install --dry-run stderr = %q, want a hint that no manager is usable", errs)
	}

	bin := t.TempDir()
	other := filepath.Join(bin, "credd")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errs, code = o.run("", nil, "install", "--dry-run", "--binary", other)
	if code != 0 || !strings.Contains(out, "    | ExecStart="+other+"\n") {
		t.Errorf("install --dry-run --binary %s: exit %d, stderr %q, output:\n%s",
			other, code, errs, out)
	}

	out, errs, code = o.run("", nil, "uninstall", "--dry-run")
	if code != 0 || !strings.Contains(out, "remove "+filepath.Join(units, "credd.socket")) {
		t.Errorf("uninstall --dry-run: exit %d, stderr %q, output:\n%s", code, errs, out)
	}

	// Without a service manager, a real install refuses and writes nothing.
	if _, errs, code := o.run("", nil, "install"); code != 1 ||
		!strings.Contains(errs, "nothing installed") {
		t.Errorf("install without a manager: exit %d, stderr %q; want 1, nothing installed",
			code, errs)
	}
	entries, err := os.ReadDir(home)
	if err != nil || len(entries) != 0 {
		t.Errorf("HOME holds %v after dry runs (err %v), want nothing", entries, err)
	}
}

// TestSetThenGetWithNoInitSystem is the whole experience on a machine with
// no service manager and no keyring: set starts an agent on the encrypted
// file and unlocks it with the passphrase from the environment, and get
// then just works.
func TestSetThenGetWithNoInitSystem(t *testing.T) {
	o := newODEnv(t, "run")
	t.Cleanup(func() { stopDaemons(t, o.credd, o.socket) })
	pass := []string{"AIRTRAIN_CRED_PASSPHRASE=first passphrase"}
	if _, errs, code := o.run("sk-no-init-0123456789\n", pass, "set", "k"); code != 0 {
		t.Fatalf("set on a machine with no agent: exit %d: %s", code, errs)
	}
	out, errs, code := o.run("", nil, "get", "k")
	if code != 0 || out != "sk-no-init-0123456789\n" {
		t.Fatalf("get after set: exit %d, %q, %s", code, out, errs)
	}

	// Locked again, with no passphrase to be had: locked, exit 4.
	if _, errs, code := o.run("", nil, "lock"); code != 0 {
		t.Fatalf("lock: %s", errs)
	}
	if _, _, code := o.run("", nil, "get", "k"); code != 4 {
		t.Fatalf("get while locked without a passphrase: exit %d, want 4", code)
	}
	if out, _, code := o.run("", pass, "get", "k"); code != 0 || out != "sk-no-init-0123456789\n" {
		t.Fatalf("get with the passphrase in the environment: exit %d, %q", code, out)
	}
}

// TestExecDoesNotPassThePassphrase: a child started by credctl exec gets
// its credentials, never the unlock passphrase credctl was given.
func TestExecDoesNotPassThePassphrase(t *testing.T) {
	o := newODEnv(t, "run")
	t.Cleanup(func() { stopDaemons(t, o.credd, o.socket) })
	pass := []string{"AIRTRAIN_CRED_PASSPHRASE=exec passphrase"}
	if _, errs, code := o.run("v-exec\n", pass, "set", "k"); code != 0 {
		t.Fatalf("set: %s", errs)
	}
	out, errs, code := o.run("", pass, "exec", "--cred", "k", "--", "sh", "-c", `printf '%s|%s' "$K" "${AIRTRAIN_CRED_PASSPHRASE-unset}"`)
	if code != 0 || out != "v-exec|unset" {
		t.Fatalf("exec: exit %d, %q, %s; want the credential and no passphrase", code, out, errs)
	}
}
