package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airtrain-ai/credd/peer"
)

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func intp(i int) *int { return &i }

func TestDecideTable(t *testing.T) {
	p, err := New([]Rule{
		{Name: "deny-prod-python", Names: []string{"prod-*"}, Exe: []string{"/usr/bin/python3*"},
			Action: Deny},
		{Name: "ci", Names: []string{"gh-*"}, Ops: []string{OpGet}, Exe: []string{"/opt/ci/*"},
			Action: Allow},
		{Name: "pinned", ExeSHA256: []string{strings.ToUpper(sumA)}, Action: Allow},
		{Name: "under-make", Names: []string{"build"}, ParentExe: []string{"/usr/bin/make"},
			Action: Allow},
		{Name: "unit", Names: []string{"svc"}, Unit: []string{"agent-*.service"},
			Agent: []string{"claude"}, Action: Confirm},
		{Name: "root", UID: []int{0}, GID: []int{0}, Names: []string{"rootonly"}, Action: Allow},
		{Ops: []string{OpLock}, Action: Allow},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	uid := os.Getuid()
	tests := []struct {
		name string
		h    Hypothetical
		want Action
		rule string
	}{
		{"ci get", Hypothetical{Exe: "/opt/ci/runner", Op: OpGet, Name: "gh-token"}, Allow, "ci"},
		{"ci set", Hypothetical{Exe: "/opt/ci/runner", Op: OpSet, Name: "gh-token"}, Deny, "default"},
		{"ci other name", Hypothetical{Exe: "/opt/ci/runner", Op: OpGet, Name: "aws"}, Deny, "default"},
		{"glob does not cross /", Hypothetical{Exe: "/opt/ci/sub/runner", Op: OpGet, Name: "gh-x"},
			Deny, "default"},
		{"python prod", Hypothetical{Exe: "/usr/bin/python3.11", Op: OpGet, Name: "prod-db"},
			Deny, "deny-prod-python"},
		{"unknown exe hits deny", Hypothetical{Op: OpGet, Name: "prod-db"}, Deny, "deny-prod-python"},
		{"unknown exe not allowed", Hypothetical{Op: OpGet, Name: "gh-token"}, Deny, "default"},
		{"hash pin", Hypothetical{Exe: "/x", ExeSHA256: sumA, Op: OpDelete, Name: "any"}, Allow, "pinned"},
		{"hash mismatch", Hypothetical{Exe: "/nonexistent/x", Op: OpGet, Name: "any"}, Deny, "default"},
		{"parent", Hypothetical{Exe: "/bin/cc", ParentExe: []string{"/bin/sh", "/usr/bin/make"},
			Op: OpGet, Name: "build"}, Allow, "under-make"},
		{"no parent", Hypothetical{Exe: "/bin/cc", ParentExe: []string{"/bin/sh"}, Op: OpGet,
			Name: "build"}, Deny, "default"},
		{"unit and label", Hypothetical{Exe: "/bin/x", Unit: "agent-1.service", Agent: "claude",
			Op: OpGet, Name: "svc"}, Confirm, "unit"},
		{"unit without label", Hypothetical{Exe: "/bin/x", Unit: "agent-1.service", Op: OpGet,
			Name: "svc"}, Deny, "default"},
		{"label without unit", Hypothetical{Exe: "/bin/x", Agent: "claude", Op: OpGet, Name: "svc"},
			Deny, "default"},
		{"uid", Hypothetical{Exe: "/bin/x", UID: intp(0), GID: intp(0), Op: OpGet, Name: "rootonly"},
			Allow, "root"},
		{"other uid", Hypothetical{Exe: "/bin/x", UID: intp(uid + 1), GID: intp(0), Op: OpGet,
			Name: "rootonly"}, Deny, "default"},
		{"nameless op", Hypothetical{Exe: "/bin/x", Op: OpLock}, Allow, "rule[6]"},
		{"named rule skips nameless request", Hypothetical{Exe: "/opt/ci/r", Op: OpGet}, Deny, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Test(tt.h)
			if d.Action != tt.want || d.RuleName != tt.rule {
				t.Errorf("Test(%+v) = %s by %s (%s), want %s by %s",
					tt.h, d.Action, d.RuleName, d.Reason, tt.want, tt.rule)
			}
			if d.Rule >= 0 && p.Rules()[d.Rule].Action != d.Action {
				t.Errorf("decision index %d disagrees with its action", d.Rule)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for _, tt := range []struct {
		rules []Rule
		def   string
		want  Action
	}{
		{nil, "", Allow},
		{[]Rule{{Names: []string{"x"}, Action: Allow}}, "", Deny},
		{[]Rule{{Names: []string{"x"}, Action: Deny}}, "allow", Allow},
		{nil, "confirm", Confirm},
	} {
		p, err := New(tt.rules, tt.def)
		if err != nil {
			t.Fatal(err)
		}
		d := p.Decide(Request{Op: OpGet, Name: "y"})
		if d.Action != tt.want || d.Rule != -1 || d.RuleName != "default" {
			t.Errorf("%d rules, default %q: %+v, want %s by default", len(tt.rules), tt.def, d, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		r    Rule
		key  string
	}{
		{"action", Rule{Action: "yes"}, "action"},
		{"glob", Rule{Names: []string{"a["}, Action: Allow}, "credentials"},
		{"empty glob", Rule{Unit: []string{""}, Action: Allow}, "unit"},
		{"relative parent", Rule{ParentExe: []string{"bash"}, Action: Allow}, "parent_exe"},
		{"op", Rule{Ops: []string{"read"}, Action: Allow}, "ops"},
		{"sha", Rule{ExeSHA256: []string{sumA[1:]}, Action: Allow}, "exe_sha256"},
		{"sha hex", Rule{ExeSHA256: []string{"g" + sumA[1:]}, Action: Allow}, "exe_sha256"},
		{"gid", Rule{GID: []int{-1}, Action: Allow}, "gid"},
		{"agent only", Rule{Agent: []string{"a"}, Action: Allow}, ""},
		{"skill with names and uid", Rule{Names: []string{"x"}, UID: []int{1}, Skill: []string{"s"},
			Action: Deny}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]Rule{{Action: Allow}, tt.r}, "")
			var re *RuleError
			if !errors.As(err, &re) || re.Index != 1 || re.Key != tt.key {
				t.Fatalf("New(%+v) = %v, want a RuleError for rule[1] key %q", tt.r, err, tt.key)
			}
		})
	}
	if _, err := New(nil, "sometimes"); err == nil {
		t.Error("New with a bad default succeeded")
	}
	if _, err := New([]Rule{{Agent: []string{"a"}, Exe: []string{"/x"}, Action: Allow}}, ""); err != nil {
		t.Errorf("labels with exe rejected: %v", err)
	}
}

// TestDenialNamesOnlyTheRule checks that what a refused caller is told, and
// the reason recorded, mention the rule and the requested credential but not
// other credentials' patterns.
func TestDenialNamesOnlyTheRule(t *testing.T) {
	p, err := New([]Rule{
		{Name: "secret-stash", Names: []string{"stripe-live"}, Exe: []string{"/opt/pay"}, Action: Allow},
		{Name: "block", Names: []string{"*"}, Exe: []string{"/usr/bin/curl"}, Action: Deny},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []Hypothetical{
		{Exe: "/usr/bin/curl", Op: OpGet, Name: "github"},
		{Exe: "/usr/bin/wget", Op: OpGet, Name: "github"},
	} {
		d := p.Test(h)
		if d.Action != Deny {
			t.Fatalf("Test(%+v) = %s, want deny", h, d.Action)
		}
		for _, s := range []string{d.Denial(), d.Reason} {
			if strings.Contains(s, "stripe") || strings.Contains(s, "secret-stash") {
				t.Errorf("decision text %q reveals another credential's rule", s)
			}
		}
		if d.Rule >= 0 && !strings.Contains(d.Denial(), `"block"`) {
			t.Errorf("Denial() = %q, want it to name the rule", d.Denial())
		}
	}
}

func TestHypotheticalHashFromFile(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := peer.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New([]Rule{{ExeSHA256: []string{sum}, Action: Allow}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Test(Hypothetical{Exe: bin, Op: OpGet, Name: "x"}); d.Action != Allow {
		t.Errorf("hash computed from %s: %s (%s), want allow", bin, d.Action, d.Reason)
	}
	if d := p.Test(Hypothetical{Exe: bin, ExeSHA256: sumA, Op: OpGet, Name: "x"}); d.Action != Deny {
		t.Errorf("given hash overrides the file's: got %s, want deny", d.Action)
	}
}

// TestNilCaller checks that a request without a caller is unknown.
func TestNilCaller(t *testing.T) {
	p, _ := New([]Rule{{Exe: []string{"/*"}, Action: Allow}, {UID: []int{0}, Action: Allow}}, "")
	if d := p.Decide(Request{Op: OpGet, Name: "x"}); d.Action != Deny {
		t.Errorf("nil caller: %s by %s, want deny", d.Action, d.RuleName)
	}
	if d := p.Decide(Request{Op: OpGet, Name: "x", Caller: FromIdentity(nil)}); d.Action != Deny {
		t.Errorf("unknown identity: %s by %s, want deny", d.Action, d.RuleName)
	}
}
