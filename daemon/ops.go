package daemon

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/policy"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// dispatch runs one decoded request. Each case checks its arguments, calls
// one method, and returns the reply.
func (s *Server) dispatch(c *conn, req *protocol.Request) *protocol.Response {
	if req.Op != protocol.OpHello {
		select {
		case <-s.ready:
		case <-s.closing:
		}
	}
	switch req.Op {
	case protocol.OpHello:
		return ok(&protocol.HelloResult{Version: protocol.Version, Server: ServerName + " " + s.cfg.Version})
	case protocol.OpStatus:
		return ok(s.status(c, req))
	case protocol.OpTypes:
		return ok(s.typeInfos())
	case protocol.OpList:
		return s.opList(c, req)
	case protocol.OpGet:
		return s.opGet(c, req)
	case protocol.OpSet:
		return s.opSet(c, req)
	case protocol.OpDelete:
		return s.opDelete(c, req)
	case protocol.OpUnlock:
		return s.opUnlock(c, req)
	case protocol.OpLock:
		return s.opLock(c, req)
	case protocol.OpPending:
		return s.opPending()
	case protocol.OpApprove:
		return s.opAnswer(c, req, true)
	case protocol.OpDeny:
		return s.opAnswer(c, req, false)
	case protocol.OpValidate:
		return s.opValidate(c, req)
	case protocol.OpRotate:
		return s.opRotate(c, req)
	case protocol.OpUndo:
		return s.opUndoRotate(c, req)
	}
	if hook, ok := crashHooks[req.Op]; ok {
		return hook(s, c, req)
	}
	return fail(protocol.Errorf(protocol.CodeUnknownOp, "unknown op %q", truncate(req.Op, 32)))
}

func ok(result any) *protocol.Response { return &protocol.Response{OK: true, Result: result} }

func fail(e *protocol.Error) *protocol.Response { return &protocol.Response{Error: e} }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// record builds the audit record of a request by c.
func record(c *conn, req *protocol.Request, event string) *audit.Record {
	return &audit.Record{
		Event:      event,
		Credential: req.Name,
		Field:      req.Field,
		Peer:       c.id,
		PeerJSON:   c.idJSON,
		Agent:      req.Agent,
		Skill:      req.Skill,
		RequestID:  req.ID,
	}
}

// audited writes rec with the outcome of e (granted when e is nil) and
// returns the reply to send: e itself, or audit_unavailable when the record
// could not be written.
func (s *Server) audited(rec *audit.Record, e *protocol.Error) *protocol.Error {
	rec.Outcome = outcome(e)
	if e != nil && rec.Detail == "" {
		rec.Detail = string(e.Code)
	}
	if err := s.cfg.Audit.Write(rec); err != nil {
		s.log.Error().Err(err).Str("event", rec.Event).Msg("audit log unavailable; request refused")
		return protocol.Errorf(protocol.CodeAuditUnavailable, "the audit log cannot be written; nothing is served unrecorded")
	}
	return e
}

func outcome(e *protocol.Error) string {
	if e == nil {
		return audit.Granted
	}
	switch e.Code {
	case protocol.CodeDenied:
		return audit.Denied
	case protocol.CodeNotFound:
		return audit.NotFound
	case protocol.CodeLocked:
		return audit.Locked
	}
	return audit.Error
}

// status describes the daemon. Under access rules, the count and the
// names due for rotation cover only what the caller may list.
func (s *Server) status(c *conn, req *protocol.Request) *protocol.StatusResult {
	s.mu.RLock()
	st := &protocol.StatusResult{
		Locked:       s.locked,
		Credentials:  len(s.creds),
		Backend:      s.cfg.Backend.Kind(),
		UptimeS:      int64(time.Since(s.start).Seconds()),
		PID:          os.Getpid(),
		MemoryLocked: secret.MemoryStats().Locked,
		RotationDue:  s.dueNamesLocked(),
	}
	if !s.expiresAt.IsZero() {
		t := s.expiresAt.UTC()
		st.ExpiresAt = &t
	}
	var names []string
	if s.rules().Policy != nil {
		names = make([]string, 0, len(s.creds))
		for n := range s.creds {
			names = append(names, n)
		}
	}
	s.mu.RUnlock()

	if names != nil {
		visible := map[string]bool{}
		for _, n := range s.allowedNames(c, req, names) {
			visible[n] = true
		}
		st.Credentials = len(visible)
		st.RotationDue = slices.DeleteFunc(st.RotationDue, func(n string) bool { return !visible[n] })
	}
	return st
}

