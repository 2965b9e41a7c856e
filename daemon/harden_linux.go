//go:build linux

package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Harden makes the process non-dumpable (no core file, no ptrace by other
// processes of the same user, /proc/<pid>/mem unreadable to them) and sets
// the core size limit to zero. RLIMIT_CORE alone is not enough: a
// core_pattern that pipes to a handler ignores it.
func Harden() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}
	return noCore()
}

// noCore sets RLIMIT_CORE to zero. A limit already at zero (systemd's
// LimitCORE=0, where a syscall filter may also forbid setrlimit) is fine.
func noCore() error {
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &cur); err == nil && cur.Cur == 0 && cur.Max == 0 {
		return nil
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE): %w", err)
	}
	return nil
}
