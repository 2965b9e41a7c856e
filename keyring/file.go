package keyring

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/airtrain-ai/credd/secret"
)

const (
	// maxWorkFactor is the largest scrypt work factor the file backend
	// writes or reads (age's own limit for reading).
	maxWorkFactor = 22
	// maxFileSize bounds the encrypted file the backend reads.
	maxFileSize = 64 << 20
	// fileVersion is the version of the document inside the file.
	fileVersion = 1
)

// fileBackend stores every credential in one age-encrypted file, sealed
// with an scrypt recipient built from the user's passphrase, so that
// `age -d` opens it too. Each Put and Delete reads the file, changes it
// and writes it again whole, atomically; no credential is kept in memory
// between calls, only the passphrase.
type fileBackend struct {
	opts Options

	// mu serializes Unlock, Put, Delete and Lock, and guards pass.
	mu   sync.Mutex
	pass *secret.Secret // nil while locked
}

var _ Backend = (*fileBackend)(nil)

func newFile(opts Options) *fileBackend {
	return &fileBackend{opts: opts}
}

// fileDoc is the plaintext inside the file.
type fileDoc struct {
	Version     int          `json:"version"`
	Credentials []*recordDoc `json:"credentials"`
}

// Kind returns "file".
func (b *fileBackend) Kind() string { return "file" }

// NeedsPassphrase reports true.
func (b *fileBackend) NeedsPassphrase() bool { return true }

// Unlock decrypts the file with passphrase and returns its records. A
// missing file is an empty store: Unlock creates nothing, and the first
// Put creates the file with this passphrase.
func (b *fileBackend) Unlock(ctx context.Context, passphrase *secret.Secret) ([]*Record, error) {
	if passphrase.Len() == 0 {
		return nil, fmt.Errorf("unlock %s: a passphrase is required: %w",
			b.opts.File, ErrBadPassphrase)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("unlock %s: %w: %w", b.opts.File, err, ErrUnavailable)
	}
	b.mu.Lock()
	defer b.mu.Unlock()

	docs, err := b.readLocked(passphrase)
	if err != nil {
		return nil, err
	}
	recs := make([]*Record, 0, len(docs))
	for _, d := range docs {
		rec, err := d.record()
		if err != nil {
			wipeDocs(docs)
			return nil, fmt.Errorf("read %s: credential %q: %v: %w",
				b.opts.File, d.Name, err, ErrCorrupt)
		}
		recs = append(recs, rec)
	}

	b.pass.Wipe()
	b.pass = passphrase.Clone()
	return recs, nil
}

// Put replaces or adds rec and rewrites the file.
func (b *fileBackend) Put(ctx context.Context, rec *Record) error {
	if err := checkRecord(rec); err != nil {
		return err
	}
	return b.update(ctx, "store credential "+rec.Name, func(docs []*recordDoc) []*recordDoc {
		i := slices.IndexFunc(docs, func(d *recordDoc) bool { return d.Name == rec.Name })
		if i >= 0 {
			docs[i].wipe()
			docs = slices.Delete(docs, i, i+1)
		}
		return append(docs, docOf(cloneRecord(rec)))
	})
}

// Delete removes the named credential and rewrites the file; it writes
// nothing when the name is not stored.
func (b *fileBackend) Delete(ctx context.Context, name string) error {
	return b.update(ctx, "delete credential "+name, func(docs []*recordDoc) []*recordDoc {
		i := slices.IndexFunc(docs, func(d *recordDoc) bool { return d.Name == name })
		if i < 0 {
			return nil
		}
		docs[i].wipe()
		return slices.Delete(docs, i, i+1)
	})
}

// Lock wipes the passphrase.
func (b *fileBackend) Lock() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pass.Wipe()
	b.pass = nil
}

// update reads the file, applies change and writes the result. A nil
// result from change means there is nothing to write.
func (b *fileBackend) update(ctx context.Context, what string,
	change func([]*recordDoc) []*recordDoc) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pass == nil {
		return fmt.Errorf("%s: %w", what, ErrNotUnlocked)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w: %w", what, err, ErrUnavailable)
	}

	docs, err := b.readLocked(b.pass)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	next := change(docs)
	if next == nil {
		wipeDocs(docs)
		return nil
	}
	err = b.writeLocked(next)
	wipeDocs(next)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// readLocked returns the documents in the file, or none when it does not
