package daemon

import (
	"net/http"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/peer"
	"github.com/airtrain-ai/credd/policy"
	"github.com/airtrain-ai/credd/protocol"
)

// Rules are the settings a configuration reload changes while the daemon
// runs. A Rules value is never modified once handed to the server; a reload
// swaps in a new one, which takes effect for the next request.
type Rules struct {
	// Policy holds the access rules; nil serves every process of the
	// user, as a daemon without a config file does.
	Policy *policy.Policy
	// Types is the registry of credential types (default: the built-in
	// catalog).
	Types *catalog.Registry
	// MaxAge returns how old a credential of a type may get before
	// rotation is due; nil or a zero result means never.
	MaxAge func(typ string) time.Duration
	// BaseURLs replace providers' base URLs for online validation, by
	// type.
	BaseURLs map[string]string
	// HTTPClient makes online validation calls (default: 10 s timeout).
	HTTPClient *http.Client
	// ConfirmCommand is the prompt program for confirm rules: it is run
	// with a description of the request appended as its last argument,
	// and exit status 0 means yes. Empty means requests wait for credctl
	// approve or deny.
	ConfirmCommand []string
	// ConfirmTimeout bounds how long a confirm rule waits (default 60 s);
	// no answer is a denial.
	ConfirmTimeout time.Duration
	// IdleTimeout locks after this long without a get; zero means never.
	IdleTimeout time.Duration
	// Hash identifies the config file the rules came from, for the audit
	// log.
	Hash string
}

// SetRules puts r in force for every request that starts after it returns.
func (s *Server) SetRules(r *Rules) {
	if r == nil {
		r = &Rules{}
	}
	s.rulesP.Store(r)
	s.armIdle()
}

func (s *Server) rules() *Rules { return s.rulesP.Load() }

// authorize asks the access rules whether c may perform op on name (empty
// for an operation on no single credential), and records the deciding rule
// in rec. It returns nil when the request may go on. A confirm rule blocks
// until the user answers or the timeout passes.
func (s *Server) authorize(c *conn, req *protocol.Request, op, name string, rec *audit.Record) *protocol.Error {
	pol := s.rules().Policy
	if pol == nil {
		return nil
	}
	caller := s.caller(c)
	d := pol.Decide(policy.Request{Op: op, Name: name, Agent: req.Agent, Skill: req.Skill, Caller: caller})
	if rec != nil {
		rule := d.Rule
		rec.Rule, rec.RuleName = &rule, d.RuleName
	}
	switch d.Action {
	case policy.Allow:
		return nil
	case policy.Confirm:
		return s.confirm(c, req, op, name, caller, d)
	}
	if rec != nil {
		rec.Detail = d.Reason
	}
	return protocol.Errorf(protocol.CodeDenied, "%s", d.Denial())
}

// caller reads the connection's process identity afresh for one request:
// the process may have executed another program since it connected. A
// process that is gone, or whose pid now names another process, is unknown
// and matches no rule that needs evidence.
func (s *Server) caller(c *conn) *policy.Caller {
	id := *c.id
	if err := peer.Refresh(&id); err != nil {
		return policy.FromIdentity(&peer.Identity{PID: c.id.PID, UID: c.id.UID, GID: c.id.GID})
	}
	return policy.FromIdentity(&id)
}

// allowedNames filters names down to those the caller may see in a list,
// so that a listing reveals nothing the rules hide.
func (s *Server) allowedNames(c *conn, req *protocol.Request, names []string) []string {
	pol := s.rules().Policy
	if pol == nil {
		return names
	}
	caller := s.caller(c)
	out := names[:0]
	for _, n := range names {
		d := pol.Decide(policy.Request{Op: policy.OpList, Name: n, Agent: req.Agent, Skill: req.Skill, Caller: caller})
		if d.Action == policy.Allow {
			out = append(out, n)
		}
	}
	return out
}
