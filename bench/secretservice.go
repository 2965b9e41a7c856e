package bench

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

// keyringPassword protects the benchmark's throwaway login collection; it
// guards nothing.
const keyringPassword = "credbench-keyring"

// busConfig is a session bus that activates no services, so that no second
// gnome-keyring starts behind the benchmark's back.
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

// secretService is a private D-Bus session bus with a gnome-keyring
// Secret Service on it, its login collection created and unlocked.
type secretService struct {
	addr string
	bus  *child
	gkd  *child
}

// haveSecretService reports whether the programs a private Secret Service
// needs are installed.
func haveSecretService() error {
	for _, p := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(p); err != nil {
			return &errSkip{p + " is not installed (Debian packages dbus and gnome-keyring)"}
		}
	}
	return nil
}

// startSecretService starts the bus and gnome-keyring-daemon with their
// files under dir, and waits until the login collection is unlocked.
func startSecretService(dir string) (*secretService, error) {
	if err := haveSecretService(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keyring folder: %w", err)
	}
	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		return nil, fmt.Errorf("write bus config: %w", err)
	}
	ss := &secretService{}
	ok := false
	defer func() {
		if !ok {
			ss.stop()
		}
	}()

	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("dbus-daemon stdout: %w", err)
	}
	// startChild keeps the pipe as stdout.
	if ss.bus, err = startChild(cmd, filepath.Join(dir, "dbus-daemon.log")); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case ss.addr = <-line:
	case <-time.After(startTimeout):
	}
	if ss.addr == "" {
		return nil, fmt.Errorf("dbus-daemon printed no address; see %s", ss.bus.log)
	}

	home := filepath.Join(dir, "home")
	run := filepath.Join(dir, "xdgrun")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create keyring folder: %w", err)
		}
	}
	cmd = exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets",
		"--control-directory="+filepath.Join(run, "keyring"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR=" + run,
		"DBUS_SESSION_BUS_ADDRESS=" + ss.addr,
	}
	cmd.Stdin = strings.NewReader(keyringPassword)
	if ss.gkd, err = startChild(cmd, filepath.Join(dir, "gnome-keyring.log")); err != nil {
		return nil, err
	}
	if err := ss.waitReady(); err != nil {
		return nil, err
	}
	ok = true
	return ss, nil
}

// waitReady waits until gnome-keyring owns its bus name and its login
// collection is unlocked: it may take the name before it has read its
// password.
func (ss *secretService) waitReady() error {
	conn, err := dbus.Connect(ss.addr)
	if err != nil {
		return fmt.Errorf("connect to the private session bus: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0,
			"org.freedesktop.secrets").Store(&owned)
		if err != nil {
			return fmt.Errorf("ask the bus whether the Secret Service runs: %w", err)
		}
		if owned {
			v, err := conn.Object("org.freedesktop.secrets",
				"/org/freedesktop/secrets/collection/login").
				GetProperty("org.freedesktop.Secret.Collection.Locked")
			if locked, _ := v.Value().(bool); err == nil && !locked {
				return nil
			}
		}
		if time.Now().After(deadline) || ss.gkd.exited() {
			return fmt.Errorf("gnome-keyring did not unlock its login collection within %v; see %s",
				startTimeout, ss.gkd.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends gnome-keyring and the bus.
func (ss *secretService) stop() {
	if ss == nil {
		return
	}
	ss.gkd.stop()
	ss.bus.stop()
}
