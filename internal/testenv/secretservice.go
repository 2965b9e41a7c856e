package testenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Bounds on waiting for the components to come up. They are generous on
// purpose: the machines that run the tests are shared and noisy.
const (
	startTimeout = 30 * time.Second
	callTimeout  = 10 * time.Second
)

// Names on the bus.
const (
	secretsName  = "org.freedesktop.secrets"
	secretsPath  = "/org/freedesktop/secrets"
	loginPath    = "/org/freedesktop/secrets/collection/login"
	serviceIface = "org.freedesktop.Secret.Service"
)

// KeyringPassword is the password of the test keyring's login collection.
// It protects nothing.
const KeyringPassword = "credd-test-keyring"

// busConfig is a session bus that activates no services: a name nobody
// owns stays unowned, so no second gnome-keyring can start behind the
// test's back.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Bus is a private D-Bus session bus for one test.
type Bus struct {
	// Address is the bus address, as DBUS_SESSION_BUS_ADDRESS takes it.
	Address string
	// Dir is a private temporary folder that lives as long as the bus.
	Dir string
}

// SessionBus starts a private D-Bus session bus that activates no
// services, sets DBUS_SESSION_BUS_ADDRESS to it for the rest of the test,
// and stops it when the test ends. It skips the test (fails it under
// CI=true) when dbus-daemon is not installed. Tests that call it cannot
// run in parallel, because it sets an environment variable.
func SessionBus(t testing.TB) *Bus {
	t.Helper()
	daemon := LookPath(t, "dbus-daemon", "dbus")

	// A Unix socket path is short: keep the folder out of t.TempDir,
	// whose names grow with the test's name.
	dir, err := os.MkdirTemp("", "credd-test-")
	if err != nil {
		t.Fatalf("create bus folder: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		t.Fatalf("write bus config: %v", err)
	}

	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address")
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = logFile(t, dir, "dbus-daemon.log")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("dbus-daemon stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { stop(cmd) })

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var addr string
	select {
	case addr = <-line:
	case <-time.After(startTimeout):
		t.Fatalf("dbus-daemon printed no address within %v", startTimeout)
	}
	if addr == "" {
		t.Fatalf("dbus-daemon exited without an address; see %s",
			filepath.Join(dir, "dbus-daemon.log"))
	}

	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	return &Bus{Address: addr, Dir: dir}
}

// Keyring is a real gnome-keyring Secret Service on a private session bus,
// with its login collection created and unlocked.
type Keyring struct {
	// Bus is the session bus the keyring serves.
	Bus *Bus
	// Env holds the variables a child process needs to reach this
	// keyring, as "KEY=value": append it to the child's environment.
	Env []string

	t      testing.TB
	daemon *exec.Cmd
}

// SecretService starts a private session bus and a gnome-keyring Secret
// Service on it, and returns the variables a child process needs; see
// [StartSecretService].
func SecretService(t testing.TB) (env []string) {
	t.Helper()
	return StartSecretService(t).Env
}

// StartSecretService starts a private session bus ([SessionBus]) and a
// real gnome-keyring-daemon on it in a temporary HOME, with the login
// collection created and unlocked by [KeyringPassword] on its standard
// input. It returns once org.freedesktop.secrets has an owner on the bus,
// and stops everything when the test ends. It skips the test (fails it
// under CI=true) when dbus-daemon or gnome-keyring-daemon is missing, and
// on systems other than Linux.
func StartSecretService(t testing.TB) *Keyring {
	t.Helper()
	skipUnlessLinux(t)
	gkd := LookPath(t, "gnome-keyring-daemon", "gnome-keyring")
	bus := SessionBus(t)

	home := filepath.Join(bus.Dir, "home")
	runtime := filepath.Join(bus.Dir, "run")
	for _, d := range []string{home, runtime} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("create keyring folder: %v", err)
		}
	}
	cmd := exec.Command(gkd, "--foreground", "--unlock", "--components=secrets",
		"--control-directory="+filepath.Join(runtime, "keyring"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR=" + runtime,
		"DBUS_SESSION_BUS_ADDRESS=" + bus.Address,
	}
	cmd.Stdin = strings.NewReader(KeyringPassword)
	log := logFile(t, bus.Dir, "gnome-keyring.log")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gnome-keyring-daemon: %v", err)
	}
	t.Cleanup(func() { stop(cmd) })

	conn := connect(t, bus.Address)
	deadline := time.Now().Add(startTimeout)
	for {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, secretsName).
			Store(&owned)
		if err != nil {
			t.Fatalf("ask the bus whether %s has an owner: %v", secretsName, err)
		}
		if owned {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnome-keyring-daemon did not own %s within %v; see %s",
				secretsName, startTimeout, filepath.Join(bus.Dir, "gnome-keyring.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	k := &Keyring{
		Bus:    bus,
		Env:    []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address},
		t:      t,
		daemon: cmd,
	}
	k.waitLogin(conn, deadline)
	return k
}

// waitLogin waits until the login collection exists and is unlocked:
// gnome-keyring may take the bus name before it has read its password.
func (k *Keyring) waitLogin(conn *dbus.Conn, deadline time.Time) {
	k.t.Helper()
	obj := conn.Object(secretsName, loginPath)
	for {
		v, err := obj.GetProperty("org.freedesktop.Secret.Collection.Locked")
		if err == nil {
			if locked, _ := v.Value().(bool); !locked {
				return
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("gnome-keyring's login collection was not unlocked within %v "+
				"(last error: %v)", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID returns the process id of gnome-keyring-daemon.
func (k *Keyring) PID() int { return k.daemon.Process.Pid }

// Lock locks the login collection through the Secret Service's Lock
// method, as a screen locker would. Unlocking it again needs a prompt,
// which this headless keyring cannot show, so reads fail from then on.
func (k *Keyring) Lock() {
	k.t.Helper()
	conn := connect(k.t, k.Bus.Address)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, serviceIface+".Lock", 0,
		[]dbus.ObjectPath{loginPath}).Store(&locked, &prompt)
	if err != nil {
		k.t.Fatalf("lock the login collection: %v", err)
	}
	if len(locked) != 1 || locked[0] != loginPath {
		k.t.Fatalf("lock the login collection: locked %v (prompt %s), want %s",
			locked, prompt, loginPath)
	}
}

// Hang stops gnome-keyring-daemon with SIGSTOP: it keeps its bus name and
// answers nothing, like a Secret Service waiting on a prompt nobody sees.
// Calls made while it hangs wait until [Keyring.Resume] or the end of the
// test.
func (k *Keyring) Hang() {
	k.t.Helper()
	if err := k.daemon.Process.Signal(syscall.SIGSTOP); err != nil {
		k.t.Fatalf("stop gnome-keyring-daemon: %v", err)
	}
}

// Resume continues a keyring stopped by [Keyring.Hang].
func (k *Keyring) Resume() {
	k.t.Helper()
	if err := k.daemon.Process.Signal(syscall.SIGCONT); err != nil {
		k.t.Fatalf("continue gnome-keyring-daemon: %v", err)
	}
}

// connect opens a private connection to the bus at addr, closed when the
// test ends.
func connect(t testing.TB, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// logFile opens dir/name for a child's output; it is closed when the test
// ends.
func logFile(t testing.TB, dir, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("create log file: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// stop kills a child started by this package and its process group, and
// reaps it.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}
