package daemon

import (
	"context"
	"slices"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/policy"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// opRotate replaces some of a credential's fields with new values and keeps
// the values they replace for one undo.
//
// Request members:
//
//	name      string             the credential to rotate
//	fields    {field: value}     the new values (at least one); fields not
//	                             named keep their values
//	no_check  bool               store even if the merged fields fail the
//	                             type's format check (marked unchecked)
//
// Reply members: those of set, {created: false, unchecked}.
//
// The merged fields are checked against the credential's type as set
// checks them; a failure is invalid and names the field and rule. The
// credential's previous fields are kept for undo_rotate (only the last
// rotation's: older ones are wiped), its updated time is now and its
// checked time is cleared. Audited as "rotate"; the access rules decide
// with op rotate. Errors: bad_request, locked, not_found, invalid, denied,
// backend_unavailable.
func (s *Server) opRotate(c *conn, req *protocol.Request) *protocol.Response {
	if e := checkName(req); e != nil {
		return fail(e)
	}
	fields, e := requestFields(req)
	if e != nil {
		return fail(e)
	}

	rec := record(c, req, audit.EventRotate)
	if e := s.authorize(c, req, policy.OpRotate, req.Name, rec); e != nil {
		return fail(s.audited(rec, e))
	}
	unchecked, e := s.rotate(req.Name, fields, req.NoCheck)
	if e = s.audited(rec, e); e != nil {
		return fail(e)
	}
	return ok(&protocol.SetResult{Unchecked: unchecked})
}

// rotate merges fields into the named credential and stores it, keeping
// the values it had as Previous. The values of fields are copied.
func (s *Server) rotate(name string, fields map[string]*secret.Secret, noCheck bool) (bool, *protocol.Error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	s.mu.RLock()
	old, e := s.recordLocked(name)
	var merged map[string]*secret.Secret
	if e == nil {
		merged = cloneFields(old.Fields)
	}
	s.mu.RUnlock()
	if e != nil {
		return false, e
	}
	for k, v := range fields {
		merged[k].Wipe()
		merged[k] = v.Clone()
	}
	unchecked, e := s.checkFields(old.Type, merged, noCheck)
	if e != nil {
		wipeFields(merged)
		return false, e
	}

	// old is only read here: writeMu keeps every other writer out, and
	// readers never modify a record.
	r := &keyring.Record{Name: name, Type: old.Type, Fields: merged,
		Created: old.Created, Updated: time.Now().UTC(), Unchecked: unchecked,
		Previous: cloneFields(old.Fields)}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	if err := s.cfg.Backend.Put(ctx, r); err != nil {
		r.Wipe()
		return false, backendError(err)
	}
	s.mu.Lock()
	s.storeLocked(name, r)
	s.mu.Unlock()
	old.Wipe()
	return unchecked, nil
}

// opUndoRotate puts back the fields the last rotation replaced.
//
// Request members:
//
//	name  string  the credential
//
// Reply members: none.
//
// The credential's fields become those it had before its last rotation,
// the rotated-out values are wiped and nothing is left to undo; its updated
// time is now and its checked time is cleared. Audited as "undo_rotate";
// the access rules decide with op rotate. Errors: bad_request, locked,
// not_found (also when there is nothing to undo), denied,
// backend_unavailable.
func (s *Server) opUndoRotate(c *conn, req *protocol.Request) *protocol.Response {
	if e := checkName(req); e != nil {
		return fail(e)
	}
	rec := record(c, req, audit.EventUndo)
	if e := s.authorize(c, req, policy.OpRotate, req.Name, rec); e != nil {
		return fail(s.audited(rec, e))
	}
	if e := s.audited(rec, s.undoRotate(req.Name)); e != nil {
		return fail(e)
	}
	return ok(nil)
}

func (s *Server) undoRotate(name string) *protocol.Error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	s.mu.RLock()
	old, e := s.recordLocked(name)
	var prev map[string]*secret.Secret
	if e == nil && old.Previous != nil {
		prev = cloneFields(old.Previous)
	}
	s.mu.RUnlock()
	switch {
	case e != nil:
		return e
	case prev == nil:
		return protocol.Errorf(protocol.CodeNotFound, "credential %q has no rotation to undo", name)
	}

	r := &keyring.Record{Name: name, Type: old.Type, Fields: prev,
		Created: old.Created, Updated: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	if err := s.cfg.Backend.Put(ctx, r); err != nil {
		r.Wipe()
		return backendError(err)
	}
	s.mu.Lock()
	s.storeLocked(name, r)
	s.mu.Unlock()
	old.Wipe()
	return nil
}

// rotationDue reports whether r is older than its type's maximum age at
// now. A nil MaxAge or a zero age means never.
func (s *Server) rotationDue(r *keyring.Record, now time.Time) bool {
	maxAge := s.rules().MaxAge
	if maxAge == nil {
		return false
	}
	age := maxAge(r.Type)
	return age > 0 && now.Sub(r.Updated) > age
}

// dueNamesLocked returns, sorted, the names of the credentials due for
// rotation. The caller holds mu.
func (s *Server) dueNamesLocked() []string {
	now := time.Now()
	var due []string
	for n, r := range s.creds {
		if s.rotationDue(r, now) {
			due = append(due, n)
		}
	}
	slices.Sort(due)
	return due
}

// warnRotationDue logs one warning per credential due for rotation. It is
// called once per unlock.
func (s *Server) warnRotationDue() {
	s.mu.RLock()
	due := s.dueNamesLocked()
	s.mu.RUnlock()
	for _, n := range due {
		s.log.Warn().Str("credential", n).Msg("credential is past its maximum age; rotate it")
	}
}