// exist. The caller holds b.mu.
func (b *fileBackend) readLocked(pass *secret.Secret) ([]*recordDoc, error) {
	path := b.opts.File
	data, err := readSafe(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(string(pass.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("read %s: %v: %w", path, err, ErrBadPassphrase)
	}
	docs, err := decodeFile(data, id)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return docs, nil
}

// readSafe reads the file at path after checking that it is a regular
// file, not a symbolic link, owned by the current user and closed to
// group and others. A missing file gives an error matching
// os.ErrNotExist.
func readSafe(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		if isSymlinkErr(err) {
			return nil, fmt.Errorf("read %s: it is a symbolic link: %w", path, ErrInsecure)
		}
		return nil, fmt.Errorf("read credentials file: %w", err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read credentials file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: it is not a regular file: %w", path, ErrInsecure)
	}
	if err := checkOwner(fi); err != nil {
		return nil, fmt.Errorf("read %s: %v: %w", path, err, ErrInsecure)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("read %s: its mode %04o lets group or others in "+
			"(run chmod 600 on it): %w", path, perm, ErrInsecure)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("read %s: it is larger than %d bytes: %w",
			path, maxFileSize, ErrCorrupt)
	}

	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read %s: it is larger than %d bytes: %w",
			path, maxFileSize, ErrCorrupt)
	}
	return data, nil
}

// decodeFile decrypts data, binary or armored, with id and decodes the
// document inside. The error wraps ErrBadPassphrase when id does not open
// the file, ErrCorrupt for anything else. A flipped bit in the header's
// scrypt stanza derives a wrong key and so reads as a wrong passphrase.
func decodeFile(data []byte, id age.Identity) ([]*recordDoc, error) {
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header)) {
		src = armor.NewReader(src)
	}
	r, err := age.Decrypt(src, id)
	if errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, ErrBadPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt: %v: %w", err, ErrCorrupt)
	}
	plain, err := io.ReadAll(r)
	defer secret.Wipe(plain)
	if err != nil {
		return nil, fmt.Errorf("decrypt: the file is truncated or was modified (%v): %w",
			err, ErrCorrupt)
	}

	var doc fileDoc
	dec := json.NewDecoder(bytes.NewReader(plain))
	if err := dec.Decode(&doc); err != nil {
		wipeDocs(doc.Credentials)
		// The JSON error names an offset or a type, never the value.
		return nil, fmt.Errorf("decode: %v: %w", err, ErrCorrupt)
	}
	if doc.Version != fileVersion {
		wipeDocs(doc.Credentials)
		return nil, fmt.Errorf("decode: unknown format version %d (this credd reads %d): %w",
			doc.Version, fileVersion, ErrCorrupt)
	}
	seen := make(map[string]bool, len(doc.Credentials))
	for _, d := range doc.Credentials {
		if d == nil || seen[d.Name] {
			wipeDocs(doc.Credentials)
			return nil, fmt.Errorf("decode: empty or repeated credential: %w", ErrCorrupt)
		}
		seen[d.Name] = true
	}
	return doc.Credentials, nil
}

// writeLocked encrypts docs and replaces the file atomically: a temporary
// file in the same folder, synced, renamed over the old one, and the folder
// synced. The caller holds b.mu.
func (b *fileBackend) writeLocked(docs []*recordDoc) error {
	path := b.opts.File
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return err
	}

	slices.SortFunc(docs, func(a, b *recordDoc) int {
		return strings.Compare(a.Name, b.Name)
	})
	plain, err := json.MarshalIndent(fileDoc{Version: fileVersion, Credentials: docs}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %v", err)
	}
	defer secret.Wipe(plain)
	rcpt, err := age.NewScryptRecipient(string(b.pass.Reveal()))
	if err != nil {
		return fmt.Errorf("encrypt credentials: %v", err)
	}
	rcpt.SetWorkFactor(b.opts.WorkFactor)

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("set mode of temporary file: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	w, err := age.Encrypt(bw, rcpt)
	if err != nil {
		return fmt.Errorf("encrypt credentials: %v", err)
	}
	if _, err := w.Write(plain); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	ok = true
	return syncDir(dir)
}

// ensureDir creates dir with mode 0700 when it does not exist.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create folder for credentials: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("set mode of credentials folder: %w", err)
	}
	return nil
}

// syncDir flushes a rename in dir to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open folder to sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

func wipeDocs(docs []*recordDoc) {
	for _, d := range docs {
		if d != nil {
			d.wipe()
		}
	}
}
