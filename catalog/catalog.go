// Package catalog describes the credential types credd knows: which fields a
// credential of each type holds, which of them are secret, the environment
// variable each field reaches a program under, the offline format check of
// each field and, for types whose provider offers a free authenticated
// endpoint, an online check.
//
// The built-in types mirror the credential classes of the Airtrain agent
// framework, whose from_env reads each field from the upper-cased field name,
// so that a credential handed to a program under [Type.Env] is found by the
// framework unchanged. Users may add their own types ([UserType]); a
// [Registry] holds the built-in types and those.
//
// Nothing in this package prints, logs or returns a credential's value:
// errors name the field and the rule it broke, never what it held.
package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Generic is the name of the type that accepts any fields. Its main field,
// [GenericValue], is exported under a variable named after the credential.
const (
	Generic      = "generic"
	GenericValue = "value"
)

// maxNameLen bounds type and field names; it matches the wire protocol's
// limit on names.
const maxNameLen = 128

// Field describes one field of a credential type. Fields of a registered
// type must not be modified.
type Field struct {
	// Name is the field's name, as stored and as requested over the socket.
	Name string
	// Secret marks a field whose value is a secret (a key, a token).
	Secret bool
	// Required marks a field a credential of this type must hold.
	Required bool
	// Default is the value a program assumes when the field is absent, or
	// "". See [Type.ApplyDefaults] for when it is stored.
	Default string
	// Env is the environment variable the field is exported under. It is
	// "" for a field whose variable is derived from the credential's name
	// (the generic type's value).
	Env string
	// Aliases are further variables some programs read the same value
	// from; they are offered to programs beside Env, never instead of it.
	Aliases []string
	// GenericEnv marks a field whose variable is not specific to the
	// provider (VERSION, HOST): it is exported only when the credential
	// holds the field, never from its default, and it does not by itself
	// identify a credential in an imported environment.
	GenericEnv bool
	// Rule describes the field's format check in words, or is "" when
	// any value is accepted.
	Rule string
	// Pattern is the regular expression a user type declared for the
	// field, as written in the config file; "" for built-in fields.
	Pattern string

	check func(v []byte) bool
}

// Type describes a credential type. Types in a [Registry] must not be
// modified.
type Type struct {
	// Name is the type's name ("openai").
	Name string
	// Description says in a few words what the type is for.
	Description string
	// Fields lists the type's fields in the order the type declares them.
	Fields []Field
	// Main names the field that holds the credential's main secret: its
	// only secret field or the first one named as main. A type with no
	// secret field names its most important field.
	Main string
	// Online describes the online check, or is "" when the type has none.
	Online string
	// AnyFields marks a type that accepts fields of any valid name (the
	// generic type).
	AnyFields bool
	// User marks a type declared in the configuration file.
	User bool

	online *onlineCheck
}

