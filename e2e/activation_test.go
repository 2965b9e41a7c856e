package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needSocketActivate returns the path of systemd-socket-activate, skipping
// the test when it is missing, except under CI where it must be installed.
func needSocketActivate(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("systemd-socket-activate is required under CI: %v", err)
		}
		t.Skipf("systemd-socket-activate not installed (package systemd): %v", err)
	}
	return p
}

// activated is credd started by systemd-socket-activate.
type activated struct {
	cmd    *exec.Cmd
	stderr lockedBuffer
	done   chan struct{}
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startActivated runs systemd-socket-activate with args and then credd, in
// o's environment. Without --accept the tool waits for the first
// connection and then execs credd in its own place, handing it the
// listening socket as descriptor 3 with LISTEN_FDS=1.
func startActivated(t *testing.T, o *odEnv, extra []*os.File, preamble string,
	args ...string) *activated {
	t.Helper()
	tool := needSocketActivate(t)
	argv := append([]string{"-c", preamble + `exec "$0" "$@"`, tool}, args...)
	argv = append(argv, o.credd, "--backend", "file")
	a := &activated{cmd: exec.Command("sh", argv...), done: make(chan struct{})}
	a.cmd.Env = o.env
	a.cmd.Stderr = &a.stderr
	a.cmd.ExtraFiles = extra
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
	})
	return a
}

// stop sends sig and waits for the process to exit.
func (a *activated) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = a.cmd.Process.Signal(sig)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("credd did not exit after %v", sig)
	}
}

func waitForFile(t *testing.T, path string) os.FileInfo {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if fi, err := os.Lstat(path); err == nil {
			return fi
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
	return nil
}

// TestSocketActivation runs credd the way systemd's socket activation
// does, with the real systemd-socket-activate: the first connection starts
// it on the socket the tool made, it answers that connection, and it
// leaves the socket in place when it stops, since it did not create it.
func TestSocketActivation(t *testing.T) {
	o := newODEnv(t, "run")
	if err := os.MkdirAll(filepath.Dir(o.socket), 0o700); err != nil {
		t.Fatal(err)
	}
	a := startActivated(t, o, nil, "", "-l", o.socket)
	before := waitForFile(t, o.socket)
	// The tool makes the socket 0644 whatever the umask, and clients refuse
	// a socket open to others. systemd's socket unit sets SocketMode=0600;
	// here the test does it, before anything connects (the folder, 0700,
	// keeps others out meanwhile).
	if err := os.Chmod(o.socket, 0o600); err != nil {
		t.Fatal(err)
	}

	// No autostart: only the activated credd can answer.
	noAuto := []string{"AIRTRAIN_CRED_NO_AUTOSTART=1"}
	out, errs, code := o.run("", noAuto, "status", "--json")
	if code != 0 {
		t.Fatalf("status through the activation socket: exit %d: %s\ntool and credd: %s",
			code, errs, a.stderr.String())
	}
	if pid := statusPID(t, out); pid != a.cmd.Process.Pid {
		t.Errorf("status answered by pid %d, want the activated credd %d", pid, a.cmd.Process.Pid)
	}
	if after, err := os.Lstat(o.socket); err != nil || !os.SameFile(before, after) {
		t.Errorf("credd replaced the socket it was handed (err %v)", err)
	}

	a.stop(t, syscall.SIGTERM)
	if after, err := os.Lstat(o.socket); err != nil || !os.SameFile(before, after) {
		t.Errorf("after credd stopped, the handed socket is gone or replaced (err %v)", err)
	}
	if strings.Contains(a.stderr.String(), `"level":"error"`) {
		t.Errorf("credd logged an error:\n%s", a.stderr.String())
	}
}

// TestSocketActivationRestart plays the service manager's part after a
// crash: the test keeps the listening socket, credd is killed with SIGKILL,
// a client connects and sends its request while no daemon runs, and the
// credd started next on the same descriptor answers it.
func TestSocketActivationRestart(t *testing.T) {
	o := newODEnv(t, "run")
	if err := os.MkdirAll(filepath.Dir(o.socket), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: o.socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(o.socket, 0o600); err != nil {
		t.Fatal(err)
	}
	lf, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	// The tool passes on descriptors handed to it through LISTEN_FDS; the
	// shell's pid is the tool's after exec.
	const inherit = "export LISTEN_FDS=1 LISTEN_PID=$$; "

	first := startActivated(t, o, []*os.File{lf}, inherit)
	noAuto := []string{"AIRTRAIN_CRED_NO_AUTOSTART=1"}
	out, errs, code := o.run("", noAuto, "status", "--json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s\ntool and credd: %s", code, errs, first.stderr.String())
	}
	firstPID := statusPID(t, out)
	first.stop(t, syscall.SIGKILL)

	// The kernel queues the connection on the socket the manager holds.
	c, err := net.Dial("unix", o.socket)
	if err != nil {
		t.Fatalf("connect while no credd runs: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"id":1,"op":"status"}` + "\n")); err != nil {
		t.Fatal(err)
	}

	second := startActivated(t, o, []*os.File{lf}, inherit)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read the reply from the restarted credd: %v\ntool and credd: %s",
			err, second.stderr.String())
	}
	var reply struct {
		OK  bool `json:"ok"`
		PID int  `json:"pid"`
	}
	if err := json.Unmarshal(line, &reply); err != nil || !reply.OK ||
		reply.PID != second.cmd.Process.Pid || reply.PID == firstPID {
		t.Fatalf("reply %s (err %v): want ok from the new credd, pid %d (the killed one was %d)",
			line, err, second.cmd.Process.Pid, firstPID)
	}
	second.stop(t, syscall.SIGTERM)
	if _, err := os.Lstat(o.socket); err != nil {
		t.Errorf("the manager's socket is gone after credd stopped: %v", err)
	}
}

// TestSocketActivatedIdleExit: a socket-activated credd given --exit-idle
// exits once it is locked with no client for that long, leaving the
// socket to the manager, which starts it again on the next connection.
func TestSocketActivatedIdleExit(t *testing.T) {
	tool := needSocketActivate(t)
	o := newODEnv(t, "run")
	if err := os.MkdirAll(filepath.Dir(o.socket), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "-l", o.socket, o.credd, "--backend", "file", "--exit-idle", "1s")
	cmd.Env = o.env
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	waitForFile(t, o.socket)
	if err := os.Chmod(o.socket, 0o600); err != nil {
		t.Fatal(err)
	}

	// A fresh file-backend credd is locked: after this request it is idle.
	if _, errs, code := o.run("", []string{"AIRTRAIN_CRED_NO_AUTOSTART=1"}, "status"); code != 0 {
		t.Fatalf("status: %s\n%s", errs, stderr.String())
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("credd exited with %v after idling: %s", waitErr, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("a locked, idle, socket-activated credd did not exit: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "locked and idle") {
		t.Fatalf("no log line for the idle exit: %s", stderr.String())
	}
	if _, err := os.Lstat(o.socket); err != nil {
		t.Fatalf("the idle exit removed the manager's socket: %v", err)
	}
}
