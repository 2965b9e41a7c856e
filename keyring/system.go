package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/airtrain-ai/credd/secret"
)

// indexUser is the go-keyring user of the item that lists the stored
// names. A credential name cannot start with '.', so it never collides.
const indexUser = ".index"

// systemName is what the OS keyring is called in messages.
var systemName = map[string]string{
	"darwin": "login Keychain",
	"linux":  "Secret Service",
}[runtime.GOOS]

func init() {
	if systemName == "" {
		systemName = "system keyring"
	}
}

// errItemNotFound reports that an item does not exist; it never leaves the
// package.
var errItemNotFound = errors.New("keyring item not found")

// systemBackend stores each credential as one go-keyring item under the
// service name, its secret a JSON document of the record, plus an index
// item listing the names, since go-keyring cannot enumerate.
//
// Writes keep the index safe to trust: an add writes the item, then the
// index; a delete writes the index, then removes the item. A crash between
// the two leaves either an item the index does not name, which a later Put
// of that name replaces and a Delete removes, or an index naming a missing
// item, which Unlock reports and skips.
type systemBackend struct {
	opts Options
	// calls holds one token per go-keyring call in flight. A call given up
	// at its deadline keeps its token until it returns, so a hung keyring
	// costs one stuck goroutine, not one per request.
	calls chan struct{}

	// mu serializes Unlock, Put, Delete and Lock, and guards the fields
	// below.
	mu       sync.Mutex
	unlocked bool
	names    map[string]bool // names in the index as last read or written
}

var _ Backend = (*systemBackend)(nil)

func newSystem(opts Options) *systemBackend {
	return &systemBackend{opts: opts, calls: make(chan struct{}, 1)}
}

// Kind returns "system".
func (b *systemBackend) Kind() string { return "system" }

// NeedsPassphrase reports false: the OS unlocks its keyring.
func (b *systemBackend) NeedsPassphrase() bool { return false }

// indexDoc is the index item's secret.
type indexDoc struct {
	Version int      `json:"version"`
	Names   []string `json:"names"`
}

// Unlock reads the index and then every item it names: one go-keyring call
// per item plus one for the index. An indexed name whose item is missing is
// logged and skipped, as is an item that cannot be decoded; the latter stays
// in the index so that it is never dropped by a later write.
func (b *systemBackend) Unlock(ctx context.Context, _ *secret.Secret) ([]*Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	names, err := b.readIndex(ctx)
	if err != nil {
		return nil, err
	}

	var recs []*Record
	kept := make(map[string]bool, len(names))
	for _, name := range names {
		rec, err := b.readItem(ctx, name)
		switch {
		case errors.Is(err, errItemNotFound):
			b.opts.Log.Warn().Str("credential", name).
				Msg("keyring index names a credential whose item is missing; skipping it")
			continue
		case errors.Is(err, ErrCorrupt):
			b.opts.Log.Warn().Str("credential", name).Err(err).
				Msg("keyring item cannot be decoded; skipping it")
			kept[name] = true
			continue
		case err != nil:
			for _, r := range recs {
				r.Wipe()
			}
			return nil, err
		}
		kept[name] = true
		recs = append(recs, rec)
	}
	b.names = kept
	b.unlocked = true
	return recs, nil
}

// Put stores rec as its own item and, when the name is new, adds it to the
// index first.
func (b *systemBackend) Put(ctx context.Context, rec *Record) error {
	if err := checkRecord(rec); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.unlocked {
		return fmt.Errorf("store credential: %w", ErrNotUnlocked)
	}

	data, err := json.Marshal(docOf(rec))
	if err != nil {
		return fmt.Errorf("encode credential %s: %v", rec.Name, err)
	}
	defer secret.Wipe(data)

	// The index is written first: a crash between the two writes leaves
	// an index entry without its item, which Unlock skips, rather than an
	// item no index names, which Unlock could never find.
	added := !b.names[rec.Name]
	if added {
		if err := b.writeIndex(ctx, b.sortedNames(rec.Name, "")); err != nil {
			return err
		}
	}
	// go-keyring takes a string: that copy cannot be wiped.
	err = b.call(ctx, "write credential "+rec.Name, func() error {
		return gokeyring.Set(b.opts.Service, rec.Name, string(data))
	})
	if err != nil {
		if added {
			// Best effort: take the name back out of the index.
			_ = b.writeIndex(ctx, b.sortedNames("", rec.Name))
		}
		return err
	}
	b.names[rec.Name] = true
	return nil
}

// Delete removes name from the index, then removes its item. It removes
// the item even when the index does not name it.
func (b *systemBackend) Delete(ctx context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.unlocked {
		return fmt.Errorf("delete credential: %w", ErrNotUnlocked)
	}

	if b.names[name] {
		if err := b.writeIndex(ctx, b.sortedNames("", name)); err != nil {
			return err
		}
		delete(b.names, name)
	}
	err := b.call(ctx, "delete credential "+name, func() error {
		return gokeyring.Delete(b.opts.Service, name)
	})
	if errors.Is(err, errItemNotFound) {
		return nil
	}
	return err
}

