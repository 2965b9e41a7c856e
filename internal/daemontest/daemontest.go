// Package daemontest runs the real credd and credctl binaries for tests:
// it builds them once per test process, starts credd on a socket in a
// private temp folder with its own XDG folders and audit log, and drives it
// through credctl exactly as a user would.
//
// A test package that uses it calls Main from its TestMain, so that the
// built binaries are removed afterwards.
package daemontest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/audit"
)

// Passphrase is the passphrase Start unlocks file backends with.
const Passphrase = "daemontest passphrase"

var build struct {
	once    sync.Once
	dir     string
	credd   string
	credctl string
	err     error
}

// Main runs the tests of a package and removes the built binaries.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// Root returns the module's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildCredd builds credd with the given build tags into dir and returns
// its path.
func BuildCredd(t testing.TB, dir string, tags ...string) string {
	t.Helper()
	out := filepath.Join(dir, "credd")
	cmd := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", out, "./cmd/credd")
	cmd.Dir = Root()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build credd -tags %v: %v\n%s", tags, err, b)
	}
	return out
}

// Binaries builds credd and credctl (once per process) and returns their
// paths.
func Binaries(t testing.TB) (credd, credctl string) {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "credd-bin-")
		if build.err != nil {
			return
		}
		// World-readable and executable, so that tests can run them as
		// another user.
		os.Chmod(build.dir, 0o755)
		cmd := exec.Command("go", "build", "-o", build.dir+"/", "./cmd/credd", "./cmd/credctl")
		cmd.Dir = Root()
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		build.credd = filepath.Join(build.dir, "credd")
		build.credctl = filepath.Join(build.dir, "credctl")
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.credd, build.credctl
}

// Options configure Start.
type Options struct {
	// Backend is credd's --backend (default "file").
	Backend string
	// Args are more credd flags.
	Args []string
	// Env is added to credd's and credctl's environment.
	Env []string
	// Locked leaves a file backend locked instead of unlocking it.
	Locked bool
	// Dir is the folder for the daemon's files (default t.TempDir()).
	Dir string
	// Credd is the credd binary to run (default: the one Binaries built).
	Credd string
}

// Daemon is a running credd.
type Daemon struct {
	t        testing.TB
	Dir      string
	Socket   string
	AuditLog string
	// Env is the environment credctl and clients need to reach the
	// daemon.
	Env    []string
	Credd  string
	Ctl    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

// Start starts credd and waits until it answers; a file backend is then
// unlocked with Passphrase unless o.Locked. The daemon is stopped at the
// end of the test.
func Start(t testing.TB, o Options) *Daemon {
	t.Helper()
	credd, credctl := Binaries(t)
	if o.Credd != "" {
		credd = o.Credd
	}
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	if o.Backend == "" {
		o.Backend = "file"
	}
	d := &Daemon{t: t, Dir: dir, Credd: credd, Ctl: credctl,
		Socket:   filepath.Join(dir, "run", "credd.sock"),
		AuditLog: filepath.Join(dir, "state", "airtrain", "audit.log"),
		stderr:   &syncBuffer{}, done: make(chan struct{})}
	for _, sub := range []string{"run", "state", "data", "config", "xdgrun"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.Env = append(cleanEnv(),
		"AIRTRAIN_CRED_SOCK="+d.Socket,
		"XDG_STATE_HOME="+filepath.Join(dir, "state"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "xdgrun"),
	)
	d.Env = append(d.Env, o.Env...)

	d.cmd = exec.Command(credd, append([]string{"--backend", o.Backend}, o.Args...)...)
	d.cmd.Env = d.Env
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.Stop)
	d.WaitReady()
	if o.Backend == "file" && !o.Locked {
		if _, stderr, code := d.RunEnv([]string{"AIRTRAIN_CRED_PASSPHRASE=" + Passphrase}, "", "unlock"); code != 0 {
			t.Fatalf("credctl unlock: exit %d: %s", code, stderr)
		}
	}
	return d
}

// cleanEnv is the test process's environment without variables that would
// point credd or credctl elsewhere.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AIRTRAIN_"), strings.HasPrefix(k, "XDG_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// WaitReady waits until the socket accepts connections.
func (d *Daemon) WaitReady() {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			d.t.Fatalf("credd exited at start: %s", d.stderr.String())
		default:
		}
		if c, err := net.Dial("unix", d.Socket); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.t.Fatalf("credd did not answer within 15s: %s", d.stderr.String())
}

// PID returns the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Stderr returns what the daemon has logged so far.
func (d *Daemon) Stderr() string { return d.stderr.String() }

// Done is closed when the daemon has exited.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig os.Signal) { _ = d.cmd.Process.Signal(sig) }

// Stop stops the daemon with SIGTERM (SIGKILL after 10s) and waits.
func (d *Daemon) Stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// Kill kills the daemon with SIGKILL and waits.
func (d *Daemon) Kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

// Run runs credctl with args and stdin, and returns its stdout, stderr
// and exit code.
func (d *Daemon) Run(stdin string, args ...string) (stdout, stderr string, code int) {
	return d.RunEnv(nil, stdin, args...)
}

// RunEnv is Run with more environment variables.
func (d *Daemon) RunEnv(env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Ctl, args...)
	cmd.Env = append(append([]string(nil), d.Env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			d.t.Fatalf("credctl %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// MustRun runs credctl and fails the test unless it exits 0.
func (d *Daemon) MustRun(stdin string, args ...string) string {
	d.t.Helper()
	out, errs, code := d.Run(stdin, args...)
	if code != 0 {
		d.t.Fatalf("credctl %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// Audit reads the daemon's audit log.
func (d *Daemon) Audit() *audit.Log {
	d.t.Helper()
	lg, err := audit.ReadFile(d.AuditLog)
	if err != nil {
		d.t.Fatalf("read audit log: %v", err)
	}
	return lg
}

// Dial connects to the daemon's socket.
func (d *Daemon) Dial() net.Conn {
	d.t.Helper()
	c, err := net.Dial("unix", d.Socket)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
