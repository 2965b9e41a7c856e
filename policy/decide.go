package policy

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/airtrain-ai/credd/peer"
)

// Request is what Decide judges: one operation, on one credential or on
// none, by one caller.
type Request struct {
	// Op is the operation, one of Ops.
	Op string
	// Name is the credential the operation is about; empty for operations
	// on no single credential.
	Name string
	// Agent and Skill are the labels the caller reported. They prove
	// nothing.
	Agent, Skill string
	// Caller is who asks. A nil Caller is unknown in every respect.
	Caller *Caller
}

// Caller is the identity of the process that asks: what the kernel said at
// connect time, and evidence that is costly to gather (the binary's hash,
// the ancestors, the systemd unit), read on first use and then kept. A
// Caller is safe for concurrent use.
type Caller struct {
	// UID and GID are the kernel's; -1 when unknown.
	UID, GID int
	// Exe is the resolved executable path, empty when unknown (unreadable,
	// or deleted or replaced since the process started).
	Exe string

	hashFn func() (string, error)
	ancFn  func() ([]string, error)
	unitFn func() (string, error)

	once struct{ hash, anc, unit sync.Once }
	hash evidence[string]
	anc  evidence[[]string]
	unit evidence[string]
}

// evidence is a lazily read value; ok is false when it could not be read.
type evidence[T any] struct {
	v  T
	ok bool
}

// FromIdentity returns the Caller for a connected peer. The executable
// counts only when id.Known (readable and not deleted since start); the
// hash is of the running binary, and only while it is still the file at
// id.Exe; ancestry and unit are read from /proc while id.PID still names
// the same process, and are unknown otherwise.
func FromIdentity(id *peer.Identity) *Caller {
	if id == nil {
		return &Caller{UID: -1, GID: -1}
	}
	c := &Caller{UID: id.UID, GID: id.GID}
	if !id.Known() {
		return c
	}
	c.Exe = id.Exe
	c.hashFn = func() (string, error) { return peer.ExeSHA256Of(id) }
	c.ancFn = func() ([]string, error) {
		anc, err := peer.Ancestors(id.PID)
		if err == nil && !peer.Same(id) {
			err = peer.ErrGone
		}
		return anc, err
	}
	c.unitFn = func() (string, error) {
		u, err := peer.Unit(id.PID)
		if err == peer.ErrNoUnit {
			return "", nil
		}
		if err == nil && !peer.Same(id) {
			err = peer.ErrGone
		}
		return u, err
	}
	return c
}

// ExeSHA256 returns the hash of the caller's binary; ok is false when it
// is unknown.
func (c *Caller) ExeSHA256() (sum string, ok bool) {
	c.once.hash.Do(func() {
		if c.hashFn != nil {
			v, err := c.hashFn()
			c.hash = evidence[string]{v, err == nil && v != ""}
		}
	})
	return c.hash.v, c.hash.ok
}

// Ancestors returns the executables of the caller's ancestors, nearest
// first. Unreadable ancestors are empty strings. complete is false when
// the chain could not be read to its end; the entries returned are still
// true ancestors.
func (c *Caller) Ancestors() (exes []string, complete bool) {
	c.once.anc.Do(func() {
		if c.ancFn != nil {
			v, err := c.ancFn()
			c.anc = evidence[[]string]{v, err == nil}
		}
	})
	return c.anc.v, c.anc.ok
}

// Unit returns the caller's systemd unit, empty when it runs in none; ok
// is false when it is unknown.
func (c *Caller) Unit() (unit string, ok bool) {
	c.once.unit.Do(func() {
		if c.unitFn != nil {
			v, err := c.unitFn()
			c.unit = evidence[string]{v, err == nil}
		}
	})
	return c.unit.v, c.unit.ok
}

// Decision is the outcome of Decide.
type Decision struct {
	// Action is what to do.
	Action Action
	// Rule is the index of the deciding rule, -1 for the default.
	Rule int
	// RuleName is the deciding rule's name, rule[i] for an unnamed rule,
	// or "default".
	RuleName string
	// Reason says in words why, for the audit log. It names the request's
	// own credential and the caller's evidence, never other credentials
	// or other rules' patterns.
	Reason string
}

// Denial returns the message a refused caller is shown. It names the
// deciding rule and nothing else.
func (d Decision) Denial() string {
	if d.Rule < 0 {
		return "denied by policy: no rule allows this request and the default is deny"
	}
	return fmt.Sprintf("denied by policy rule %q", d.RuleName)
}

// match is a criterion's verdict.
type match int

const (
	no match = iota
	unknown
	yes
)

