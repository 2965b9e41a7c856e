// Package secretsvc starts a private D-Bus session bus that activates no
// services, and a real gnome-keyring Secret Service on it with its login
// collection created and unlocked. Tests (through internal/testenv) and the
// benchmark program use it to talk to a keyring that is theirs alone.
//
// Every process it starts is a [Child]: it runs in its own process group,
// which Stop kills whole, and on Linux the kernel also kills it if the
// starting program dies. [StartChild] starts other programs the same way.
package secretsvc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Names of the Secret Service on the bus.
const (
	// Name is the bus name the Secret Service owns.
	Name = "org.freedesktop.secrets"
	// Path is the object path of the service itself.
	Path = "/org/freedesktop/secrets"
	// LoginPath is the object path of the login collection.
	LoginPath = "/org/freedesktop/secrets/collection/login"
)

// startTimeout bounds how long the bus or the keyring may take to come
// up. It is generous on purpose: the machines that run this are shared
// and noisy.
const startTimeout = 30 * time.Second

// busConfig is a session bus that activates no services: a name nobody
// owns stays unowned, so no second gnome-keyring can start behind the
// caller's back.
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

// Options configures the keyring that [Start] and [Bus.StartKeyring] run.
type Options struct {
	// Password creates and unlocks the login collection; it is given to
	// gnome-keyring-daemon on its standard input, never in argv.
	Password string
}

// Bus is a private D-Bus session bus that activates no services.
type Bus struct {
	// Address is the bus address, as DBUS_SESSION_BUS_ADDRESS takes it.
	Address string
	// Dir holds the bus's config, socket and log, and the keyring's
	// files.
	Dir string

	proc *Child
}

// StartBus starts dbus-daemon with its config, socket and log in dir,
// which it creates if needed, and returns once the bus prints its
// address. Keep dir short: a Unix socket path is limited to about 100
// bytes.
func StartBus(dir string) (*Bus, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create bus folder: %w", err)
	}
	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		return nil, fmt.Errorf("write bus config: %w", err)
	}

	// The address comes on a pipe of our own rather than cmd.StdoutPipe,
	// so that reaping the daemon never races with reading it.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create dbus-daemon address pipe: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address")
	cmd.Stdout = pw
	p, err := StartChild(cmd, filepath.Join(dir, "dbus-daemon.log"))
	pw.Close()
	if err != nil {
		return nil, err
	}

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(pr).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var addr string
	select {
	case addr = <-line:
	case <-time.After(startTimeout):
		p.Kill()
		return nil, fmt.Errorf("dbus-daemon printed no address within %v; see %s",
			startTimeout, p.Log)
	}
	if addr == "" {
		p.Kill()
		return nil, fmt.Errorf("dbus-daemon exited without an address; see %s", p.Log)
	}
	return &Bus{Address: addr, Dir: dir, proc: p}, nil
}

// Stop kills the bus and waits for it to exit. It leaves Dir in place.
func (b *Bus) Stop() {
	if b != nil {
		b.proc.Kill()
	}
}

// Keyring is a gnome-keyring-daemon serving the Secret Service on a
// [Bus].
type Keyring struct {
	proc *Child
}

// StartKeyring starts gnome-keyring-daemon on b with a private HOME and
// XDG folders under b.Dir, its login collection created and unlocked with
// opts.Password. It returns once the daemon owns [Name] on the bus and the
// login collection is unlocked; on error nothing it started still runs.
func (b *Bus) StartKeyring(opts Options) (*Keyring, error) {
	home := filepath.Join(b.Dir, "home")
	run := filepath.Join(b.Dir, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create keyring folder: %w", err)
		}
	}
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock",
		"--components=secrets", "--control-directory="+filepath.Join(run, "keyring"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR=" + run,
		"DBUS_SESSION_BUS_ADDRESS=" + b.Address,
	}
	cmd.Stdin = strings.NewReader(opts.Password)
	p, err := StartChild(cmd, filepath.Join(b.Dir, "gnome-keyring.log"))
	if err != nil {
		return nil, err
	}
	if err := waitReady(b.Address, p); err != nil {
		p.Kill()
		return nil, err
	}
	return &Keyring{proc: p}, nil
}

// waitReady waits until the keyring p owns [Name] on the bus at addr and
// its login collection is unlocked: gnome-keyring may take the name before
// it has read its password.
func waitReady(addr string, p *Child) error {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return fmt.Errorf("connect to the private session bus: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, Name).
			Store(&owned)
		if err != nil {
			return fmt.Errorf("ask the bus whether %s has an owner: %w", Name, err)
		}
		waiting := fmt.Sprintf("own %s", Name)
		if owned {
			v, err := conn.Object(Name, LoginPath).
				GetProperty("org.freedesktop.Secret.Collection.Locked")
			if locked, _ := v.Value().(bool); err == nil && !locked {
				return nil
			}
			waiting = fmt.Sprintf("unlock its login collection (last error: %v)", err)
		}
		if p.Exited() {
			return fmt.Errorf("gnome-keyring-daemon exited before it would %s; see %s",
				waiting, p.Log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gnome-keyring-daemon did not %s within %v; see %s",
				waiting, startTimeout, p.Log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID returns the process id of gnome-keyring-daemon.
func (k *Keyring) PID() int { return k.proc.Cmd.Process.Pid }

// Signal sends sig to gnome-keyring-daemon; it fails once the daemon has
// exited.
func (k *Keyring) Signal(sig os.Signal) error { return k.proc.Cmd.Process.Signal(sig) }

// Stop kills gnome-keyring-daemon and waits for it to exit.
func (k *Keyring) Stop() {
	if k != nil {
		k.proc.Kill()
	}
}

// Service is a private session bus with a gnome-keyring Secret Service on
// it, as [Start] returns it.
type Service struct {
	// Bus is the session bus the keyring serves.
	Bus *Bus
	// Keyring is the gnome-keyring-daemon serving it.
	Keyring *Keyring
}

// Start starts a [Bus] with its files in dir and a [Keyring] on it. On
// error nothing it started still runs.
func Start(dir string, opts Options) (*Service, error) {
	b, err := StartBus(dir)
	if err != nil {
		return nil, err
	}
	k, err := b.StartKeyring(opts)
	if err != nil {
		b.Stop()
		return nil, err
	}
	return &Service{Bus: b, Keyring: k}, nil
}

// Address returns the bus address, as DBUS_SESSION_BUS_ADDRESS takes it.
func (s *Service) Address() string { return s.Bus.Address }

// PID returns the process id of gnome-keyring-daemon.
func (s *Service) PID() int { return s.Keyring.PID() }

// Stop kills the keyring, then the bus, and waits for both to exit.
func (s *Service) Stop() {
	if s != nil {
		s.Keyring.Stop()
		s.Bus.Stop()
	}
}
