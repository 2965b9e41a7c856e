// Package config reads credd's configuration file: one TOML file holding
// what the daemon's flags hold, the access rules, user-defined credential
// types, rotation ages and validation endpoints. Decoding is strict: an
// unknown key, a value of the wrong type or a bad pattern is an error that
// names the file, the line and the key, such as
//
//	credd.toml:12: rule[2].exe: bad glob "[": syntax error in pattern
//
// Rules and types are counted from 0 in messages.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/airtrain-ai/credd/policy"
)

// MaxSocketPath is the longest Unix socket path the kernel accepts.
const MaxSocketPath = 107

// Config is a parsed configuration. Zero values and nil pointers mean the
// key was absent, and the daemon's own default (or its flag) applies.
type Config struct {
	// Path is the file the configuration came from; empty when no file
	// was read.
	Path string

	Backend          string // "auto", "system" or "file"
	Socket           string // absolute path, ~/ expanded
	AuditLog         string // absolute path, ~/ expanded
	File             string // encrypted file path, ~/ expanded
	Lifetime         time.Duration
	IdleTimeout      time.Duration
	AllowRoot        *bool
	LockOnScreenLock *bool
	ConfirmCommand   []string
	ConfirmTimeout   time.Duration

	// DefaultAction is "", "allow", "deny" or "confirm"; see policy.New.
	DefaultAction string
	// Rules are the access rules in file order.
	Rules []policy.Rule
	// Policy is built from Rules and DefaultAction.
	Policy *policy.Policy

	// Types are user-defined credential types.
	Types []Type
	// Rotation holds credential ages.
	Rotation Rotation
	// BaseURL maps a credential type to the URL its online validation
	// calls instead of the provider's.
	BaseURL map[string]string
}

// Type is a user-defined credential type.
type Type struct {
	Name        string
	Description string
	Fields      []Field
}

// Field is one field of a user-defined type.
type Field struct {
	Name     string
	Secret   bool
	Required bool
	// Env is the environment variable the field is exported as.
	Env string
	// Pattern is a regular expression a value must match; Regexp is it
	// compiled, nil when Pattern is empty.
	Pattern string
	Regexp  *regexp.Regexp
	// Default is the value of a field left out; only for non-secret
	// fields.
	Default string
}

// Rotation holds the maximum ages after which credentials are due for
// rotation.
type Rotation struct {
	// MaxAge applies to every type without its own; 0 means none.
	MaxAge time.Duration
	// ByType overrides MaxAge per credential type.
	ByType map[string]time.Duration
}

// MaxAgeFor returns the maximum age of credentials of type typ.
func (r Rotation) MaxAgeFor(typ string) time.Duration {
	if d, ok := r.ByType[typ]; ok {
		return d
	}
	return r.MaxAge
}

// DefaultPath returns $XDG_CONFIG_HOME/airtrain/credd.toml, with
// XDG_CONFIG_HOME defaulting to ~/.config.
func DefaultPath() (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find config directory: %w", err)
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "airtrain", "credd.toml"), nil
}

// Load reads and parses the file at path. An empty path means DefaultPath,
// and a missing default file gives an empty configuration; a missing file
// named explicitly is an error.
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return Parse("", nil)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// raw mirrors the file for decoding.
type raw struct {
	Backend          *string  `toml:"backend"`
	Socket           *string  `toml:"socket"`
	AuditLog         *string  `toml:"audit_log"`
	File             *string  `toml:"file"`
	Lifetime         *string  `toml:"lifetime"`
	IdleTimeout      *string  `toml:"idle_timeout"`
	AllowRoot        *bool    `toml:"allow_root"`
	LockOnScreenLock *bool    `toml:"lock_on_screen_lock"`
	ConfirmCommand   []string `toml:"confirm_command"`
	ConfirmTimeout   *string  `toml:"confirm_timeout"`
	DefaultAction    *string  `toml:"default_action"`
	Rule             []rawRule
	Type             []rawType
	Rotation         struct {
		MaxAge *string `toml:"max_age"`
		Type   map[string]struct {
			MaxAge *string `toml:"max_age"`
		} `toml:"type"`
	} `toml:"rotation"`
	Validate struct {
		BaseURL map[string]string `toml:"base_url"`
	} `toml:"validate"`
}

// list decodes from a string or an array of strings.
type list []string

// UnmarshalText takes a single string as a list of one.
func (l *list) UnmarshalText(b []byte) error {
	*l = list{string(b)}
	return nil
}

type rawRule struct {
	Name      string `toml:"name"`
	Names     list   `toml:"credentials"`
	Ops       list   `toml:"ops"`
	Exe       list   `toml:"exe"`
	ExeSHA256 list   `toml:"exe_sha256"`
	UID       any    `toml:"uid"`
	GID       any    `toml:"gid"`
	ParentExe list   `toml:"parent_exe"`
	Unit      list   `toml:"unit"`
	Agent     list   `toml:"agent"`
	Skill     list   `toml:"skill"`
	Action    string `toml:"action"`
}