// and combines two verdicts: any no is no, else any unknown is unknown.
func (m match) and(o match) match { return min(m, o) }

// Decide judges req against the rules in order; the first rule that
// matches decides, and the default decides when none does. A criterion on
// evidence that could not be read (an unknown executable, hash, ancestry
// or unit) never lets an allow or confirm rule match, and always lets a
// deny rule match, so missing evidence fails closed either way.
func (p *Policy) Decide(req Request) Decision {
	c := req.Caller
	if c == nil {
		c = &Caller{UID: -1, GID: -1}
	}
	for i := range p.rules {
		r := &p.rules[i]
		m, why := r.match(req, c)
		if m == no || (m == unknown && r.Action != Deny) {
			continue
		}
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule[%d]", i)
		}
		reason := fmt.Sprintf("%s %s by %s: %s", r.Action, describe(req), name, why)
		return Decision{Action: r.Action, Rule: i, RuleName: name, Reason: reason}
	}
	return Decision{Action: p.def, Rule: -1, RuleName: "default",
		Reason: fmt.Sprintf("%s %s by default: no rule matched", p.def, describe(req))}
}

func describe(req Request) string {
	if req.Name == "" {
		return quoteOp(req.Op)
	}
	return fmt.Sprintf("%s of %q", quoteOp(req.Op), req.Name)
}

func quoteOp(op string) string {
	if op == "" {
		return "request"
	}
	return op
}

// match evaluates r, cheapest criteria first, and says which criteria
// decided.
func (r *Rule) match(req Request, c *Caller) (match, string) {
	var why []string
	m := yes
	step := func(key string, v match, detail string) bool {
		m = m.and(v)
		why = append(why, key+" "+detail)
		return m != no
	}
	if len(r.Ops) > 0 && !step("op", boolMatch(contains(r.Ops, req.Op)), "matched") {
		return no, ""
	}
	if len(r.Names) > 0 && !step("name", boolMatch(req.Name != "" && globAny(r.Names, req.Name)),
		"matched") {
		return no, ""
	}
	if len(r.UID) > 0 && !step("uid", idMatch(r.UID, c.UID), fmt.Sprintf("%d", c.UID)) {
		return no, ""
	}
	if len(r.GID) > 0 && !step("gid", idMatch(r.GID, c.GID), fmt.Sprintf("%d", c.GID)) {
		return no, ""
	}
	if len(r.Agent) > 0 && !step("agent", boolMatch(req.Agent != "" && globAny(r.Agent, req.Agent)),
		fmt.Sprintf("%q (self-reported)", req.Agent)) {
		return no, ""
	}
	if len(r.Skill) > 0 && !step("skill", boolMatch(req.Skill != "" && globAny(r.Skill, req.Skill)),
		fmt.Sprintf("%q (self-reported)", req.Skill)) {
		return no, ""
	}
	if len(r.Exe) > 0 {
		v, d := unknown, "unknown"
		if c.Exe != "" {
			v, d = boolMatch(globAny(r.Exe, c.Exe)), c.Exe
		}
		if !step("exe", v, d) {
			return no, ""
		}
	}
	if len(r.Unit) > 0 {
		v, d := unknown, "unknown"
		if u, ok := c.Unit(); ok {
			v, d = boolMatch(u != "" && globAny(r.Unit, u)), fmt.Sprintf("%q", u)
		}
		if !step("unit", v, d) {
			return no, ""
		}
	}
	if len(r.ParentExe) > 0 {
		v, d := unknown, "unknown"
		if c.Exe != "" {
			anc, complete := c.Ancestors()
			v, d = no, "not among ancestors"
			for _, a := range anc {
				if a != "" && globAny(r.ParentExe, a) {
					v, d = yes, a
					break
				}
			}
			if v == no && (!complete || contains(anc, "")) {
				v, d = unknown, "ancestry partly unknown"
			}
		}
		if !step("parent_exe", v, d) {
			return no, ""
		}
	}
	if len(r.ExeSHA256) > 0 {
		v, d := unknown, "unknown"
		if sum, ok := c.ExeSHA256(); ok {
			v, d = boolMatch(contains(r.ExeSHA256, sum)), sum
		}
		if !step("exe_sha256", v, d) {
			return no, ""
		}
	}
	if len(why) == 0 {
		return m, "matches any caller"
	}
	return m, strings.Join(why, ", ")
}

func boolMatch(b bool) match {
	if b {
		return yes
	}
	return no
}

func idMatch(ids []int, id int) match {
	if id < 0 {
		return unknown
	}
	return boolMatch(contains(ids, id))
}

func globAny(pats []string, s string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}
