package peer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// FileSHA256 returns the hex SHA-256 of the regular file at path, as an
// exe_sha256 rule would pin it. It serves hypothetical callers and tools
// that print a binary's hash; running processes are hashed with ExeSHA256,
// which reads the binary the process actually runs.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open executable: %w", err)
	}
	defer f.Close()
	return hashFile(f)
}

// hashSettle is how old a file's last change must be before its hash is
// cached. File timestamps are taken from a coarse clock, so two writes a
// few milliseconds apart can leave the same mtime and ctime; a file whose
// ctime is older than this when it is hashed cannot change again without
// getting a later ctime.
const hashSettle = 2 * time.Second

// hashCacheMax bounds the number of cached hashes.
const hashCacheMax = 512

// fileKey identifies one version of a file's content: the inode, and the
// size and timestamps that every write changes. The ctime cannot be set by
// an unprivileged process (utimes sets it to the current time), so a write
// after hashing always gives a different key once the file has settled.
type fileKey struct {
	dev, ino uint64
	size     int64
	mtime    int64
	ctime    int64
}

var hashCache = struct {
	sync.Mutex
	m map[fileKey]string
}{m: make(map[fileKey]string)}

// hashFile hashes f from its start, consulting and filling the cache. The
// result is cached only if the file did not change while it was read and
// its last change is older than hashSettle.
func hashFile(f *os.File) (string, error) {
	before, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat executable: %w", err)
	}
	key, cacheable := keyOf(before)
	if !before.Mode().IsRegular() {
		return "", fmt.Errorf("hash executable: not a regular file")
	}
	if cacheable {
		hashCache.Lock()
		sum, ok := hashCache.m[key]
		hashCache.Unlock()
		if ok {
			return sum, nil
		}
	}

	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		return "", fmt.Errorf("read executable: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))

	after, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat executable: %w", err)
	}
	key2, ok2 := keyOf(after)
	if !ok2 || key2 != key {
		return "", fmt.Errorf("hash executable: file changed while it was read")
	}
	if cacheable && time.Since(time.Unix(0, key.ctime)) > hashSettle {
		hashCache.Lock()
		if len(hashCache.m) >= hashCacheMax {
			for k := range hashCache.m {
				delete(hashCache.m, k)
				break
			}
		}
		hashCache.m[key] = sum
		hashCache.Unlock()
	}
	return sum, nil
}
