package peer

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("hello"))
	want := hex.EncodeToString(sum[:])
	if got, err := FileSHA256(p); err != nil || got != want {
		t.Fatalf("FileSHA256 = %q, %v; want %q", got, err, want)
	}
	if _, err := FileSHA256(filepath.Dir(p)); err == nil {
		t.Error("FileSHA256(directory) succeeded")
	}
}

// TestHashCacheSeesRewrite rewrites a file with content of the same size,
// after its first version was cached, and restores the mtime: the ctime
// still changes, so the new content must be hashed.
func TestHashCacheSeesRewrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("version-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	// Wait until the ctime set by Chtimes has settled, so the first hash
	// is cached.
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		k, ok := keyOf(fi)
		if !ok || time.Since(time.Unix(0, k.ctime)) > hashSettle || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	first, err := FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("version-2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	second, err := FileSHA256(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("version-2"))
	if second == first || second != hex.EncodeToString(sum[:]) {
		t.Fatalf("hash after rewrite = %q, want the new content's hash", second)
	}
}
