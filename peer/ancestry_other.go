//go:build !linux

package peer

import (
	"errors"
	"os"
)

// MaxAncestors bounds how many parents Ancestors walks up.
const MaxAncestors = 64

// ErrNoUnit is returned by Unit when the process is not in a systemd unit.
var ErrNoUnit = errors.New("process is not in a systemd unit")

// ForPID returns ErrNotImplemented.
func ForPID(pid int) (*Identity, error) { return nil, ErrNotImplemented }

// Same reports false: without /proc the package cannot tell.
func Same(id *Identity) bool { return false }

// Ancestors returns ErrNotImplemented.
func Ancestors(pid int) ([]string, error) { return nil, ErrNotImplemented }

// ExeSHA256 returns ErrNotImplemented.
func ExeSHA256(pid int) (string, error) { return "", ErrNotImplemented }

// ExeSHA256Of returns ErrNotImplemented.
func ExeSHA256Of(id *Identity) (string, error) { return "", ErrNotImplemented }

// Unit returns ErrNotImplemented. On macOS the equivalent would be the
// caller's launchd label, which this package does not read yet, so unit
// rules never match there.
func Unit(pid int) (string, error) { return "", ErrNotImplemented }

// keyOf reports false: file versions are not cached on this OS.
func keyOf(fi os.FileInfo) (fileKey, bool) { return fileKey{}, false }

// Parent returns ErrNotImplemented.
func Parent(pid int) (int, error) { return 0, ErrNotImplemented }