// Lock forgets the index; the OS keeps the items.
func (b *systemBackend) Lock() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unlocked = false
	b.names = nil
}

// probe reports whether the keyring answers: a read of the index that finds
// it or finds nothing both count.
func (b *systemBackend) probe(ctx context.Context) error {
	err := b.call(ctx, "probe the keyring", func() error {
		_, err := gokeyring.Get(b.opts.Service, indexUser)
		return err
	})
	if errors.Is(err, errItemNotFound) {
		return nil
	}
	return err
}

// readIndex returns the names the index lists, or none when there is no
// index yet.
func (b *systemBackend) readIndex(ctx context.Context) ([]string, error) {
	var raw string
	err := b.call(ctx, "read the keyring index", func() error {
		var err error
		raw, err = gokeyring.Get(b.opts.Service, indexUser)
		return err
	})
	if errors.Is(err, errItemNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var idx indexDoc
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		return nil, fmt.Errorf("read the keyring index (service %s, user %s): %v: %w",
			b.opts.Service, indexUser, err, ErrCorrupt)
	}
	return idx.Names, nil
}

// readItem returns the record stored under name.
func (b *systemBackend) readItem(ctx context.Context, name string) (*Record, error) {
	var raw string
	err := b.call(ctx, "read credential "+name, func() error {
		var err error
		raw, err = gokeyring.Get(b.opts.Service, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	var doc recordDoc
	// The JSON error names a position, never the value.
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		doc.wipe()
		return nil, fmt.Errorf("decode credential %s: %v: %w", name, err, ErrCorrupt)
	}
	doc.Name = name
	rec, err := doc.record()
	if err != nil {
		doc.wipe()
		return nil, fmt.Errorf("decode credential %s: %v: %w", name, err, ErrCorrupt)
	}
	return rec, nil
}

// writeIndex replaces the index item with names.
func (b *systemBackend) writeIndex(ctx context.Context, names []string) error {
	data, err := json.Marshal(indexDoc{Version: 1, Names: names})
	if err != nil {
		return fmt.Errorf("encode the keyring index: %v", err)
	}
	return b.call(ctx, "write the keyring index", func() error {
		return gokeyring.Set(b.opts.Service, indexUser, string(data))
	})
}

// sortedNames returns the known names plus add, minus remove, sorted. The
// caller holds b.mu.
func (b *systemBackend) sortedNames(add, remove string) []string {
	out := make([]string, 0, len(b.names)+1)
	for n := range b.names {
		if n != remove {
			out = append(out, n)
		}
	}
	if add != "" && !b.names[add] {
		out = append(out, add)
	}
	slices.Sort(out)
	return out
}

// call runs one go-keyring call under the backend's timeout (or ctx's
// deadline, if sooner). go-keyring cannot be cancelled, so the call runs
// in its own goroutine and is abandoned at the deadline; it holds the
// backend's call token until it returns.
func (b *systemBackend) call(ctx context.Context, what string, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()

	select {
	case b.calls <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: an earlier call to the %s has not returned after %v: %w",
			what, systemName, b.opts.Timeout, ErrUnavailable)
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-b.calls }()
		done <- f()
	}()

	select {
	case err := <-done:
		return classify(what, err)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("%s: %w: %w", what, ctx.Err(), ErrUnavailable)
		}
		return fmt.Errorf("%s: the %s did not answer within %v "+
			"(a prompt may be waiting, or the service is stuck): %w",
			what, systemName, b.opts.Timeout, ErrUnavailable)
	}
}

// classify turns a go-keyring error into one of the package's errors,
// with a message that says what to do.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gokeyring.ErrNotFound) {
		return errItemNotFound
	}
	if errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return fmt.Errorf("%s: %w", what, ErrTooLarge)
	}

	var dbusErr dbus.Error
	if errors.As(err, &dbusErr) {
		switch dbusErr.Name {
		case "org.freedesktop.DBus.Error.ServiceUnknown",
			"org.freedesktop.DBus.Error.NameHasNoOwner":
			return fmt.Errorf("%s: no Secret Service is running on the D-Bus session bus "+
				"(start gnome-keyring or use the file backend): %w", what, ErrUnavailable)
		}
		return fmt.Errorf("%s: the Secret Service refused: %s: %w",
			what, dbusErr.Name, ErrUnavailable)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to unlock"):
		return fmt.Errorf("%s: the keyring is locked and was not unlocked "+
			"(unlock it in the desktop session, or use the file backend): %w",
			what, ErrUnavailable)
	case strings.Contains(msg, "session bus") || strings.Contains(msg, "dbus:"):
		return fmt.Errorf("%s: cannot reach the D-Bus session bus (%v): %w",
			what, err, ErrUnavailable)
	}
	return fmt.Errorf("%s: the %s failed: %v: %w", what, systemName, err, ErrUnavailable)
}
