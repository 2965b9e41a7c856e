package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"slices"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/peer"
	"github.com/airtrain-ai/credd/policy"
	"github.com/airtrain-ai/credd/protocol"
)

// pendingReq is a request held by a confirm rule until the user answers.
type pendingReq struct {
	info   protocol.PendingInfo
	pid    int
	answer chan approval
}

type approval struct {
	yes      bool
	remember time.Duration
	by       int // pid of the approving process
}

// confirm holds a request until the user approves or denies it: through
// the configured prompt command, else through credctl approve or deny. An
// approval may be remembered for the caller's executable hash and the
// credential.
func (s *Server) confirm(c *conn, req *protocol.Request, op, name string, caller *policy.Caller, d policy.Decision) *protocol.Error {
	r := s.rules()
	timeout := r.ConfirmTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	sum, hashed := caller.ExeSHA256()
	key := sum + "\x00" + op + "\x00" + name
	if hashed && s.remembered(key) {
		s.auditConfirm(c, req, name, audit.Granted, "remembered approval")
		return nil
	}

	p := &pendingReq{pid: c.id.PID, answer: make(chan approval, 1), info: protocol.PendingInfo{
		ID: newPendingID(), Op: op, Credential: name, PID: c.id.PID, Exe: caller.Exe,
		Cmdline: c.id.Cmdline, Agent: req.Agent, Skill: req.Skill, Rule: d.RuleName,
		Created: time.Now().UTC(),
	}}
	s.pendMu.Lock()
	s.pending[p.info.ID] = p
	s.pendMu.Unlock()
	defer func() {
		s.pendMu.Lock()
		delete(s.pending, p.info.ID)
		s.pendMu.Unlock()
	}()
	s.log.Info().Str("pending", p.info.ID).Str("credential", name).Int("pid", c.id.PID).
		Str("exe", caller.Exe).Msg("request waits for confirmation")

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if len(r.ConfirmCommand) > 0 {
		go s.prompt(ctx, r.ConfirmCommand, p)
	}

	var a approval
	select {
	case a = <-p.answer:
	case <-ctx.Done():
		s.auditConfirm(c, req, name, audit.Denied, "no answer within "+timeout.String())
		return protocol.Errorf(protocol.CodeDenied, "confirmation timed out after %s (rule %q)", timeout, d.RuleName)
	case <-s.closing:
		return protocol.Errorf(protocol.CodeDenied, "credd is shutting down")
	}
	if !a.yes {
		s.auditConfirm(c, req, name, audit.Denied, fmt.Sprintf("denied by the user (pid %d)", a.by))
		return protocol.Errorf(protocol.CodeDenied, "the user denied this request (rule %q)", d.RuleName)
	}
	if a.remember > 0 && hashed {
		s.pendMu.Lock()
		s.remember[key] = time.Now().Add(a.remember)
		s.pendMu.Unlock()
	}
	s.auditConfirm(c, req, name, audit.Granted, fmt.Sprintf("approved by the user (pid %d)", a.by))
	return nil
}

func (s *Server) remembered(key string) bool {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	until, ok := s.remember[key]
	if ok && time.Now().After(until) {
		delete(s.remember, key)
		return false
	}
	return ok
}

func (s *Server) auditConfirm(c *conn, req *protocol.Request, name, outcome, detail string) {
	rec := record(c, req, audit.EventConfirm)
	rec.Credential, rec.Outcome, rec.Detail = name, outcome, detail
	if err := s.cfg.Audit.Write(rec); err != nil {
		s.log.Error().Err(err).Msg("audit log unavailable for a confirmation")
	}
}

// prompt runs the confirm command with a description of the request as
// its last argument; exit status 0 approves. The description names the
// credential and the caller, never a value.
func (s *Server) prompt(ctx context.Context, argv []string, p *pendingReq) {
	in := p.info
	text := fmt.Sprintf("Allow %s (pid %d) to %s credential %q?\nCommand line: %s", orUnknown(in.Exe), in.PID, in.Op, in.Credential, in.Cmdline)
	if in.Agent != "" || in.Skill != "" {
		text += fmt.Sprintf("\nSays it is agent %q, skill %q (self-reported)", in.Agent, in.Skill)
	}
	cmd := exec.CommandContext(ctx, argv[0], append(slices.Clone(argv[1:]), text)...)
	cmd.Env = append(cmd.Environ(),
		"CREDD_CONFIRM_CREDENTIAL="+in.Credential, "CREDD_CONFIRM_OP="+in.Op,
		"CREDD_CONFIRM_EXE="+in.Exe, fmt.Sprintf("CREDD_CONFIRM_PID=%d", in.PID),
		"CREDD_CONFIRM_AGENT="+in.Agent, "CREDD_CONFIRM_SKILL="+in.Skill)
	err := cmd.Run()
	if ctx.Err() != nil {
		return
	}
	select {
	case p.answer <- approval{yes: err == nil}:
	default:
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown program"
	}
	return s
}

func newPendingID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// opPending lists requests waiting for confirmation.
func (s *Server) opPending() *protocol.Response {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	res := &protocol.PendingResult{Pending: []protocol.PendingInfo{}}
	for _, p := range s.pending {
		res.Pending = append(res.Pending, p.info)
	}
	slices.SortFunc(res.Pending, func(a, b protocol.PendingInfo) int { return a.Created.Compare(b.Created) })
	return ok(res)
}

// opAnswer approves or denies a pending request. The requesting process
// and its descendants may not answer their own request.
func (s *Server) opAnswer(c *conn, req *protocol.Request, yes bool) *protocol.Response {
	s.pendMu.Lock()
	p, found := s.pending[req.Pending]
	s.pendMu.Unlock()
	if !found {
		return fail(protocol.Errorf(protocol.CodeNotFound, "no pending request %q", truncate(req.Pending, 20)))
	}
	if yes && s.descendsFrom(c.id.PID, p.pid) {
		return fail(protocol.Errorf(protocol.CodeDenied, "a process cannot approve its own request"))
	}
	select {
	case p.answer <- approval{yes: yes, remember: time.Duration(req.Remember * float64(time.Second)), by: c.id.PID}:
	default:
		return fail(protocol.Errorf(protocol.CodeNotFound, "pending request %q was already answered", req.Pending))
	}
	return ok(nil)
}

// descendsFrom reports whether pid is ancestor or one of its descendants,
// judged by /proc; an unreadable chain counts as descending, to be safe.
func (s *Server) descendsFrom(pid, ancestor int) bool {
	if pid == ancestor {
		return true
	}
	for i := 0; i < peer.MaxAncestors; i++ {
		ppid, err := peer.Parent(pid)
		if err != nil {
			return true
		}
		if ppid == ancestor {
			return true
		}
		if ppid <= 1 {
			return false
		}
		pid = ppid
	}
	return true
}