// Field returns the field called name, or nil when the type declares none.
func (t *Type) Field(name string) *Field {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

// Registry is a set of credential types: the built-in ones plus those the
// user declared. It is safe for concurrent use because it never changes.
type Registry struct {
	byName map[string]*Type
	sorted []*Type
}

// Lookup returns the type called name.
func (r *Registry) Lookup(name string) (*Type, bool) {
	t, ok := r.byName[name]
	return t, ok
}

// All returns every type sorted by name. The slice is the caller's; the
// types are shared and must not be modified.
func (r *Registry) All() []*Type {
	return append([]*Type(nil), r.sorted...)
}

var builtinRegistry = mustBuiltin()

// Builtin returns the registry of built-in types only.
func Builtin() *Registry { return builtinRegistry }

func mustBuiltin() *Registry {
	r, err := newRegistry(builtinTypes(), nil)
	if err != nil {
		panic("catalog: built-in types: " + err.Error())
	}
	return r
}

// UserType is a credential type declared in the configuration file. The
// configuration loader fills it; [NewRegistry] checks it.
type UserType struct {
	Name        string      `toml:"name" json:"name"`
	Description string      `toml:"description" json:"description,omitempty"`
	Fields      []UserField `toml:"fields" json:"fields"`
	// Main names the main field; "" means the first secret field.
	Main string `toml:"main" json:"main,omitempty"`
}

// UserField is one field of a [UserType].
type UserField struct {
	Name     string `toml:"name" json:"name"`
	Secret   bool   `toml:"secret" json:"secret,omitempty"`
	Required bool   `toml:"required" json:"required,omitempty"`
	Default  string `toml:"default" json:"default,omitempty"`
	// Env is the variable the field is exported under; "" means the
	// upper-cased field name.
	Env string `toml:"env" json:"env,omitempty"`
	// Pattern is a regular expression (RE2 syntax) the whole value must
	// match; "" accepts any value.
	Pattern string `toml:"pattern" json:"pattern,omitempty"`
}

// NewRegistry returns a registry holding the built-in types and the user's.
// It fails, naming the type and field, when a user type has a bad or
// duplicate name, clashes with a built-in type, declares no secret field,
// names a main field it does not have, or gives a variable name or regular
// expression that does not compile.
func NewRegistry(user []UserType) (*Registry, error) {
	if len(user) == 0 {
		return builtinRegistry, nil
	}
	types := make([]*Type, 0, len(user))
	for i := range user {
		t, err := compileUserType(&user[i])
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	return newRegistry(builtinTypes(), types)
}

func newRegistry(builtin, user []*Type) (*Registry, error) {
	r := &Registry{byName: make(map[string]*Type, len(builtin)+len(user))}
	for _, t := range builtin {
		r.byName[t.Name] = t
	}
	for _, t := range user {
		if old, ok := r.byName[t.Name]; ok {
			if old.User {
				return nil, fmt.Errorf("user type %q: declared twice", t.Name)
			}
			return nil, fmt.Errorf("user type %q: clashes with the built-in type of that name",
				t.Name)
		}
		r.byName[t.Name] = t
	}
	for _, t := range r.byName {
		r.sorted = append(r.sorted, t)
	}
	sort.Slice(r.sorted, func(i, j int) bool { return r.sorted[i].Name < r.sorted[j].Name })
	return r, nil
}

var (
	typeNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	fieldNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ValidFieldName reports whether name may name a field: a letter, then
// letters, digits, '_', '.' or '-', at most 128 bytes.
func ValidFieldName(name string) bool {
	return len(name) <= maxNameLen && fieldNameRE.MatchString(name)
}

func compileUserType(u *UserType) (*Type, error) {
	if len(u.Name) > maxNameLen || !typeNameRE.MatchString(u.Name) {
		return nil, fmt.Errorf("user type %q: name must be a lowercase letter followed by "+
			"lowercase letters, digits, '_' or '-'", u.Name)
	}
	if len(u.Fields) == 0 {
		return nil, fmt.Errorf("user type %q: declares no fields", u.Name)
	}
	t := &Type{Name: u.Name, Description: u.Description, User: true, Main: u.Main}
	if t.Description == "" {
		t.Description = "user-defined type"
	}
	seen := make(map[string]bool, len(u.Fields))
	for _, uf := range u.Fields {
		f, err := compileUserField(&uf)
		if err != nil {
			return nil, fmt.Errorf("user type %q: %w", u.Name, err)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("user type %q: field %q declared twice", u.Name, f.Name)
		}
		seen[f.Name] = true
		if t.Main == "" && f.Secret {
			t.Main = f.Name
		}
		t.Fields = append(t.Fields, f)
	}
	main := t.Field(t.Main)
	switch {
	case t.Main == "":
		return nil, fmt.Errorf("user type %q: declares no secret field", u.Name)
	case main == nil:
		return nil, fmt.Errorf("user type %q: main field %q is not declared", u.Name, t.Main)
	case !main.Secret:
		return nil, fmt.Errorf("user type %q: main field %q is not secret", u.Name, t.Main)
	}
	return t, nil
}

func compileUserField(uf *UserField) (Field, error) {
	f := Field{Name: uf.Name, Secret: uf.Secret, Required: uf.Required,
		Default: uf.Default, Env: uf.Env}
	if !ValidFieldName(f.Name) {
		return f, fmt.Errorf("field %q: name must be a letter followed by letters, digits, "+
			"'_', '.' or '-'", f.Name)
	}
	if f.Env == "" {
		f.Env = EnvName(f.Name)
	}
	if !envNameRE.MatchString(f.Env) {
		return f, fmt.Errorf("field %q: environment variable %q is not a valid name "+
			"(letters, digits and '_', not starting with a digit)", f.Name, f.Env)
	}
	if uf.Pattern != "" {
		// Anchor the pattern so that it describes the whole value.
		re, err := regexp.Compile(`^(?:` + uf.Pattern + `)$`)
		if err != nil {
			return f, fmt.Errorf("field %q: pattern does not compile: %w", f.Name, err)
		}
		f.Rule = "must match the pattern " + uf.Pattern
		f.Pattern = uf.Pattern
		f.check = re.Match
	}
	if f.Default != "" && f.check != nil && !f.check([]byte(f.Default)) {
		return f, fmt.Errorf("field %q: default does not match the pattern", f.Name)
	}
	return f, nil
}

// EnvName derives an environment variable name from a credential or field
// name: upper-cased, every byte other than a letter or digit replaced by
// '_', and '_' put in front of a leading digit.
func EnvName(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c)
		case c >= '0' && c <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