func (s *Server) opList(c *conn, req *protocol.Request) *protocol.Response {
	// Under access rules a list shows what the caller may list, one
	// credential at a time, and nothing else; it is never refused as a
	// whole, so it reveals neither names nor how many are hidden.
	rec := record(c, req, audit.EventList)
	s.mu.RLock()
	if s.locked {
		s.mu.RUnlock()
		return fail(s.audited(rec, errLocked()))
	}
	infos := make([]protocol.Info, 0, len(s.creds))
	for _, r := range s.creds {
		in := info(r)
		in.RotationDue = s.rotationDue(r, time.Now())
		infos = append(infos, in)
	}
	s.mu.RUnlock()
	infos = s.visible(c, req, infos)
	slices.SortFunc(infos, func(a, b protocol.Info) int { return compare(a.Name, b.Name) })
	if e := s.audited(rec, nil); e != nil {
		return fail(e)
	}
	return ok(&protocol.ListResult{Credentials: infos})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func info(r *keyring.Record) protocol.Info {
	fields := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	return protocol.Info{
		Name: r.Name, Type: r.Type, Fields: fields,
		Created: r.Created, Updated: r.Updated, Checked: r.Checked,
		Unchecked: r.Unchecked, HasPrevious: r.Previous != nil,
	}
}

func (s *Server) opGet(c *conn, req *protocol.Request) *protocol.Response {
	if e := checkName(req); e != nil {
		return fail(e)
	}
	if req.Field != "" {
		if err := protocol.CheckName("field", req.Field); err != nil {
			return fail(err)
		}
	}
	rec := record(c, req, audit.EventGet)
	if e := s.authorize(c, req, policy.OpGet, req.Name, rec); e != nil {
		return fail(s.audited(rec, e))
	}
	res, wipe, e := s.getResult(req.Name, req.Field)
	if e != nil {
		return fail(s.audited(rec, e))
	}
	if e := s.audited(rec, nil); e != nil {
		wipe()
		return fail(e)
	}
	s.touch()
	return ok(res)
}

// getResult returns the reply to a get and the function that wipes it if
// it is not sent: the rendered reply for a whole credential, or a copy of
// one field.
func (s *Server) getResult(name, field string) (any, func(), *protocol.Error) {
	if field == "" {
		enc, e := s.renderedGet(name)
		if e != nil {
			return nil, nil, e
		}
		return enc, enc.Members.Wipe, nil
	}
	cred, e := s.lookup(name, field)
	if e != nil {
		return nil, nil, e
	}
	return &protocol.GetResult{Value: cred.Fields[field]}, cred.Wipe, nil
}

// requestFields checks the field names and values of a set or rotate
// request. The secrets stay the request's: they are wiped after the reply.
func requestFields(req *protocol.Request) (map[string]*secret.Secret, *protocol.Error) {
	if len(req.Fields) == 0 {
		return nil, protocol.Errorf(protocol.CodeBadRequest, "fields are required")
	}
	fields := make(map[string]*secret.Secret, len(req.Fields))
	for k, v := range req.Fields {
		if err := protocol.CheckName("field", k); err != nil {
			return nil, err
		}
		if v == nil || v.S == nil {
			return nil, protocol.Errorf(protocol.CodeBadRequest, "field %q must be a string", k)
		}
		fields[k] = v.S
	}
	return fields, nil
}

func checkName(req *protocol.Request) *protocol.Error {
	return protocol.CheckName("name", req.Name)
}

func (s *Server) opSet(c *conn, req *protocol.Request) *protocol.Response {
	if e := checkName(req); e != nil {
		return fail(e)
	}
	if req.Type == "" {
		req.Type = catalog.Generic
	}
	fields, e := requestFields(req)
	if e != nil {
		return fail(e)
	}
	unchecked, e := s.checkFields(req.Type, fields, req.NoCheck)
	if e != nil {
		return fail(e)
	}

	rec := record(c, req, audit.EventSet)
	if e := s.authorize(c, req, policy.OpSet, req.Name, rec); e != nil {
		return fail(s.audited(rec, e))
	}
	created, e := s.put(req.Name, req.Type, fields, unchecked)
	if e = s.audited(rec, e); e != nil {
		return fail(e)
	}
	return ok(&protocol.SetResult{Created: created, Unchecked: unchecked})
}

// put stores a credential in the backend, then in memory. The values are
// copied: the request's own are wiped after the reply.
func (s *Server) put(name, typ string, fields map[string]*secret.Secret, unchecked bool) (bool, *protocol.Error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	s.mu.RLock()
	locked, old := s.locked, s.creds[name]
	s.mu.RUnlock()
	if locked {
		return false, errLocked()
	}
	now := time.Now().UTC()
	r := &keyring.Record{Name: name, Type: typ, Fields: make(map[string]*secret.Secret, len(fields)),
		Created: now, Updated: now, Unchecked: unchecked}
	if old != nil {
		r.Created = old.Created
	}
	for k, v := range fields {
		r.Fields[k] = v.Clone()
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	if err := s.cfg.Backend.Put(ctx, r); err != nil {
		r.Wipe()
		return false, backendError(err)
	}
	s.mu.Lock()
	s.storeLocked(name, r)
	s.mu.Unlock()
	if old != nil {
		old.Wipe()
	}
	return old == nil, nil
}

func (s *Server) opDelete(c *conn, req *protocol.Request) *protocol.Response {
	if e := checkName(req); e != nil {
		return fail(e)
	}
	rec := record(c, req, audit.EventDelete)
	if e := s.authorize(c, req, policy.OpDelete, req.Name, rec); e != nil {
		return fail(s.audited(rec, e))
	}
	if e := s.remove(req.Name); e != nil {
		return fail(s.audited(rec, e))
	}
	if e := s.audited(rec, nil); e != nil {
		return fail(e)
	}
	return ok(nil)
}

func (s *Server) remove(name string) *protocol.Error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	s.mu.RLock()
	old, e := s.recordLocked(name)
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	if err := s.cfg.Backend.Delete(ctx, name); err != nil {
		return backendError(err)
	}
	s.mu.Lock()
	s.storeLocked(name, nil)
	s.mu.Unlock()
	old.Wipe()
	return nil
}

func (s *Server) opUnlock(c *conn, req *protocol.Request) *protocol.Response {
	rec := record(c, req, audit.EventUnlock)
	if e := s.authorize(c, req, policy.OpUnlock, "", rec); e != nil {
		return fail(s.audited(rec, e))
	}
	var pass *secret.Secret
	if req.Passphrase != nil {
		pass = req.Passphrase.S
	}
	if s.cfg.Backend.NeedsPassphrase() && pass.Len() == 0 {
		return fail(s.audited(rec, protocol.Errorf(protocol.CodeBadRequest, "the %s backend needs a passphrase", s.cfg.Backend.Kind())))
	}
	if req.TTL < 0 {
		return fail(protocol.Errorf(protocol.CodeBadRequest, "ttl_s must not be negative"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	n, exp, err := s.unlock(ctx, pass, time.Duration(req.TTL*float64(time.Second)))
	if err != nil {
		return fail(s.audited(rec, backendError(err)))
	}
	if e := s.audited(rec, nil); e != nil {
		return fail(e)
	}
	s.touch()
	s.log.Info().Int("credentials", n).Msg("unlocked")
	s.warnRotationDue()
	res := &protocol.UnlockResult{Credentials: n}
	if !exp.IsZero() {
		t := exp.UTC()
		res.ExpiresAt = &t
	}
	return ok(res)
}

func (s *Server) opLock(c *conn, req *protocol.Request) *protocol.Response {
	rec := record(c, req, audit.EventLock)
	if e := s.authorize(c, req, policy.OpLock, "", rec); e != nil {
		return fail(s.audited(rec, e))
	}
	s.writeMu.Lock()
	s.lockLocked()
	s.writeMu.Unlock()
	s.cfg.Backend.Lock()
	s.log.Info().Msg("locked; credentials wiped")
	if e := s.audited(rec, nil); e != nil {
		return fail(e)
	}
	return ok(nil)
}

// visible drops from infos the credentials the caller may not list.
func (s *Server) visible(c *conn, req *protocol.Request, infos []protocol.Info) []protocol.Info {
	if s.rules().Policy == nil {
		return infos
	}
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name
	}
	keep := map[string]bool{}
	for _, n := range s.allowedNames(c, req, names) {
		keep[n] = true
	}
	return slices.DeleteFunc(infos, func(in protocol.Info) bool { return !keep[in.Name] })
}
