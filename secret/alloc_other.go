//go:build !linux

package secret

import "errors"

// osAlloc returns heap memory: this platform's build does not lock or hide
// memory from core dumps, and says so through MemoryStats.
func osAlloc(n int) ([]byte, error) {
	return make([]byte, n), errors.New("memory locking is not implemented on this platform")
}

func release(b []byte) {}
