package testenv

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// recorder is a testing.TB that records how a helper stopped the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = format
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skip = format
	runtime.Goexit()
}

func runRequireCI(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		RequireCI(r, "a thing")
	}()
	<-done
	return r
}

func TestRequireCI(t *testing.T) {
	t.Setenv("CI", "true")
	if r := runRequireCI(t); r.fatal == "" || r.skip != "" {
		t.Errorf("RequireCI under CI=true: fatal %q, skip %q; want a failure", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	if r := runRequireCI(t); r.skip == "" || r.fatal != "" {
		t.Errorf("RequireCI without CI: fatal %q, skip %q; want a skip", r.fatal, r.skip)
	}
}

// secretTool runs secret-tool against the keyring with env and returns its
// output.
func secretTool(t *testing.T, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	bin := LookPath(t, "secret-tool", "libsecret-tools")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	timer := time.AfterFunc(callTimeout, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.Output()
	return string(out), err
}

// alive reports whether pid names a process that has not been reaped.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestSecretService(t *testing.T) {
	var busPID, keyringPID int
	t.Run("use", func(t *testing.T) {
		k := StartSecretService(t)
		keyringPID = k.PID()
		busPID = findBusDaemon(t, k.Bus.Dir)

		if got := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); got != k.Bus.Address {
			t.Errorf("DBUS_SESSION_BUS_ADDRESS = %q, want %q", got, k.Bus.Address)
		}
		if _, err := secretTool(t, k.Env, "value-1", "store", "--label=test",
			"service", "testenv", "user", "u"); err != nil {
			t.Fatalf("secret-tool store: %v", err)
		}
		out, err := secretTool(t, k.Env, "", "lookup", "service", "testenv", "user", "u")
		if err != nil || out != "value-1" {
			t.Fatalf("secret-tool lookup = %q, %v; want the stored value", out, err)
		}

		k.Lock()
		out, err = secretTool(t, k.Env, "", "lookup", "service", "testenv", "user", "u")
		if err == nil || out != "" {
			t.Fatalf("secret-tool lookup on a locked keyring = %q, %v; want a failure", out, err)
		}
	})
	if keyringPID == 0 {
		return // skipped
	}
	pids := map[string]int{"gnome-keyring-daemon": keyringPID, "dbus-daemon": busPID}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still runs after the test ended", name, pid)
		}
	}
}

func TestHang(t *testing.T) {
	k := StartSecretService(t)
	k.Hang()

	cmd := exec.Command(LookPath(t, "secret-tool", "libsecret-tools"),
		"lookup", "service", "testenv", "user", "u")
	cmd.Env = append(os.Environ(), k.Env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		t.Fatalf("secret-tool returned (%v) while the keyring hangs", err)
	case <-time.After(500 * time.Millisecond):
	}

	k.Resume()
	select {
	case <-waited:
	case <-time.After(callTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("secret-tool did not return within %v after the keyring resumed", callTimeout)
	}
}

// findBusDaemon returns the pid of the dbus-daemon whose config lives in
// dir.
func findBusDaemon(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), dir+"/bus.conf") {
			continue
		}
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			return pid
		}
	}
	t.Fatal(errors.New("find dbus-daemon: no process uses the test bus config"))
	return 0
}
