package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/airtrain-ai/credd/internal/paths"
)

// ErrAlreadyRunning is returned by Listen when a live daemon answers on the
// socket path.
var ErrAlreadyRunning = errors.New("another credd is already serving this socket")

// Listener is a daemon's own socket. It holds a lock that no other daemon
// can take for the same path while it lives.
type Listener struct {
	*net.UnixListener
	lock *os.File
}

// Close stops listening and releases the lock. It does not remove the
// socket file: see RemoveSocket.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	l.lock.Close()
	return err
}

// Listen creates the socket at path: its folder 0700 (an existing unsafe
// folder is refused, never fixed), the socket 0600. A socket left by a dead
// daemon is replaced; a live one is left alone and ErrAlreadyRunning is
// returned.
//
// Two daemons starting at the same moment on a stale socket could both
// find it dead, and the second could remove the first one's fresh socket.
// So the check, the removal and the bind happen under an exclusive lock on
// <path>.daemon.lock, held for as long as the daemon listens.
func Listen(path string) (*Listener, error) {
	if err := paths.PrepareSocketDir(path); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(path+".daemon.lock", os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open daemon lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (it holds %s.daemon.lock)", ErrAlreadyRunning, path, path)
		}
		return nil, fmt.Errorf("lock %s.daemon.lock: %w", path, err)
	}
	ln, err := listenLocked(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &Listener{UnixListener: ln, lock: lock}, nil
}

func listenLocked(path string) (*net.UnixListener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
		}
		if live(path) {
			return nil, fmt.Errorf("%w: %s", ErrAlreadyRunning, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}

	// The umask makes the socket 0600 from the moment it exists, so no
	// other user can connect in the window before a chmod.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	// Close must not unlink: the daemon removes the socket itself, and
	// only if it is still the one it created.
	ln.SetUnlinkOnClose(false)
	return ln, nil
}

// live reports whether something accepts connections at path.
func live(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// RemoveSocket removes the socket at path if it is still the one ln
// created (same inode), so a daemon that lost its path to a newer one does
// not delete the newer one's socket.
func RemoveSocket(path string, created fs.FileInfo) {
	st, err := os.Lstat(path)
	if err != nil || created == nil || !os.SameFile(st, created) {
		return
	}
	_ = os.Remove(path)
}
