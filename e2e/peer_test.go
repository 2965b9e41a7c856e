package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/internal/testenv"
)

// rawClientSrc is a client that connects to a socket, sends one line, and
// prints the reply, or exits at once after sending when a third argument is
// given.
const rawClientSrc = `package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	c, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(3)
	}
	c.Write([]byte(os.Args[2] + "\n"))
	if len(os.Args) > 3 {
		os.Exit(0)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
}
`

var rawClient struct {
	once sync.Once
	path string
	err  error
}

// rawClientBin builds the raw client once, in a folder every user can
// read, and returns its path.
func rawClientBin(t *testing.T) string {
	t.Helper()
	credd, _ := daemontest.Binaries(t)
	rawClient.once.Do(func() {
		dir := filepath.Dir(credd)
		src := filepath.Join(dir, "rawclient.go")
		if rawClient.err = os.WriteFile(src, []byte(rawClientSrc), 0o644); rawClient.err != nil {
			return
		}
		rawClient.path = filepath.Join(dir, "rawclient")
		cmd := exec.Command("go", "build", "-o", rawClient.path, src)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			rawClient.err = fmt.Errorf("build raw client: %v: %s", err, out)
		}
	})
	if rawClient.err != nil {
		t.Fatal(rawClient.err)
	}
	return rawClient.path
}

// testUser is a non-root account the tests run processes as.
type testUser struct {
	name     string
	uid, gid int
}

// requireRoot stops the test unless it runs as root, which creating users
// and running processes as them needs.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.RequireCI(t, "root (to create the test users credd-owner and credd-intruder)")
	}
}

// ensureUser creates the system user name unless it exists.
func ensureUser(t *testing.T, name string) testUser {
	t.Helper()
	requireRoot(t)
	if _, err := exec.Command("id", "-u", name).Output(); err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home",
			"--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "already exists") {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
	}
	uid, err1 := exec.Command("id", "-u", name).Output()
	gid, err2 := exec.Command("id", "-g", name).Output()
	if err1 != nil || err2 != nil {
		t.Fatalf("id %s: %v %v", name, err1, err2)
	}
	u := testUser{name: name}
	u.uid, _ = strconv.Atoi(strings.TrimSpace(string(uid)))
	u.gid, _ = strconv.Atoi(strings.TrimSpace(string(gid)))
	return u
}

// as makes cmd run as u.
func (u testUser) as(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}}
	return cmd
}

// ownedDaemon is a credd run as a non-root user.
type ownedDaemon struct {
	pid      int
	dir      string
	socket   string
	auditLog string
	stderr   *lockedBuf
}

// lockedBuf collects a child's output and may be read while it runs.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAs runs credd as u on a locked file backend, with its socket folder
// and socket then opened to everyone, so that only the peer check can
// refuse a connection.
func startAs(t *testing.T, u testUser, args ...string) *ownedDaemon {
	t.Helper()
	credd, _ := daemontest.Binaries(t)
	dir, err := os.MkdirTemp("", "credd-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, sub := range []string{"run", "state", "data"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Join(dir, sub), u.uid, u.gid)
	}
	os.Chmod(dir, 0o755)
	d := &ownedDaemon{dir: dir, socket: filepath.Join(dir, "run", "credd.sock"),
		auditLog: filepath.Join(dir, "state", "audit.log"), stderr: &lockedBuf{}}
	cmd := u.as(exec.Command(credd, append([]string{"--backend", "file", "--socket", d.socket,
		"--audit-log", d.auditLog}, args...)...))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run")}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.pid = cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })

	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		// "listening" is logged once the socket has its final mode.
		if strings.Contains(d.stderr.String(), `"listening"`) {
			break
		}
		select {
		case <-done:
			t.Fatalf("credd as %s exited: %s", u.name, d.stderr.String())
		default:
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("credd as %s did not create its socket", u.name)
		}
	}
	for _, p := range []string{filepath.Join(dir, "run"), d.socket} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *ownedDaemon) audit(t *testing.T) *audit.Log {
	t.Helper()
	lg, err := audit.ReadFile(d.auditLog)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	return lg
}

func TestOtherUserIsDenied(t *testing.T) {
	owner := ensureUser(t, "credd-owner")
	intruder := ensureUser(t, "credd-intruder")
	client := rawClientBin(t)
	d := startAs(t, owner)

	// The owner is served: the socket works and the check admits it.
	out, err := owner.as(exec.Command(client, d.socket, `{"id":1,"op":"hello"}`)).Output()
	if err != nil || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("owner's hello: %s, %v", out, err)
	}

	const tries = 25
	for i := 0; i < tries; i++ {
		out, err := intruder.as(exec.Command(client, d.socket,
			fmt.Sprintf(`{"id":%d,"op":"get","name":"anything"}`, i))).Output()
		if err != nil || !strings.Contains(string(out), `"code":"denied"`) {
			t.Fatalf("intruder try %d: %s, %v; want denied", i, out, err)
		}
	}
	refused := 0
	for _, e := range d.audit(t).Entries {
		if e.Event == audit.EventRefused && e.Peer != nil && e.Peer.UID == intruder.uid {
			refused++
			if e.Outcome != audit.Denied {
				t.Errorf("refusal audited with outcome %q", e.Outcome)
			}
		}
		if e.Event == "get" {
			t.Errorf("a get from a refused peer reached the audit log as a request: %+v", e)
		}
	}
	if refused != tries {
		t.Fatalf("%d refusals of uid %d audited, want %d", refused, intruder.uid, tries)
	}
}

