package e2e

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// raw is a client speaking the wire protocol by hand.
type raw struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, d *daemontest.Daemon) *raw {
	t.Helper()
	c := d.Dial()
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, br: bufio.NewReaderSize(c, 1<<16)}
}

func (r *raw) send(s string) {
	r.t.Helper()
	_ = r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// reply reads one response line and decodes it.
func (r *raw) reply() map[string]any {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := r.br.ReadBytes('\n')
	if err != nil {
		r.t.Fatalf("read reply: %v (got %q)", err, line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		r.t.Fatalf("reply %q is not JSON: %v", line, err)
	}
	return m
}

// closed reports whether the daemon closed the connection.
func (r *raw) closed() bool {
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.br.ReadByte()
	return err != nil
}

func code(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestQuickFlow(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	const value = "sk-quickflow-value-1234567890"

	d.MustRun(value+"\n", "set", "demo-key")
	if got := d.MustRun("", "get", "demo-key"); got != value+"\n" {
		t.Fatalf("get demo-key = %q, want the stored value", got)
	}
	if got := d.MustRun("", "list"); !strings.Contains(got, "demo-key") || strings.Contains(got, value) {
		t.Fatalf("list = %q: want the name and no value", got)
	}
	out := d.MustRun("", "exec", "--cred", "demo-key", "--", "sh", "-c", `printf %s "$DEMO_KEY" | wc -c`)
	if strings.TrimSpace(out) != "29" {
		t.Fatalf("child saw DEMO_KEY of length %q, want 29", out)
	}
	if got := d.MustRun("", "env", "demo-key"); got != "export DEMO_KEY='"+value+"'\n" {
		t.Fatalf("env demo-key = %q", got)
	}

	// Every read is in the audit log with the kernel's view of the
	// caller, and no value is.
	b, err := os.ReadFile(d.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), value) {
		t.Fatal("the audit log holds the value")
	}
	var gets int
	for _, e := range d.Audit().Entries {
		if e.Event == "get" && e.Credential == "demo-key" && e.Outcome == "granted" {
			gets++
			if e.Peer == nil || e.Peer.PID == 0 || e.Peer.UID != os.Getuid() || e.Peer.Exe != d.Ctl {
				t.Errorf("get record names peer %+v, want credctl's pid, uid and exe", e.Peer)
			}
			if !strings.Contains(e.Peer.Cmdline, "credctl") {
				t.Errorf("get record cmdline %q", e.Peer.Cmdline)
			}
		}
	}
	if gets != 3 {
		t.Fatalf("audit log has %d granted gets of demo-key, want 3 (get, exec, env)", gets)
	}

	d.MustRun("", "rm", "demo-key")
	if _, _, code := d.Run("", "get", "demo-key"); code != 5 {
		t.Fatalf("get after rm: exit %d, want 5 (not found)", code)
	}
}

func TestExitCodes(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	d.MustRun("v\n", "set", "k")

	tests := []struct {
		name string
		args []string
		env  []string
		want int
	}{
		{"ok", []string{"get", "k"}, nil, 0},
		{"usage: no command", nil, nil, 2},
		{"usage: unknown command", []string{"frobnicate"}, nil, 2},
		{"usage: bad flag", []string{"get", "k", "--nope"}, nil, 2},
		{"not found", []string{"get", "missing"}, nil, 5},
		{"bad name", []string{"get", ".hidden"}, nil, 1},
		{"child status", []string{"exec", "--", "sh", "-c", "exit 9"}, nil, 9},
		{"no agent", []string{"status"}, []string{"AIRTRAIN_CRED_SOCK=" + filepath.Join(t.TempDir(), "none.sock")}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := d.RunEnv(tt.env, "", tt.args...)
			if code != tt.want {
				t.Fatalf("credctl %v: exit %d, want %d; stderr: %s", tt.args, code, tt.want, stderr)
			}
			if tt.want == 3 && !strings.Contains(stderr, "none.sock") {
				t.Fatalf("no-agent error does not name the socket path: %s", stderr)
			}
		})
	}

	d.MustRun("", "lock")
	if _, _, code := d.Run("", "get", "k"); code != 4 {
		t.Fatalf("get while locked: exit %d, want 4", code)
	}
}

func TestSetReadsValueFromStdinNotArgv(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	// A value given as an extra argument is a usage error, not a value.
	if _, _, code := d.Run("", "set", "k", "secret-on-argv"); code != 2 {
		t.Fatalf("set with a value argument: exit %d, want 2", code)
	}
	d.MustRun("line1\nline2\n", "set", "multi")
	if got := d.MustRun("", "get", "multi"); got != "line1\nline2\n" {
		t.Fatalf("multi-line value came back as %q", got)
	}
}

func TestAuditUnavailableRefusesGet(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Backend: "file", Locked: true, Args: []string{"--audit-log", "/dev/full"}})
	_, stderr, code := d.RunEnv([]string{"AIRTRAIN_CRED_PASSPHRASE=" + daemontest.Passphrase}, "", "unlock")
	if code == 0 || !strings.Contains(stderr, "audit_unavailable") {
		t.Fatalf("unlock with an unwritable audit log: exit %d, %s; want audit_unavailable", code, stderr)
	}
	// The daemon is still up and says why it refuses.
	if _, _, code := d.Run("", "status"); code != 0 {
		t.Fatalf("status after audit failure: exit %d", code)
	}
}

