package testenv

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/airtrain-ai/credd/internal/secretsvc"
)

// callTimeout bounds one call to the Secret Service. It is generous on
// purpose: the machines that run the tests are shared and noisy.
const callTimeout = 10 * time.Second

// serviceIface is the Secret Service's interface on its object.
const serviceIface = "org.freedesktop.Secret.Service"

// KeyringPassword is the password of the test keyring's login collection.
// It protects nothing.
const KeyringPassword = "credd-test-keyring"

// Bus is a private D-Bus session bus for one test.
type Bus struct {
	// Address is the bus address, as DBUS_SESSION_BUS_ADDRESS takes it.
	Address string
	// Dir is a private temporary folder that lives as long as the bus.
	Dir string

	svc *secretsvc.Bus
}

// SessionBus starts a private D-Bus session bus that activates no
// services, sets DBUS_SESSION_BUS_ADDRESS to it for the rest of the test,
// and stops it when the test ends. It skips the test (fails it under
// CI=true) when dbus-daemon is not installed. Tests that call it cannot
// run in parallel, because it sets an environment variable.
func SessionBus(t testing.TB) *Bus {
	t.Helper()
	LookPath(t, "dbus-daemon", "dbus")

	// A Unix socket path is short: keep the folder out of t.TempDir,
	// whose names grow with the test's name.
	dir, err := os.MkdirTemp("", "credd-test-")
	if err != nil {
		t.Fatalf("create bus folder: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	svc, err := secretsvc.StartBus(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)

	t.Setenv("DBUS_SESSION_BUS_ADDRESS", svc.Address)
	return &Bus{Address: svc.Address, Dir: dir, svc: svc}
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
	daemon *secretsvc.Keyring
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
	LookPath(t, "gnome-keyring-daemon", "gnome-keyring")
	bus := SessionBus(t)

	daemon, err := bus.svc.StartKeyring(secretsvc.Options{Password: KeyringPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(daemon.Stop)
	return &Keyring{
		Bus:    bus,
		Env:    []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address},
		t:      t,
		daemon: daemon,
	}
}

// PID returns the process id of gnome-keyring-daemon.
func (k *Keyring) PID() int { return k.daemon.PID() }

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
	svc := conn.Object(secretsvc.Name, secretsvc.Path)
	err := svc.CallWithContext(ctx, serviceIface+".Lock", 0,
		[]dbus.ObjectPath{secretsvc.LoginPath}).Store(&locked, &prompt)
	if err != nil {
		k.t.Fatalf("lock the login collection: %v", err)
	}
	if len(locked) != 1 || locked[0] != secretsvc.LoginPath {
		k.t.Fatalf("lock the login collection: locked %v (prompt %s), want %s",
			locked, prompt, secretsvc.LoginPath)
	}
}

// Hang stops gnome-keyring-daemon with SIGSTOP: it keeps its bus name and
// answers nothing, like a Secret Service waiting on a prompt nobody sees.
// Calls made while it hangs wait until [Keyring.Resume] or the end of the
// test.
func (k *Keyring) Hang() {
	k.t.Helper()
	if err := k.daemon.Signal(syscall.SIGSTOP); err != nil {
		k.t.Fatalf("stop gnome-keyring-daemon: %v", err)
	}
}

// Resume continues a keyring stopped by [Keyring.Hang].
func (k *Keyring) Resume() {
	k.t.Helper()
	if err := k.daemon.Signal(syscall.SIGCONT); err != nil {
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
