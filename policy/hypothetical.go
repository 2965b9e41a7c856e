package policy

import (
	"os"
	"strings"

	"github.com/airtrain-ai/credd/peer"
)

// Hypothetical describes a caller and request that do not exist, for
// trying a policy out (credctl policy test). Fields left empty are taken as
// absent: no parents, no unit, no labels.
type Hypothetical struct {
	// Exe is the executable path, taken as resolved; empty is unknown.
	Exe string
	// ExeSHA256 is the binary's hash; when empty and Exe names a readable
	// file, the hash of that file is used, and otherwise it is unknown.
	ExeSHA256 string
	// UID and GID default to the current process's when nil.
	UID, GID *int
	// ParentExe lists the ancestors' executables, nearest first, taken as
	// the whole chain.
	ParentExe []string
	// Unit is the systemd unit, empty for none.
	Unit string

	Op, Name     string
	Agent, Skill string
}

// Test decides a hypothetical request exactly as Decide decides a real one.
func (p *Policy) Test(h Hypothetical) Decision {
	return p.Decide(Request{
		Op: h.Op, Name: h.Name, Agent: h.Agent, Skill: h.Skill,
		Caller: HypotheticalCaller(h),
	})
}

// HypotheticalCaller returns the Caller that h describes.
func HypotheticalCaller(h Hypothetical) *Caller {
	c := &Caller{UID: os.Getuid(), GID: os.Getgid(), Exe: h.Exe}
	if h.UID != nil {
		c.UID = *h.UID
	}
	if h.GID != nil {
		c.GID = *h.GID
	}
	parents := append([]string(nil), h.ParentExe...)
	c.ancFn = func() ([]string, error) { return parents, nil }
	c.unitFn = func() (string, error) { return h.Unit, nil }
	switch {
	case h.ExeSHA256 != "":
		c.hashFn = func() (string, error) { return strings.ToLower(h.ExeSHA256), nil }
	case h.Exe != "":
		c.hashFn = func() (string, error) { return peer.FileSHA256(h.Exe) }
	}
	return c
}
