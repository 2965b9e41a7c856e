package e2e

import (
	"strings"
	"testing"

	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/internal/testenv"
)

// TestSystemBackendOnGnomeKeyring stores a key in a real gnome-keyring
// Secret Service through credd, and reads it back from a new daemon that
// unlocks from the keyring at start.
func TestSystemBackendOnGnomeKeyring(t *testing.T) {
	kr := testenv.StartSecretService(t)
	dir := t.TempDir()
	d := daemontest.Start(t, daemontest.Options{Backend: "system", Env: kr.Env, Dir: dir})
	if st := d.MustRun("", "status"); !strings.Contains(st, "backend:     system") || !strings.Contains(st, "unlocked") {
		t.Fatalf("status on the system backend: %s", st)
	}
	const value = "sk-from-the-os-keyring-0123456789"
	d.MustRun(value+"\n", "set", "keyring-key")
	d.Stop()

	// secret-tool sees the item under credd's service.
	tool := testenv.LookPath(t, "secret-tool", "libsecret-tools")
	out, err := execCommand(tool, "search", "--all", "service", "airtrain-credd").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "keyring-key") {
		t.Fatalf("secret-tool search does not list the item: %v: %s", err, out)
	}

	d2 := daemontest.Start(t, daemontest.Options{Backend: "system", Env: kr.Env, Dir: dir})
	if got := d2.MustRun("", "get", "keyring-key"); got != value+"\n" {
		t.Fatalf("a new daemon read %q from the keyring", got)
	}
	if strings.Contains(d2.Stderr(), value) {
		t.Fatal("the daemon log holds the value")
	}
}
