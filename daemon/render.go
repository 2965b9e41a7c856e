package daemon

import (
	"sync"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// A get of a whole credential is answered from reply members rendered once
// per stored record. Describing and encoding a credential on every get
// (copying each value, building its field and variable maps, escaping it)
// costs more than the rest of a get; a rendered reply is one copy.
//
// The rendered members hold the credential's values, so they are a Secret
// like the record's own, and they leave memory with the record: every change
// to the store goes through storeLocked or resetLocked, which wipe them. An
// entry also remembers the record and the type registry it was rendered
// from, and is rendered again when either is no longer the one in force.

// renderCache holds the rendered replies. Its mutex is taken inside the
// server's mu, never the other way round.
type renderCache struct {
	mu      sync.Mutex
	entries map[string]*rendered
}

type rendered struct {
	rec     *keyring.Record
	types   *catalog.Registry
	members *secret.Secret
}

// renderedGet returns a copy of the reply members for a get of the whole
// named credential; the caller wipes it once the reply is written. The copy
// is made under mu, so a concurrent lock cannot wipe it mid-reply.
func (s *Server) renderedGet(name string) (*protocol.EncodedGet, *protocol.Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, e := s.recordLocked(name)
	if e != nil {
		return nil, e
	}
	types := s.types()
	s.render.mu.Lock()
	defer s.render.mu.Unlock()
	en := s.render.entries[name]
	if en == nil || en.rec != r || en.types != types {
		if en != nil {
			en.members.Wipe()
		}
		en = &rendered{rec: r, types: types, members: s.renderRecord(r)}
		if s.render.entries == nil {
			s.render.entries = map[string]*rendered{}
		}
		s.render.entries[name] = en
	}
	return &protocol.EncodedGet{Members: en.members.Clone()}, nil
}

// renderRecord encodes the reply members for a get of r. The values are
// read in place, not copied: the caller holds mu.
func (s *Server) renderRecord(r *keyring.Record) *secret.Secret {
	c := &protocol.Credential{Name: r.Name, Type: r.Type, Fields: make(map[string]*protocol.Value, len(r.Fields))}
	for k, v := range r.Fields {
		c.Fields[k] = protocol.NewValue(v)
	}
	s.describeCredential(c)
	b := protocol.AppendGetMembers(nil, &protocol.GetResult{Credential: c})
	defer secret.Wipe(b)
	return secret.New(b)
}

// storeLocked puts r in memory under name, or removes the name when r is
// nil, and wipes the reply rendered for what was there. The caller holds mu
// for writing and wipes the old record.
func (s *Server) storeLocked(name string, r *keyring.Record) {
	if r == nil {
		delete(s.creds, name)
	} else {
		s.creds[name] = r
	}
	s.render.mu.Lock()
	defer s.render.mu.Unlock()
	if en := s.render.entries[name]; en != nil {
		en.members.Wipe()
		delete(s.render.entries, name)
	}
}

// resetLocked replaces every record in memory with creds (empty when
// locking) and wipes every rendered reply. The caller holds mu for writing
// and wipes the old records.
func (s *Server) resetLocked(creds map[string]*keyring.Record) {
	s.creds = creds
	s.render.mu.Lock()
	defer s.render.mu.Unlock()
	for _, en := range s.render.entries {
		en.members.Wipe()
	}
	s.render.entries = nil
}
