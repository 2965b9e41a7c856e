package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// unlock reads every credential from the backend and replaces what memory
// holds. On failure the credentials already in memory stay and keep being
// served. ttl of zero means the configured lifetime.
func (s *Server) unlock(ctx context.Context, pass *secret.Secret, ttl time.Duration) (int, time.Time, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	recs, err := s.cfg.Backend.Unlock(ctx, pass)
	if err != nil {
		return 0, time.Time{}, err
	}
	fresh := make(map[string]*keyring.Record, len(recs))
	for _, r := range recs {
		fresh[r.Name] = r
	}
	if ttl <= 0 {
		ttl = s.cfg.Lifetime
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.creds
	s.resetLocked(fresh)
	s.locked = false
	s.gen++
	s.setExpiryLocked(ttl)
	for _, r := range old {
		r.Wipe()
	}
	return len(fresh), s.expiresAt, nil
}

// setExpiryLocked arms the auto-lock timer. The caller holds mu.
func (s *Server) setExpiryLocked(ttl time.Duration) {
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.expiresAt = time.Time{}
	if ttl <= 0 {
		return
	}
	s.expiresAt = time.Now().Add(ttl)
	gen := s.gen
	s.expiry = time.AfterFunc(ttl, func() { s.expire(gen) })
}

// expire locks when the unlock of generation gen reaches its lifetime.
func (s *Server) expire(gen uint64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	current := s.gen == gen && !s.locked
	s.mu.RUnlock()
	if !current {
		return
	}
	s.lockLocked()
	s.cfg.Backend.Lock()
	s.log.Info().Msg("unlock lifetime reached; credentials wiped")
	if err := s.cfg.Audit.Write(&audit.Record{Event: audit.EventAutoLock, Outcome: audit.Granted, Detail: "lifetime"}); err != nil {
		s.log.Error().Err(err).Msg("audit log unavailable for auto-lock")
	}
}

// lockLocked wipes every credential in memory. The caller holds writeMu.
func (s *Server) lockLocked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.creds {
		r.Wipe()
	}
	s.resetLocked(map[string]*keyring.Record{})
	s.locked = true
	s.gen++
	s.setExpiryLocked(0)
}

// recordLocked returns the named record, or the locked or not_found error
// a request for it gets. The caller holds mu.
func (s *Server) recordLocked(name string) (*keyring.Record, *protocol.Error) {
	if s.locked {
		return nil, errLocked()
	}
	r, ok := s.creds[name]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no credential named %q", name)
	}
	return r, nil
}

// lookup returns a copy of the named record's values for reading, or an
// error response. The copy is independent of the store, so a concurrent lock
// cannot wipe it mid-reply; the caller wipes it when done.
func (s *Server) lookup(name, field string) (*protocol.Credential, *protocol.Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, e := s.recordLocked(name)
	if e != nil {
		return nil, e
	}
	c := &protocol.Credential{Name: r.Name, Type: r.Type}
	if field != "" {
		v, ok := r.Fields[field]
		if !ok {
			return nil, protocol.Errorf(protocol.CodeNotFound, "credential %q has no field %q", name, field)
		}
		c.Fields = map[string]*protocol.Value{field: protocol.NewValue(v.Clone())}
		return c, nil
	}
	c.Fields = make(map[string]*protocol.Value, len(r.Fields))
	for k, v := range r.Fields {
		c.Fields[k] = protocol.NewValue(v.Clone())
	}
	return c, nil
}

// errLocked is the reply to a request that needs credentials while none
// are unlocked.
func errLocked() *protocol.Error {
	return protocol.Errorf(protocol.CodeLocked, "credd is locked: run credctl unlock")
}

// backendError maps a backend failure to a protocol error that names the
// problem without any value.
func backendError(err error) *protocol.Error {
	switch {
	case errors.Is(err, keyring.ErrBadPassphrase):
		return protocol.Errorf(protocol.CodeDenied, "wrong passphrase")
	case errors.Is(err, keyring.ErrNotUnlocked):
		return errLocked()
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.Errorf(protocol.CodeBackendUnavailable, "backend did not answer in time")
	}
	return protocol.Errorf(protocol.CodeBackendUnavailable, "%v", err)
}
