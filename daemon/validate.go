package daemon

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/policy"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// validateParallel bounds how many online checks run at once.
const validateParallel = 4

// validateDeadline bounds a whole validate request, on top of the HTTP
// client's own timeout per call.
const validateDeadline = 2 * time.Minute

// defaultHTTPClient makes online checks when the rules give no client.
var defaultHTTPClient = &http.Client{Timeout: 10 * time.Second}

// opValidate checks credentials against their type, and with online
// against their provider. The daemon makes the provider calls itself, so
// that a key never travels to the client.
//
// Request members:
//
//	names   []string  credentials to check; absent or empty means every
//	                  credential the caller may validate (others are
//	                  skipped without a trace in the reply)
//	online  bool      also call each provider's free authenticated
//	                  endpoint (at most 4 calls at once)
//
// Reply members:
//
//	results  [{name, type, outcome, online, status, duration_ms, reason,
//	           error}], sorted by name. outcome is "valid", "invalid" or
//	           "unknown"; online tells whether it is the verdict of an
//	           online check (else of the offline format check);
//	           status is the provider's HTTP status (0: no answer);
//	           duration_ms is the call's duration; reason explains an
//	           invalid or unknown outcome. error ({code, message}) replaces
//	           the verdict of a named credential that was denied, not
//	           found, or whose audit record could not be written.
//
// Each credential gets one audit record, event "validate", whose detail
// holds the verdict. A credential found valid online has its checked time
// updated and stored. The whole request fails with locked when the daemon
// is locked, and with bad_request on a malformed name.
func (s *Server) opValidate(c *conn, req *protocol.Request) *protocol.Response {
	for _, n := range req.Names {
		if err := protocol.CheckName("name", n); err != nil {
			return fail(err)
		}
	}
	s.mu.RLock()
	locked := s.locked
	all := make([]string, 0, len(s.creds))
	for n := range s.creds {
		all = append(all, n)
	}
	s.mu.RUnlock()
	if locked {
		rec := record(c, req, audit.EventValidate)
		return fail(s.audited(rec, errLocked()))
	}
	names, explicit := slices.Clone(req.Names), len(req.Names) > 0
	if !explicit {
		names = all
	}
	slices.Sort(names)
	names = slices.Compact(names)

	items := make([]protocol.ValidateItem, len(names))
	keep := make([]bool, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, validateParallel)
	ctx, cancel := context.WithTimeout(context.Background(), validateDeadline)
	defer cancel()
	for i, name := range names {
		rec := record(c, req, audit.EventValidate)
		rec.Credential = name
		if e := s.authorize(c, req, policy.OpValidate, name, rec); e != nil {
			if explicit {
				items[i], keep[i] = protocol.ValidateItem{Name: name, Error: s.audited(rec, e)}, true
			} else {
				_ = s.audited(rec, e)
			}
			continue
		}
		keep[i] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if req.Online {
				sem <- struct{}{}
				defer func() { <-sem }()
			}
			items[i] = s.validateOne(ctx, name, req.Online, rec)
		}()
	}
	wg.Wait()

	res := &protocol.ValidateResult{Results: make([]protocol.ValidateItem, 0, len(items))}
	for i, it := range items {
		if keep[i] {
			res.Results = append(res.Results, it)
		}
	}
	return ok(res)
}

// validateOne checks one credential and writes its audit record rec.
func (s *Server) validateOne(ctx context.Context, name string, online bool,
	rec *audit.Record) protocol.ValidateItem {
	item := protocol.ValidateItem{Name: name}
	s.mu.RLock()
	r, e := s.recordLocked(name)
	var fields map[string]*secret.Secret
	if e == nil {
		item.Type = r.Type
		fields = cloneFields(r.Fields)
	}
	s.mu.RUnlock()
	if e != nil {
		item.Error = s.audited(rec, e)
		return item
	}
	defer wipeFields(fields)

	t, found := s.types().Lookup(item.Type)
	var res catalog.Result
	switch {
	case !found:
		res = catalog.Result{Outcome: catalog.Unknown, Reason: "unknown type " + truncate(item.Type, 40)}
	case online:
		rules := s.rules()
		hc := rules.HTTPClient
		if hc == nil {
			hc = defaultHTTPClient
		}
		res = catalog.Validate(ctx, hc, t, fields, rules.BaseURLs[t.Name])
		item.Online = true
	default:
		res = catalog.Result{Outcome: catalog.Valid}
		if err := t.Check(fields); err != nil {
			res = catalog.Result{Outcome: catalog.Invalid, Reason: err.Error()}
		}
	}
	item.Outcome, item.Status, item.Reason = string(res.Outcome), res.Status, res.Reason
	item.DurationMS = res.Duration.Milliseconds()

	rec.Detail = verdict(item)
	if online && res.Outcome == catalog.Valid {
		if e := s.markChecked(name, r, time.Now().UTC()); e != nil {
			s.log.Warn().Str("credential", name).Str("code", string(e.Code)).
				Msg("valid credential; could not store its checked time")
		}
	}
	if e := s.audited(rec, nil); e != nil {
		return protocol.ValidateItem{Name: name, Type: item.Type, Error: e}
	}
	return item
}

// verdict describes an item for the audit log's detail.
func verdict(it protocol.ValidateItem) string {
	how := "offline"
	if it.Online {
		how = "online"
	}
	return how + " " + it.Outcome
}

// markChecked records that the credential passed an online check at t. It
// changes nothing when the credential was replaced or removed since r was
// read: the check was about the old values.
func (s *Server) markChecked(name string, r *keyring.Record, t time.Time) *protocol.Error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	s.mu.RLock()
	cur, locked := s.creds[name], s.locked
	s.mu.RUnlock()
	if locked || cur != r {
		return nil
	}
	// The copy shares its value maps with r; neither is modified, and
	// only the copy stays in memory, so nothing is wiped here.
	cp := *r
	cp.Checked, cp.Unchecked = t, false
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	if err := s.cfg.Backend.Put(ctx, &cp); err != nil {
		return backendError(err)
	}
	s.mu.Lock()
	s.storeLocked(name, &cp)
	s.mu.Unlock()
	return nil
}

// cloneFields copies a record's values; the caller wipes the copy.
func cloneFields(fields map[string]*secret.Secret) map[string]*secret.Secret {
	out := make(map[string]*secret.Secret, len(fields))
	for k, v := range fields {
		out[k] = v.Clone()
	}
	return out
}

func wipeFields(fields map[string]*secret.Secret) {
	for _, v := range fields {
		v.Wipe()
	}
}
