package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/internal/secretsvc"
)

// startTimeout bounds how long a child may take to start serving.
const startTimeout = 30 * time.Second

// child is a process credbench started, in its own process group and
// (on Linux) killed if credbench dies first.
type child struct {
	*secretsvc.Child
}

// startChild starts cmd with its output in logPath; a stdout the caller
// already set (a pipe) is kept.
func startChild(cmd *exec.Cmd, logPath string) (*child, error) {
	c, err := secretsvc.StartChild(cmd, logPath)
	if err != nil {
		return nil, err
	}
	return &child{c}, nil
}

// stop ends the child with SIGTERM, then SIGKILL for its whole group after
// five seconds, and waits for it.
func (c *child) stop() {
	if c == nil {
		return
	}
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
	}
	c.Kill()
}

// waitSocket waits until path accepts connections, the child exits, or
// startTimeout passes.
func (c *child) waitSocket(path string) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if c.Exited() {
			return fmt.Errorf("%s exited at start; see %s", filepath.Base(c.Cmd.Path), c.Log)
		}
		if nc, err := net.Dial("unix", path); err == nil {
			nc.Close()
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s did not listen on %s within %v; see %s",
		filepath.Base(c.Cmd.Path), path, startTimeout, c.Log)
}

// rssKiB returns the child's resident memory (VmRSS) in KiB.
func (c *child) rssKiB() (int, error) {
	return vmRSS(c.Cmd.Process.Pid)
}

// vmRSS reads VmRSS of pid from /proc, in KiB.
func vmRSS(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		if err != nil {
			return 0, fmt.Errorf("read memory of process %d: parse VmRSS %q: %w", pid, v, err)
		}
		return kib, nil
	}
	return 0, fmt.Errorf("read memory of process %d: no VmRSS line", pid)
}

// creddProc is a credd started for the benchmark, with its own socket,
// XDG folders and audit log under dir.
type creddProc struct {
	*child
	dir    string
	socket string
	env    []string
}

// startCredd starts credd with --backend backend and more args, with its
// files under dir and extra environment variables, and waits until it
// listens.
func startCredd(bin, dir, backend string, extraEnv []string, args ...string) (*creddProc, error) {
	d := &creddProc{dir: dir, socket: filepath.Join(dir, "run", "credd.sock")}
	for _, sub := range []string{"run", "state", "data", "config", "xdgrun"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("create credd folder: %w", err)
		}
	}
	d.env = append(cleanEnv(),
		client.SocketEnv+"="+d.socket,
		"XDG_STATE_HOME="+filepath.Join(dir, "state"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "xdgrun"),
	)
	d.env = append(d.env, extraEnv...)
	cmd := exec.Command(bin, append([]string{"--backend", backend, "--socket", d.socket}, args...)...)
	cmd.Env = d.env
	c, err := startChild(cmd, filepath.Join(dir, "credd.log"))
	if err != nil {
		return nil, err
	}
	d.child = c
	if err := c.waitSocket(d.socket); err != nil {
		c.stop()
		return nil, err
	}
	return d, nil
}

// client returns a client of d that keeps one connection.
func (d *creddProc) client() *client.Client {
	return client.New(client.Options{Socket: d.socket, MaxIdle: 1, Agent: "credbench"})
}

// cleanEnv is credbench's environment without variables that would point
// credd or credctl elsewhere.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AIRTRAIN_") || strings.HasPrefix(k, "XDG_") ||
			k == "DBUS_SESSION_BUS_ADDRESS" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// callCtx returns a context for one setup call.
func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// errSkip marks a section that cannot run on this machine; its message
// says what is missing.
type errSkip struct{ reason string }

func (e *errSkip) Error() string { return e.reason }

// skipped reports whether err means a section was skipped, and why.
func skipped(err error) (string, bool) {
	var s *errSkip
	if errors.As(err, &s) {
		return s.reason, true
	}
	return "", false
}