func TestRootNeedsAllowRoot(t *testing.T) {
	owner := ensureUser(t, "credd-owner")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, `"code":"denied"`},
		{[]string{"--allow-root"}, `"ok":true`},
	} {
		d := startAs(t, owner, tt.args...)
		c, err := net.Dial("unix", d.socket)
		if err != nil {
			t.Fatal(err)
		}
		r := &raw{t: t, c: c, br: newReader(c)}
		// A refused peer may find the connection already closed when it
		// writes: the daemon answers with its refusal at once. The
		// refusal is still there to read.
		_, _ = c.Write([]byte(`{"id":1,"op":"hello"}` + "\n"))
		line, _ := r.br.ReadString('\n')
		c.Close()
		if !strings.Contains(line, tt.want) {
			t.Errorf("root's hello to credd %v run by %s: %s, want %s", tt.args, owner.name, line, tt.want)
		}
		if tt.args == nil && !strings.Contains(line, "allow-root") {
			t.Errorf("refusal of root does not name --allow-root: %s", line)
		}
	}
}

func TestPIDChurnNeverMisattributes(t *testing.T) {
	client := rawClientBin(t)
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)

	// Churn pids: a shell that starts short processes in a loop.
	churn := exec.Command("sh", "-c", "while :; do /bin/true; done")
	churn.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := churn.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-churn.Process.Pid, syscall.SIGKILL)
		_ = churn.Wait()
	}()

	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = exec.Command(client, d.Socket,
				fmt.Sprintf(`{"id":"churn-%d","op":"get","name":"alpha"}`, i), "exit").Run()
		}()
	}
	wg.Wait()
	time.Sleep(time.Second)

	known, unknown := 0, 0
	for _, e := range d.Audit().Entries {
		if e.Event != "get" || !strings.HasPrefix(string(e.RequestID), `"churn-`) {
			continue
		}
		switch {
		case e.Peer == nil || e.Peer.Exe == "":
			unknown++
		case e.Peer.Exe == client && (e.Peer.Cmdline == "" || strings.Contains(e.Peer.Cmdline, "rawclient")):
			// An exiting process has no command line left: empty
			// is unknown, not wrong.
			known++
		default:
			t.Errorf("request %s audited as exe %q cmdline %q: another process's identity",
				e.RequestID, e.Peer.Exe, e.Peer.Cmdline)
		}
		if e.Peer != nil && e.Peer.Exe == "" && e.Peer.Cmdline != "" {
			t.Errorf("request %s: unknown exe but cmdline %q", e.RequestID, e.Peer.Cmdline)
		}
	}
	t.Logf("%d short-lived clients under pid churn: %d audited with their identity, %d as unknown",
		n, known, unknown)
	if known+unknown == 0 {
		t.Fatal("no request from a short-lived client was audited")
	}
}

func TestCredctlRefusesUnsafeSocket(t *testing.T) {
	_, credctl := daemontest.Binaries(t)
	listen := func(t *testing.T, path string) *atomic.Int32 {
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		var n atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				n.Add(1)
				c.Close()
			}
		}()
		return &n
	}
	run := func(t *testing.T, sock string, want string) {
		t.Helper()
		cmd := execCommand(credctl, "status")
		cmd.Env = append(os.Environ(), "AIRTRAIN_CRED_SOCK="+sock)
		out, err := cmd.CombinedOutput()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() == 0 {
			t.Fatalf("credctl status on an unsafe socket: %v: %s", err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("credctl's refusal (exit %d) does not say %q: %s", ee.ExitCode(), want, out)
		}
		t.Logf("exit %d: %s", ee.ExitCode(), strings.TrimSpace(string(out)))
	}

	t.Run("open folder", func(t *testing.T) {
		dir, _ := os.MkdirTemp("", "credd-unsafe-")
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o777)
		sock := filepath.Join(dir, "s.sock")
		n := listen(t, sock)
		run(t, sock, dir)
		if n.Load() != 0 {
			t.Errorf("credctl connected %d times to a socket in an open folder", n.Load())
		}
	})
	t.Run("socket of another user", func(t *testing.T) {
		owner := ensureUser(t, "credd-owner")
		dir, _ := os.MkdirTemp("", "credd-unsafe-")
		t.Cleanup(func() { os.RemoveAll(dir) })
		sock := filepath.Join(dir, "s.sock")
		n := listen(t, sock)
		if err := os.Chown(sock, owner.uid, owner.gid); err != nil {
			t.Fatal(err)
		}
		run(t, sock, sock)
		if n.Load() != 0 {
			t.Errorf("credctl connected %d times to another user's socket", n.Load())
		}
	})
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 1<<16) }
