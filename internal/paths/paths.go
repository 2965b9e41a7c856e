// Package paths finds credd's files the same way in the daemon and in every
// client: the socket, the audit log, the encrypted store and the config, by
// environment first and XDG defaults after. It also checks that a socket and
// its folder are private to the current user before anyone trusts them.
package paths

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// SocketEnv names the environment variable that points at the socket.
const SocketEnv = "AIRTRAIN_CRED_SOCK"

// MaxSocketPath is the longest socket path the kernel accepts (sun_path
// holds 108 bytes with its terminating NUL on Linux, 104 on macOS).
const MaxSocketPath = 103

// Socket returns the socket path: $AIRTRAIN_CRED_SOCK when set, else
// DefaultSocket.
func Socket() string {
	if p := os.Getenv(SocketEnv); p != "" {
		return p
	}
	return DefaultSocket()
}

func xdg(env, fallback string) string {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, fallback)
}

// StateDir returns $XDG_STATE_HOME/airtrain (default ~/.local/state).
func StateDir() string { return filepath.Join(xdg("XDG_STATE_HOME", ".local/state"), "airtrain") }

// DataDir returns $XDG_DATA_HOME/airtrain (default ~/.local/share).
func DataDir() string { return filepath.Join(xdg("XDG_DATA_HOME", ".local/share"), "airtrain") }

// ConfigDir returns $XDG_CONFIG_HOME/airtrain (default ~/.config).
func ConfigDir() string { return filepath.Join(xdg("XDG_CONFIG_HOME", ".config"), "airtrain") }

// AuditLog returns the default audit log path.
func AuditLog() string { return filepath.Join(StateDir(), "audit.log") }

// ConfigFile returns the default config file path.
func ConfigFile() string { return filepath.Join(ConfigDir(), "credd.toml") }

// ErrUnsafe is wrapped by every error that refuses a path because another
// user could reach or replace it.
var ErrUnsafe = errors.New("unsafe path")

// PrepareSocketDir creates the socket's folder 0700 if it is missing, and
// refuses an existing one that is a symlink, not owned by the current user,
// or open to the group or others. It never changes an existing folder.
func PrepareSocketDir(sock string) error {
	if len(sock) > MaxSocketPath {
		return fmt.Errorf("socket path %s is %d bytes long; the limit is %d: choose a shorter path", sock, len(sock), MaxSocketPath)
	}
	dir := filepath.Dir(sock)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		// A missing parent (a fresh $XDG_RUNTIME_DIR is always there, a
		// custom path may not be) is created 0700 too.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create socket folder: %w", err)
		}
	}
	return CheckPrivateDir(dir)
}

// CheckPrivateDir returns an error wrapping ErrUnsafe unless dir is a real
// folder (not a symlink) owned by the current user with no group or other
// permissions.
func CheckPrivateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check socket folder: %w", err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: socket folder %s is a symlink; remove it or choose another path", ErrUnsafe, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a folder", ErrUnsafe, dir)
	}
	if uid, ok := owner(st); ok && uid != os.Getuid() {
		return fmt.Errorf("%w: socket folder %s belongs to uid %d, not to you (uid %d)", ErrUnsafe, dir, uid, os.Getuid())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: socket folder %s has mode %04o; it must not be open to group or others (chmod 700 %s)", ErrUnsafe, dir, perm, dir)
	}
	return nil
}

// CheckSocket verifies, before a client sends anything, that sock is a
// socket owned by the current user, not open to others, in a private
// folder: an impostor's socket is refused.
func CheckSocket(sock string) error {
	st, err := os.Lstat(sock)
	if err != nil {
		return err // nothing there: no agent, nothing to trust or refuse
	}
	if err := CheckPrivateDir(filepath.Dir(sock)); err != nil {
		return err
	}
	if st.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%w: %s is not a socket", ErrUnsafe, sock)
	}
	if uid, ok := owner(st); ok && uid != os.Getuid() {
		return fmt.Errorf("%w: socket %s belongs to uid %d, not to you (uid %d)", ErrUnsafe, sock, uid, os.Getuid())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: socket %s has mode %04o; it must not be open to group or others", ErrUnsafe, sock, perm)
	}
	return nil
}

func owner(st fs.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