type rawType struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	Field       []struct {
		Name     string  `toml:"name"`
		Secret   bool    `toml:"secret"`
		Required bool    `toml:"required"`
		Env      string  `toml:"env"`
		Pattern  string  `toml:"pattern"`
		Default  *string `toml:"default"`
	} `toml:"field"`
}

// Error is a configuration error at a place in a file.
type Error struct {
	File string // base name of the file
	Line int    // 1-based; 0 when unknown
	Key  string // dotted key with indexes, such as rule[2].exe
	Err  error
}

// Error returns "file:line: key: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Parse parses a configuration. name is the file it came from, used in
// errors and as Config.Path; errors are *Error.
func Parse(name string, data []byte) (*Config, error) {
	base := filepath.Base(name)
	if name == "" {
		base = "config"
	}
	pos, _ := index(data) // syntax errors are reported by the decoder
	fail := func(key string, err error) error {
		return &Error{File: base, Line: pos.line(key), Key: key, Err: err}
	}
	var r raw
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, convertDecodeError(base, pos, err)
	}

	c := &Config{Path: name, ConfirmCommand: r.ConfirmCommand, AllowRoot: r.AllowRoot,
		LockOnScreenLock: r.LockOnScreenLock}
	if r.Backend != nil {
		switch *r.Backend {
		case "auto", "system", "file":
			c.Backend = *r.Backend
		default:
			return nil, fail("backend", fmt.Errorf("bad backend %q: want auto, system or file",
				*r.Backend))
		}
	}
	var err error
	paths := []struct {
		key string
		in  *string
		out *string
	}{{"socket", r.Socket, &c.Socket}, {"audit_log", r.AuditLog, &c.AuditLog},
		{"file", r.File, &c.File}}
	for _, p := range paths {
		if p.in == nil {
			continue
		}
		if *p.out, err = expandPath(*p.in); err != nil {
			return nil, fail(p.key, err)
		}
	}
	if len(c.Socket) > MaxSocketPath {
		return nil, fail("socket", fmt.Errorf("path is %d bytes, longer than the %d a socket allows",
			len(c.Socket), MaxSocketPath))
	}
	durs := []struct {
		key string
		in  *string
		out *time.Duration
	}{{"lifetime", r.Lifetime, &c.Lifetime}, {"idle_timeout", r.IdleTimeout, &c.IdleTimeout},
		{"confirm_timeout", r.ConfirmTimeout, &c.ConfirmTimeout},
		{"rotation.max_age", r.Rotation.MaxAge, &c.Rotation.MaxAge}}
	for _, d := range durs {
		if d.in == nil {
			continue
		}
		if *d.out, err = ParseDuration(*d.in); err != nil {
			return nil, fail(d.key, err)
		}
	}
	if r.ConfirmCommand != nil && (len(r.ConfirmCommand) == 0 || r.ConfirmCommand[0] == "") {
		return nil, fail("confirm_command", errors.New("empty command"))
	}
	for typ, t := range r.Rotation.Type {
		key := "rotation.type." + typ + ".max_age"
		if t.MaxAge == nil {
			return nil, fail("rotation.type."+typ, errors.New("missing max_age"))
		}
		d, err := ParseDuration(*t.MaxAge)
		if err != nil {
			return nil, fail(key, err)
		}
		if c.Rotation.ByType == nil {
			c.Rotation.ByType = make(map[string]time.Duration)
		}
		c.Rotation.ByType[typ] = d
	}
	for typ, u := range r.Validate.BaseURL {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return nil, fail("validate.base_url."+typ, fmt.Errorf("bad URL %q: want http(s)://host/...", u))
		}
		if c.BaseURL == nil {
			c.BaseURL = make(map[string]string)
		}
		c.BaseURL[typ] = u
	}

	if c.Types, err = convertTypes(r.Type, fail); err != nil {
		return nil, err
	}
	if c.Rules, err = convertRules(r.Rule, fail); err != nil {
		return nil, err
	}
	if r.DefaultAction != nil {
		c.DefaultAction = *r.DefaultAction
		if c.DefaultAction == "" {
			return nil, fail("default_action", errors.New("bad action \"\": want allow, deny or confirm"))
		}
	}
	c.Policy, err = policy.New(c.Rules, c.DefaultAction)
	if err != nil {
		var re *policy.RuleError
		if errors.As(err, &re) {
			key := re.Key
			if re.Index >= 0 {
				key = fmt.Sprintf("rule[%d]", re.Index)
				if re.Key != "" {
					key += "." + re.Key
				}
			}
			return nil, fail(key, re.Err)
		}
		return nil, fail("", err)
	}
	c.Rules = c.Policy.Rules()
	return c, nil
}

