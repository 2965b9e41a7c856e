//go:build !linux

package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden sets the core size limit to zero. This platform has no
// PR_SET_DUMPABLE; on macOS, hardened-runtime signing is what keeps other
// processes from attaching.
func Harden() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE): %w", err)
	}
	return nil
}
