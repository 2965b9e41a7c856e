// Package keyring stores credentials at rest. A [Backend] is read in full
// when the daemon unlocks and written one credential at a time after that;
// the daemon serves reads from memory and never asks a backend per request.
//
// Two backends exist: the OS keyring through go-keyring (Secret Service on
// Linux, the login Keychain on macOS) and an age-encrypted file. [Open]
// picks one by name, and "auto" picks the OS keyring when one answers.
package keyring

import (
	"context"
	"errors"
	"time"

	"github.com/airtrain-ai/credd/secret"
)

// Record is one credential with its values and history.
type Record struct {
	Name   string
	Type   string
	Fields map[string]*secret.Secret

	Created time.Time
	Updated time.Time
	// Checked is when the credential last passed a validation, or zero.
	Checked time.Time
	// Unchecked marks a credential stored without passing its format
	// check.
	Unchecked bool
	// Previous holds the fields replaced by the last rotation, for undo;
	// nil when there is nothing to undo.
	Previous map[string]*secret.Secret
}

// Wipe zeroes every value the record holds.
func (r *Record) Wipe() {
	for _, s := range r.Fields {
		s.Wipe()
	}
	for _, s := range r.Previous {
		s.Wipe()
	}
}

// Backend is storage at rest. Implementations are safe for concurrent use
// and bound every call by the context's deadline.
type Backend interface {
	// Kind names the backend: "system" or "file".
	Kind() string
	// NeedsPassphrase reports whether Unlock needs a passphrase.
	NeedsPassphrase() bool
	// Unlock reads every stored credential. The backend keeps whatever it
	// needs to write later (the file backend keeps the passphrase) until
	// Lock. The caller owns the returned records.
	Unlock(ctx context.Context, passphrase *secret.Secret) ([]*Record, error)
	// Put stores rec, replacing a credential of the same name. It is
	// called only while unlocked.
	Put(ctx context.Context, rec *Record) error
	// Delete removes the named credential; deleting a missing one is not
	// an error.
	Delete(ctx context.Context, name string) error
	// Lock forgets any key material kept since Unlock.
	Lock()
}

// Errors a backend returns, wrapped with detail. The daemon maps them to
// protocol error codes.
var (
	// ErrUnavailable: the store does not answer, is locked by its owner,
	// or did not answer in time (backend_unavailable).
	ErrUnavailable = errors.New("backend unavailable")
	// ErrBadPassphrase: the passphrase does not open the store (denied).
	ErrBadPassphrase = errors.New("wrong passphrase")
	// ErrCorrupt: the stored data cannot be read (backend_unavailable, with
	// the file and the reason in the message).
	ErrCorrupt = errors.New("stored data is damaged")
	// ErrNotUnlocked: Put or Delete was called before Unlock or after
	// Lock.
	ErrNotUnlocked = errors.New("backend is locked")
	// ErrTooLarge: the record is larger than the store accepts (the macOS
	// Keychain takes about 3000 bytes per item) (too_large).
	ErrTooLarge = errors.New("record too large for this store")
	// ErrInsecure: the store is not safe to read (a symbolic link, owned
	// by another user, or open to group or others). It wraps ErrCorrupt,
	// so a caller that only knows ErrCorrupt maps it the same way.
	ErrInsecure error = &childError{"store is not safe to read", ErrCorrupt}
)

// childError is a sentinel with its own text that also matches a more
// general sentinel with errors.Is.
type childError struct {
	msg    string
	parent error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.parent }