func TestLifetimeLocksAndAudits(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Locked: true})
	d.MustRun("", "status")
	_, stderr, code := d.RunEnv([]string{"AIRTRAIN_CRED_PASSPHRASE=" + daemontest.Passphrase}, "", "unlock", "--ttl", "1s")
	if code != 0 {
		t.Fatalf("unlock --ttl 1s: %s", stderr)
	}
	d.MustRun("v\n", "set", "k")
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, code := d.Run("", "get", "k")
		if code == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("credentials still served 20s after a 1s unlock lifetime")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var auto bool
	for _, e := range d.Audit().Entries {
		auto = auto || e.Event == "auto_lock"
	}
	if !auto {
		t.Fatal("no auto_lock record in the audit log")
	}
}

func TestShutdownRemovesSocket(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	d.Signal(syscall.SIGTERM)
	select {
	case <-d.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("credd did not exit on SIGTERM")
	}
	if _, err := os.Lstat(d.Socket); !os.IsNotExist(err) {
		t.Fatalf("socket still there after SIGTERM: %v", err)
	}
	if !strings.Contains(d.Stderr(), "wiped") {
		t.Fatalf("shutdown log does not say credentials were wiped: %s", d.Stderr())
	}
}

func TestSocketFolderAndStaleSocket(t *testing.T) {
	credd, _ := daemontest.Binaries(t)
	dir := t.TempDir()

	t.Run("open folder refused", func(t *testing.T) {
		open := filepath.Join(dir, "open")
		if err := os.Mkdir(open, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := runBriefly(credd, "--backend", "file", "--socket", filepath.Join(open, "s.sock"), "--audit-log", filepath.Join(dir, "a.log"))
		if err == nil || !strings.Contains(out, "0755") {
			t.Fatalf("credd in a 0755 folder: %v, %s", err, out)
		}
		if st, _ := os.Stat(open); st.Mode().Perm() != 0o755 {
			t.Fatal("credd changed the folder's mode instead of refusing")
		}
	})
	t.Run("symlinked folder refused", func(t *testing.T) {
		real := filepath.Join(dir, "real")
		os.Mkdir(real, 0o700)
		link := filepath.Join(dir, "link")
		os.Symlink(real, link)
		out, err := runBriefly(credd, "--backend", "file", "--socket", filepath.Join(link, "s.sock"), "--audit-log", filepath.Join(dir, "a.log"))
		if err == nil || !strings.Contains(out, "symlink") {
			t.Fatalf("credd in a symlinked folder: %v, %s", err, out)
		}
	})
	t.Run("stale socket replaced, live one kept", func(t *testing.T) {
		d := daemontest.Start(t, daemontest.Options{})
		d.Kill() // leaves its socket file behind
		if _, err := os.Lstat(d.Socket); err != nil {
			t.Fatalf("no stale socket to test with: %v", err)
		}
		d2 := daemontest.Start(t, daemontest.Options{Dir: d.Dir})
		d2.MustRun("", "status")

		out, err := runBriefly(credd, "--backend", "file", "--socket", d2.Socket, "--audit-log", filepath.Join(dir, "b.log"))
		if err == nil || !strings.Contains(out, "already serving") {
			t.Fatalf("second credd on a live socket: %v, %s", err, out)
		}
		d2.MustRun("", "status")
	})
}

// runBriefly runs a command that is expected to exit on its own.
func runBriefly(name string, args ...string) (string, error) {
	cmd := execCommand(name, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestConcurrentDaemonsOnAStaleSocket starts four credd at once on the
// socket a killed daemon left behind: exactly one keeps serving, the
// others refuse to start.
func TestConcurrentDaemonsOnAStaleSocket(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	d.Kill()
	credd, _ := daemontest.Binaries(t)

	const n = 4
	type result struct {
		out string
		err error
	}
	cmds := make([]*exec.Cmd, n)
	results := make(chan result, n)
	for i := range cmds {
		cmd := execCommand(credd, "--backend", "file", "--socket", d.Socket, "--audit-log", filepath.Join(d.Dir, "audit-race.log"))
		cmd.Env = d.Env
		var out strings.Builder
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
		go func() { err := cmd.Wait(); results <- result{out.String(), err} }()
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
	}()

	// n-1 must exit, saying another daemon serves the socket.
	for i := 0; i < n-1; i++ {
		select {
		case r := <-results:
			if r.err == nil || !strings.Contains(r.out, "already serving") {
				t.Fatalf("a losing daemon: %v: %s", r.err, r.out)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d losing daemons exited", i, n-1)
		}
	}
	select {
	case r := <-results:
		t.Fatalf("every daemon exited; the last said: %v: %s", r.err, r.out)
	case <-time.After(500 * time.Millisecond):
	}
	d.MustRun("", "status")
}
