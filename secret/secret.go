// Package secret holds credential values so that they cannot be printed by
// accident.
//
// A [Secret] owns a copy of its bytes in memory that the package allocates
// itself: on Linux that memory is locked into RAM where the limit allows it
// and excluded from core dumps. Every printed form of a Secret (fmt verbs,
// String, GoString, JSON, text, zerolog fields, errors that wrap it) is the
// fixed placeholder [Redacted]. The only way to the bytes is [Secret.Reveal],
// which is easy to find with grep, and [Secret.Wipe] zeroes them.
//
// Go itself may still copy a value: a string built from the bytes, a JSON
// encoder's buffer, a socket write buffer. Those copies live on the ordinary
// heap until the garbage collector reuses the memory. Keep them short-lived
// and never convert a secret to a string where a byte slice will do.
package secret

import (
	"crypto/subtle"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// Redacted is what every printed form of a Secret shows.
const Redacted = "<redacted>"

// Secret is a credential value that never prints. The zero value is an empty
// secret. A Secret is safe for concurrent use; Wipe waits for nothing, so a
// caller that may race a reader against Wipe must hold its own lock.
type Secret struct {
	mu  sync.Mutex
	buf []byte // from the package allocator; len is the value's length
}

// New returns a Secret holding a copy of b. The caller may wipe b afterwards.
func New(b []byte) *Secret {
	s := &Secret{buf: alloc(len(b))}
	copy(s.buf, b)
	return s
}

// FromString returns a Secret holding a copy of v. The string itself cannot be
// wiped; prefer New where the value arrives as bytes.
func FromString(v string) *Secret {
	s := &Secret{buf: alloc(len(v))}
	copy(s.buf, v)
	return s
}

// Reveal returns the secret's bytes. The slice aliases the Secret's memory:
// it must not be modified or kept past a Wipe. Every use of Reveal is a place
// where a value leaves its protection, so keep them few.
func (s *Secret) Reveal() []byte {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf[:len(s.buf):len(s.buf)]
}

// Len returns the length of the value in bytes.
func (s *Secret) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// Equal reports whether s and o hold the same bytes, in constant time for
// values of equal length.
func (s *Secret) Equal(o *Secret) bool {
	return subtle.ConstantTimeCompare(s.Reveal(), o.Reveal()) == 1
}

// Clone returns an independent copy of s.
func (s *Secret) Clone() *Secret {
	return New(s.Reveal())
}

// Wipe zeroes the value and returns its memory to the allocator. A wiped
// Secret is empty.
func (s *Secret) Wipe() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	free(s.buf)
	s.buf = nil
}

// String returns [Redacted].
func (s *Secret) String() string { return Redacted }

// GoString returns [Redacted], so %#v hides the value too.
func (s *Secret) GoString() string { return Redacted }

// Format prints [Redacted] for every verb and flag.
func (s *Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }

// MarshalJSON encodes the placeholder, never the value.
func (s *Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the placeholder, never the value.
func (s *Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalZerologObject adds only the placeholder to a zerolog event.
func (s *Secret) MarshalZerologObject(e *zerolog.Event) { e.Str("secret", Redacted) }

var (
	_ fmt.Formatter              = (*Secret)(nil)
	_ fmt.GoStringer             = (*Secret)(nil)
	_ zerolog.LogObjectMarshaler = (*Secret)(nil)
)

// Wipe zeroes b in place. Use it for transient buffers that held a value.
func Wipe(b []byte) {
	clear(b)
}
