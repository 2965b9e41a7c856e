package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/internal/testenv"
)

// TestScreenLockLocks sends logind's Session.Lock signal on a private bus
// that credd takes for the system bus, as logind does when the screen
// locks, and expects credd to lock.
func TestScreenLockLocks(t *testing.T) {
	bus := testenv.SessionBus(t)
	send := testenv.LookPath(t, "dbus-send", "dbus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credd.toml")
	writeConfig(t, cfg, "lock_on_screen_lock = true\n")
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--config", cfg},
		Env: []string{"DBUS_SYSTEM_BUS_ADDRESS=" + bus.Address}})
	d.MustRun("v\n", "set", "k")

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Stderr(), "locking when the screen locks") {
		if time.Now().After(deadline) {
			t.Fatalf("credd never subscribed to the screen lock: %s", d.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := execCommand(send, "--bus="+bus.Address, "--type=signal",
		"/org/freedesktop/login1/session/_31", "org.freedesktop.login1.Session.Lock").CombinedOutput()
	if err != nil {
		t.Fatalf("dbus-send: %v: %s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, _, code := d.Run("", "get", "k"); code == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still unlocked after the screen-lock signal")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var screen bool
	for _, e := range d.Audit().Entries {
		screen = screen || (e.Event == "auto_lock" && e.Detail == "screen locked")
	}
	if !screen {
		t.Fatal("no auto_lock record for the screen lock")
	}
}