func convertRules(rr []rawRule, fail func(string, error) error) ([]policy.Rule, error) {
	var out []policy.Rule
	for i, r := range rr {
		uid, err := ids(r.UID)
		if err != nil {
			return nil, fail(fmt.Sprintf("rule[%d].uid", i), err)
		}
		gid, err := ids(r.GID)
		if err != nil {
			return nil, fail(fmt.Sprintf("rule[%d].gid", i), err)
		}
		if r.Action == "" {
			return nil, fail(fmt.Sprintf("rule[%d]", i), errors.New("missing action"))
		}
		out = append(out, policy.Rule{
			Name: r.Name, Names: r.Names, Ops: r.Ops, Exe: r.Exe, ExeSHA256: r.ExeSHA256,
			UID: uid, GID: gid, ParentExe: r.ParentExe, Unit: r.Unit,
			Agent: r.Agent, Skill: r.Skill, Action: policy.Action(r.Action),
		})
	}
	return out, nil
}

// ids converts an integer or an array of integers.
func ids(v any) ([]int, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return []int{int(v)}, nil
	case []any:
		out := make([]int, 0, len(v))
		for _, e := range v {
			n, ok := e.(int64)
			if !ok {
				return nil, fmt.Errorf("want an integer or a list of integers, got %T", e)
			}
			out = append(out, int(n))
		}
		return out, nil
	}
	return nil, fmt.Errorf("want an integer or a list of integers")
}

var (
	typeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func convertTypes(rt []rawType, fail func(string, error) error) ([]Type, error) {
	var out []Type
	seen := make(map[string]bool)
	for i, t := range rt {
		key := fmt.Sprintf("type[%d]", i)
		if !typeName.MatchString(t.Name) {
			return nil, fail(key+".name", fmt.Errorf("bad type name %q: want lowercase letters, "+
				"digits, - and _", t.Name))
		}
		if seen[t.Name] {
			return nil, fail(key+".name", fmt.Errorf("type %q defined twice", t.Name))
		}
		seen[t.Name] = true
		if len(t.Field) == 0 {
			return nil, fail(key, errors.New("a type needs at least one field"))
		}
		typ := Type{Name: t.Name, Description: t.Description}
		fields := make(map[string]bool)
		for j, f := range t.Field {
			fkey := fmt.Sprintf("%s.field[%d]", key, j)
			if !typeName.MatchString(f.Name) {
				return nil, fail(fkey+".name", fmt.Errorf("bad field name %q", f.Name))
			}
			if fields[f.Name] {
				return nil, fail(fkey+".name", fmt.Errorf("field %q defined twice", f.Name))
			}
			fields[f.Name] = true
			if f.Env != "" && !envName.MatchString(f.Env) {
				return nil, fail(fkey+".env", fmt.Errorf("bad variable name %q", f.Env))
			}
			fd := Field{Name: f.Name, Secret: f.Secret, Required: f.Required, Env: f.Env,
				Pattern: f.Pattern}
			if f.Pattern != "" {
				re, err := regexp.Compile(f.Pattern)
				if err != nil {
					return nil, fail(fkey+".pattern", fmt.Errorf("bad regex %q: %v", f.Pattern,
						strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
				}
				fd.Regexp = re
			}
			if f.Default != nil {
				if f.Secret {
					return nil, fail(fkey+".default", errors.New("a secret field cannot have a "+
						"default: keep secrets out of the configuration"))
				}
				if fd.Regexp != nil && !fd.Regexp.MatchString(*f.Default) {
					return nil, fail(fkey+".default", fmt.Errorf("default %q does not match pattern",
						*f.Default))
				}
				fd.Default = *f.Default
			}
			typ.Fields = append(typ.Fields, fd)
		}
		out = append(out, typ)
	}
	return out, nil
}

// expandPath expands a leading ~/ and requires an absolute path.
func expandPath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand ~: %w", err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("bad path %q: want an absolute path or one starting with ~/", p)
	}
	return filepath.Clean(p), nil
}

var durationPart = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?)(w|d)`)

// ParseDuration parses a duration as time.ParseDuration does, with d (24h)
// and w (7d) units added, such as "90d" or "1w2d12h". It rejects negative
// durations.
func ParseDuration(s string) (time.Duration, error) {
	rest := s
	var total time.Duration
	for {
		m := durationPart.FindStringSubmatch(rest)
		if m == nil {
			break
		}
		n, err := time.ParseDuration(m[1] + "h")
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		if m[2] == "d" {
			total += n * 24
		} else {
			total += n * 24 * 7
		}
		rest = rest[len(m[0]):]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || (rest[0] < '0' || rest[0] > '9') && rest[0] != '.' {
			return 0, fmt.Errorf("bad duration %q: want a number and unit, such as 30m, 8h or 90d", s)
		}
		total += d
	}
	if s == "" || total < 0 {
		return 0, fmt.Errorf("bad duration %q: want a number and unit, such as 30m, 8h or 90d", s)
	}
	return total, nil
}
