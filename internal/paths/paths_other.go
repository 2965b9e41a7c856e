//go:build !darwin

package paths

import (
	"os"
	"path/filepath"
	"strconv"
)

// DefaultSocket returns the socket path that ignores $AIRTRAIN_CRED_SOCK:
// $XDG_RUNTIME_DIR/airtrain/credd.sock, else airtrain-<uid>/credd.sock in
// the system temp folder. The first is where the systemd socket unit puts
// it.
func DefaultSocket() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "airtrain", "credd.sock")
	}
	return filepath.Join(os.TempDir(), "airtrain-"+strconv.Itoa(os.Getuid()), "credd.sock")
}
