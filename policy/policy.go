package policy

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Action is what a rule, or the default, decides.
type Action string

// The actions a rule can take.
const (
	Allow   Action = "allow"
	Deny    Action = "deny"
	Confirm Action = "confirm"
)

// Operations a rule can name in its ops list.
const (
	OpGet      = "get"
	OpList     = "list"
	OpSet      = "set"
	OpDelete   = "delete"
	OpUnlock   = "unlock"
	OpLock     = "lock"
	OpRotate   = "rotate"
	OpValidate = "validate"
)

// Ops lists every operation a rule may name.
var Ops = []string{OpGet, OpList, OpSet, OpDelete, OpUnlock, OpLock, OpRotate, OpValidate}

// ParseAction returns the action named s, or an error.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Allow, Deny, Confirm:
		return a, nil
	}
	return "", fmt.Errorf("bad action %q: want allow, deny or confirm", s)
}

// Rule is one access rule as written in the configuration. A list left
// empty matches anything; a list with entries matches when any entry does,
// and all non-empty lists must match for the rule to match.
type Rule struct {
	// Name labels the rule in decisions and messages; unnamed rules are
	// called rule[i], counting from 0.
	Name string
	// Names are globs on the credential name. A rule with names matches
	// only requests about one credential; a request without a name (lock,
	// unlock, listing as a whole) matches only rules without names.
	Names []string
	// Ops are operation names from Ops.
	Ops []string
	// Exe are globs on the caller's resolved executable path.
	Exe []string
	// ExeSHA256 are hex SHA-256 sums of the caller's running binary.
	ExeSHA256 []string
	// UID and GID are the caller's kernel-reported ids.
	UID []int
	GID []int
	// ParentExe are globs on the executable of any of the caller's
	// ancestors.
	ParentExe []string
	// Unit are globs on the caller's systemd unit (a .service or .scope).
	Unit []string
	// Agent and Skill are globs on the labels the caller reports about
	// itself. They only narrow a rule that also names the caller by exe,
	// exe_sha256, parent_exe or unit.
	Agent []string
	Skill []string
	// Action is what the rule decides when it matches.
	Action Action
}

// RuleError reports a bad rule: which rule (Index, from 0; -1 for the
// default action) and which key ("" for the rule as a whole).
type RuleError struct {
	Index int
	Key   string
	Err   error
}

// Error returns "rule[i].key: cause".
func (e *RuleError) Error() string {
	switch {
	case e.Index < 0:
		return fmt.Sprintf("%s: %v", e.Key, e.Err)
	case e.Key == "":
		return fmt.Sprintf("rule[%d]: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("rule[%d].%s: %v", e.Index, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *RuleError) Unwrap() error { return e.Err }

// Policy is a checked, ordered list of rules and a default action. It is
// safe for concurrent use and never changes; a reload builds a new one.
type Policy struct {
	rules []Rule
	def   Action
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// New checks rules and returns a Policy. defaultAction is "allow", "deny",
// "confirm" or "": empty means allow when there are no rules and deny once
// there is one. Errors are *RuleError. The rules are copied; sha256 sums
// are lowercased.
func New(rules []Rule, defaultAction string) (*Policy, error) {
	p := &Policy{rules: make([]Rule, len(rules))}
	switch {
	case defaultAction != "":
		a, err := ParseAction(defaultAction)
		if err != nil {
			return nil, &RuleError{Index: -1, Key: "default_action", Err: err}
		}
		p.def = a
	case len(rules) == 0:
		p.def = Allow
	default:
		p.def = Deny
	}
	names := make(map[string]int)
	for i, r := range rules {
		if err := check(&r); err != nil {
			err.Index = i
			return nil, err
		}
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				return nil, &RuleError{Index: i, Key: "name",
					Err: fmt.Errorf("name %q already used by rule[%d]", r.Name, j)}
			}
			names[r.Name] = i
		}
		p.rules[i] = r
	}
	return p, nil
}

// check validates r in place and returns the first problem.
func check(r *Rule) *RuleError {
	bad := func(key string, err error) *RuleError { return &RuleError{Key: key, Err: err} }
	a, err := ParseAction(string(r.Action))
	if err != nil {
		return bad("action", err)
	}
	r.Action = a
	globs := []struct {
		key      string
		list     []string
		absolute bool
	}{
		{"credentials", r.Names, false}, {"exe", r.Exe, true}, {"parent_exe", r.ParentExe, true},
		{"unit", r.Unit, false}, {"agent", r.Agent, false}, {"skill", r.Skill, false},
	}
	for _, g := range globs {
		for _, pat := range g.list {
			if err := checkGlob(pat, g.absolute); err != nil {
				return bad(g.key, err)
			}
		}
	}
	for _, op := range r.Ops {
		if !validOp(op) {
			return bad("ops", fmt.Errorf("bad op %q: want one of %s", op, strings.Join(Ops, ", ")))
		}
	}
	sums := make([]string, len(r.ExeSHA256))
	for i, s := range r.ExeSHA256 {
		sums[i] = strings.ToLower(s)
		if !sha256Hex.MatchString(sums[i]) {
			return bad("exe_sha256", fmt.Errorf("bad sha256 %q: want 64 hex digits", s))
		}
	}
	r.ExeSHA256 = sums
	for _, ids := range []struct {
		key  string
		list []int
	}{{"uid", r.UID}, {"gid", r.GID}} {
		for _, id := range ids.list {
			if id < 0 {
				return bad(ids.key, fmt.Errorf("bad id %d: must not be negative", id))
			}
		}
	}
	if (len(r.Agent) > 0 || len(r.Skill) > 0) && !r.identifiesProcess() {
		return bad("", errors.New("agent and skill are self-reported and cannot be a rule's only "+
			"caller criteria: add exe, exe_sha256, parent_exe or unit"))
	}
	return nil
}

// identifiesProcess reports whether r names the caller by evidence the
// kernel gives about the process itself. uid and gid do not count: every
// caller the daemon serves has the same uid.
func (r *Rule) identifiesProcess() bool {
	return len(r.Exe) > 0 || len(r.ExeSHA256) > 0 || len(r.ParentExe) > 0 || len(r.Unit) > 0
}

func checkGlob(pat string, absolute bool) error {
	if pat == "" {
		return errors.New("bad glob \"\": empty")
	}
	if _, err := path.Match(pat, ""); err != nil {
		return fmt.Errorf("bad glob %q: %w", pat, err)
	}
	if absolute && !strings.HasPrefix(pat, "/") {
		return fmt.Errorf("bad glob %q: must be an absolute path", pat)
	}
	return nil
}

func validOp(op string) bool {
	for _, o := range Ops {
		if o == op {
			return true
		}
	}
	return false
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Rules returns a copy of the policy's rules.
func (p *Policy) Rules() []Rule { return append([]Rule(nil), p.rules...) }

// Default returns the action taken when no rule matches.
func (p *Policy) Default() Action { return p.def }
