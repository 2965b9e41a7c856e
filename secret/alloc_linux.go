//go:build linux

package secret

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// osAlloc maps n bytes (rounded up to whole pages) of anonymous memory,
// excludes it from core dumps and locks it in RAM. A failure to lock (the
// RLIMIT_MEMLOCK limit) is returned but the memory is still usable.
func osAlloc(n int) ([]byte, error) {
	page := os.Getpagesize()
	size := (n + page - 1) / page * page
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		// Out of address space is not something a credential agent can
		// work around; fall back to the heap rather than crash.
		return make([]byte, n), fmt.Errorf("mmap: %w", err)
	}
	if err := unix.Madvise(b, unix.MADV_DONTDUMP); err != nil {
		return b, fmt.Errorf("madvise(MADV_DONTDUMP): %w", err)
	}
	if err := unix.Mlock(b); err != nil {
		return b, fmt.Errorf("mlock: %w (raise RLIMIT_MEMLOCK)", err)
	}
	return b, nil
}

func release(b []byte) {
	if len(b) == 0 {
		return
	}
	_ = unix.Munlock(b)
	_ = unix.Munmap(b)
}
