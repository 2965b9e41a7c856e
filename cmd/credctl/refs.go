package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/secret"
)

// A secret reference names a credential held by the agent:
//
//	cred://NAME          the credential's main secret
//	cred://NAME/FIELD    one field of it
//
// NAME and FIELD use the characters of credential names (A-Z a-z 0-9 . _ -,
// not starting with . or -). A reference ends at the first character that
// cannot belong to a name, so it may sit inside a longer value, as in
// postgres://app:cred://db/password@host/app. A name followed by a second
// "/" is malformed rather than silently cut short.
const refScheme = "cred://"

// refRE matches a well-formed reference. Submatches: name, field.
var refRE = regexp.MustCompile(`cred://(` + refName + `)(?:/(` + refName + `))?`)

// refName is a credential or field name, as protocol.ValidName has it.
const refName = `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`

// ref is one parsed reference.
type ref struct {
	name, field string
}

func (r ref) String() string {
	if r.field == "" {
		return refScheme + r.name
	}
	return refScheme + r.name + "/" + r.field
}

// span is a reference's place in a text: text[start:end] is the reference.
type span struct {
	start, end int
	ref        ref
}

// findRefs returns every reference in s, in order. Any "cred://" that does
// not start a well-formed reference is an error naming what was found (a
// reference holds names only, never a value, so it may be shown).
func findRefs(s string) ([]span, error) {
	var out []span
	for off := 0; ; {
		i := strings.Index(s[off:], refScheme)
		if i < 0 {
			return out, nil
		}
		i += off
		m := refRE.FindStringSubmatchIndex(s[i:])
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("malformed reference %q: want cred://NAME or cred://NAME/FIELD", clip(s[i:]))
		}
		end := i + m[1]
		if end < len(s) && s[end] == '/' {
			return nil, fmt.Errorf("malformed reference %q: want cred://NAME or cred://NAME/FIELD", clip(s[i:]))
		}
		r := ref{name: s[i+m[2] : i+m[3]]}
		if m[4] >= 0 {
			r.field = s[i+m[4] : i+m[5]]
		}
		out = append(out, span{start: i, end: end, ref: r})
		off = end
	}
}

// clip shortens a malformed reference for an error message: up to the first
// space or quote, at most 60 bytes.
func clip(s string) string {
	if i := strings.IndexAny(s, " \t\r\n\"'}"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// resolver fetches referenced values from the agent, each distinct
// reference once, and remembers which credential each value came from.
type resolver struct {
	c      *client.Client
	values map[ref]*secret.Secret
}

func newResolver(c *client.Client) *resolver {
	return &resolver{c: c, values: map[ref]*secret.Secret{}}
}

// value returns the value r names. The error wraps the agent's, so that
// credctl's exit code follows it, and names the reference.
func (rs *resolver) value(ctx context.Context, r ref) (*secret.Secret, error) {
	if v, ok := rs.values[r]; ok {
		return v, nil
	}
	v, err := rs.c.Value(ctx, r.name, r.field)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", r, err)
	}
	rs.values[r] = v
	return v, nil
}

// expand returns s with every reference replaced by its value.
func (rs *resolver) expand(ctx context.Context, s string) (string, error) {
	spans, err := findRefs(s)
	if err != nil || len(spans) == 0 {
		return s, err
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		v, err := rs.value(ctx, sp.ref)
		if err != nil {
			return "", err
		}
		b.WriteString(s[last:sp.start])
		b.Write(v.Reveal())
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// masks returns the resolved values with their credentials' names, for
// --mask.
func (rs *resolver) masks() []maskSecret {
	out := make([]maskSecret, 0, len(rs.values))
	for r, v := range rs.values {
		out = append(out, maskSecret{name: r.name, value: string(v.Reveal())})
	}
	return out
}

// wipe zeroes every resolved value.
func (rs *resolver) wipe() {
	for _, v := range rs.values {
		v.Wipe()
	}
}
