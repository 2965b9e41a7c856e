package secret

import (
	"math/bits"
	"sync"
)

// The allocator hands out slots from chunks of protected memory, grouped by
// size class (powers of two from minClass to maxClass). A freed slot is
// zeroed and kept on its class's free list; chunks are never returned, which
// bounds fragmentation to one chunk per class. Values larger than maxClass
// get protected memory of their own, released on free.
const (
	minClassShift = 5  // 32 bytes
	maxClassShift = 16 // 64 KiB
	chunkSize     = 256 << 10
)

var pool struct {
	mu    sync.Mutex
	free  [maxClassShift + 1][][]byte // free slots per class, by shift
	big   map[*byte][]byte            // dedicated regions, by first byte
	stats Stats
}

// Stats describes the protected memory the package holds.
type Stats struct {
	Reserved int  // bytes of protected memory obtained from the OS
	InUse    int  // bytes of it handed out to live secrets (by slot size)
	Locked   bool // whether all of it is locked in RAM
	// LockError is why memory could not be locked, empty when it was.
	LockError string
}

// MemoryStats reports the allocator's current state.
func MemoryStats() Stats {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	st := pool.stats
	st.Locked = st.LockError == ""
	return st
}

func classOf(n int) uint {
	if n <= 1<<minClassShift {
		return minClassShift
	}
	return uint(bits.Len(uint(n - 1)))
}

func alloc(n int) []byte {
	if n == 0 {
		return nil
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()

	shift := classOf(n)
	if shift > maxClassShift {
		region := protect(n)
		if pool.big == nil {
			pool.big = make(map[*byte][]byte)
		}
		pool.big[&region[0]] = region
		pool.stats.InUse += len(region)
		return region[:n]
	}
	if len(pool.free[shift]) == 0 {
		chunk := protect(chunkSize)
		size := 1 << shift
		for off := 0; off+size <= len(chunk); off += size {
			pool.free[shift] = append(pool.free[shift], chunk[off:off+size:off+size])
		}
	}
	list := pool.free[shift]
	slot := list[len(list)-1]
	pool.free[shift] = list[:len(list)-1]
	pool.stats.InUse += len(slot)
	// The slice keeps the slot's capacity, so free can find its class.
	return slot[:n]
}

func free(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	clear(b)

	pool.mu.Lock()
	defer pool.mu.Unlock()
	if region, ok := pool.big[&b[0]]; ok {
		delete(pool.big, &b[0])
		pool.stats.InUse -= len(region)
		pool.stats.Reserved -= len(region)
		release(region)
		return
	}
	pool.stats.InUse -= len(b)
	shift := classOf(len(b))
	pool.free[shift] = append(pool.free[shift], b)
}

// protectLocked obtains memory from the OS and records it. The caller holds
// pool.mu.
func protect(n int) []byte {
	region, lockErr := osAlloc(n)
	pool.stats.Reserved += len(region)
	if lockErr != nil && pool.stats.LockError == "" {
		pool.stats.LockError = lockErr.Error()
	}
	return region
}
