package paths

import (
	"os"
	"path/filepath"
	"strconv"
)

// DefaultSocket returns the socket path that ignores $AIRTRAIN_CRED_SOCK:
// ~/Library/Application Support/airtrain/credd.sock, the path the launchd
// agent written by credctl install passes to credd. $XDG_RUNTIME_DIR is
// not consulted: launchd does not set it, so a daemon it starts and a shell
// that sets it would otherwise disagree. Without a home folder the socket
// goes to airtrain-<uid>/credd.sock in the system temp folder.
func DefaultSocket() string {
	home, err := os.UserHomeDir()
	if err != nil || !filepath.IsAbs(home) {
		return filepath.Join(os.TempDir(), "airtrain-"+strconv.Itoa(os.Getuid()), "credd.sock")
	}
	// Keep in step with install.DarwinSocket.
	return filepath.Join(home, "Library", "Application Support", "airtrain", "credd.sock")
}
