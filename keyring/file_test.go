package keyring

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/airtrain-ai/credd/internal/testenv"
	"github.com/airtrain-ai/credd/secret"
)

// testPass is the passphrase the file tests use. It protects nothing.
const testPass = "correct horse battery staple"

// openFile returns a file backend over path with a low work factor, so
// that the tests stay fast.
func openFile(t *testing.T, path string) *fileBackend {
	t.Helper()
	b, _, err := Open("file", Options{File: path, WorkFactor: 10})
	if err != nil {
		t.Fatalf("Open(file): %v", err)
	}
	return b.(*fileBackend)
}

// storeOne writes a file holding one credential and returns its path.
func storeOne(t *testing.T, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store", "credentials.age")
	b := openFile(t, path)
	if _, err := b.Unlock(testCtx(t), secret.FromString(testPass)); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := b.Put(testCtx(t), sample("one", map[string]string{"k": value})); err != nil {
		t.Fatalf("Put: %v", err)
	}
	return path
}

func TestFileContract(t *testing.T) {
	b := openFile(t, filepath.Join(t.TempDir(), "credentials.age"))
	testBackend(t, b, secret.FromString(testPass), false)
}

func TestFileMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "credentials.age")
	b := openFile(t, path)

	recs, err := b.Unlock(testCtx(t), secret.FromString(testPass))
	if err != nil || len(recs) != 0 {
		t.Fatalf("Unlock of a missing file = %d records, %v; want none, nil", len(recs), err)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Unlock created %s (stat: %v)", filepath.Dir(dir), err)
	}

	if err := b.Put(testCtx(t), sample("x", map[string]string{"k": "v"})); err != nil {
		t.Fatalf("first Put: %v", err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %04o, want %04o", p, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after a write, want only the file", len(entries))
	}

	// The passphrase from Unlock is the file's passphrase.
	b2 := openFile(t, path)
	_, err = b2.Unlock(testCtx(t), secret.FromString("another"))
	if !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("Unlock with a wrong passphrase = %v, want ErrBadPassphrase", err)
	}
	if _, err := b2.Unlock(testCtx(t), nil); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("Unlock with no passphrase = %v, want ErrBadPassphrase", err)
	}
}

func TestFileRefusesUnsafe(t *testing.T) {
	const value = "sk-never-print-this-value"
	pass := secret.FromString(testPass)
	tests := []struct {
		name string
		// damage changes the file at path and returns the path to open.
		damage func(t *testing.T, path string) string
		want   error
	}{
		{"symlink", func(t *testing.T, path string) string {
			link := path + ".link"
			if err := os.Symlink(path, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, ErrInsecure},
		{"group readable", func(t *testing.T, path string) string {
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrInsecure},
		{"other writable", func(t *testing.T, path string) string {
			if err := os.Chmod(path, 0o602); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrInsecure},
		{"not a file", func(t *testing.T, path string) string {
			return filepath.Dir(path)
		}, ErrInsecure},
		{"other owner", func(t *testing.T, path string) string {
			if os.Geteuid() != 0 {
				testenv.RequireCI(t, "root (to give a file to another user)")
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrInsecure},
		{"truncated", func(t *testing.T, path string) string {
			data := readAll(t, path)
			writeRaw(t, path, data[:len(data)-20])
			return path
		}, ErrCorrupt},
		{"truncated header", func(t *testing.T, path string) string {
			data := readAll(t, path)
			writeRaw(t, path, data[:40])
			return path
		}, ErrCorrupt},
		{"bit flipped in payload", func(t *testing.T, path string) string {
			data := readAll(t, path)
			data[len(data)-5] ^= 0x10
			writeRaw(t, path, data)
			return path
		}, ErrCorrupt},
		{"bit flipped in header MAC", func(t *testing.T, path string) string {
			data := readAll(t, path)
			i := bytes.Index(data, []byte("\n--- ")) + 6
			data[i] ^= 0x01
			writeRaw(t, path, data)
			return path
		}, ErrCorrupt},
		{"empty", func(t *testing.T, path string) string {
			writeRaw(t, path, nil)
			return path
		}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := storeOne(t, value)
			target := tt.damage(t, path)
			_, err := openFile(t, target).Unlock(testCtx(t), pass)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Unlock = %v, want %v", err, tt.want)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Unlock error %v does not match ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), target) {
				t.Errorf("Unlock error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), testPass) {
				t.Errorf("Unlock error shows a secret")
			}
		})
	}
}

func TestFileWorkFactor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.age")
	b, _, err := Open("file", Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unlock(testCtx(t), secret.FromString(testPass)); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(testCtx(t), sample("x", map[string]string{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	header := string(readAll(t, path))
	if !strings.Contains(header, "\n-> scrypt ") || !strings.Contains(header, " 16\n") {
		t.Errorf("file header does not use scrypt with work factor 16")
	}
	if _, _, err := Open("file", Options{File: path, WorkFactor: 30}); err == nil {
		t.Errorf("Open with work factor 30 succeeded")
	}
}

func TestFileDefaultPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data")
	if p, _ := DefaultFile(); p != "/data/airtrain/credentials.age" {
		t.Errorf("DefaultFile with XDG_DATA_HOME=/data = %q", p)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultFile(); p != "/home/u/.local/share/airtrain/credentials.age" {
		t.Errorf("DefaultFile with HOME=/home/u = %q", p)
	}
}

// TestFileAgeLibrary decrypts the file with filippo.io/age directly, as any
// age implementation would.
func TestFileAgeLibrary(t *testing.T) {
	path := storeOne(t, "v")
	id, err := age.NewScryptIdentity(testPass)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(readAll(t, path)), id)
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil || !bytes.Contains(plain, []byte(`"name": "one"`)) {
		t.Fatalf("decrypted file does not hold the credential (err %v)", err)
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeRaw(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
