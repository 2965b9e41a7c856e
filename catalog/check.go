package catalog

import (
	"bytes"
	"encoding/json"
	"net"
	"net/url"
	"strings"

	"github.com/airtrain-ai/credd/secret"
)

// Problem is one reason a credential failed its offline check: the field
// and the rule it broke, in words. It never holds the value.
type Problem struct {
	Field string
	Rule  string
}

// CheckError lists every problem [Type.Check] found, in the order of the
// type's fields, then unknown fields by name.
type CheckError struct {
	Type     string
	Problems []Problem
}

// Error returns the type and each problem as "field: rule", separated by
// semicolons.
func (e *CheckError) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	b.WriteString(" credential: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Rule)
	}
	return b.String()
}

const (
	ruleRequired = "is required"
	ruleUnknown  = "is not a field of this type"
	ruleBadName  = "is not a valid field name"
	ruleNoFields = "a credential of this type needs at least one field"
	ruleToken    = "must be printable ASCII without whitespace"
)

// Check checks fields offline: every required field is present, no field is
// unknown to the type, and every present field passes its format check. A
// nil or empty value counts as absent. It returns nil or a *CheckError; the
// error never contains a value.
func (t *Type) Check(fields map[string]*secret.Secret) error {
	var problems []Problem
	add := func(field, rule string) { problems = append(problems, Problem{field, rule}) }

	for i := range t.Fields {
		f := &t.Fields[i]
		v := fields[f.Name].Reveal()
		if len(v) == 0 {
			if f.Required {
				add(f.Name, ruleRequired)
			}
			continue
		}
		if f.check != nil && !f.check(v) {
			add(f.Name, f.Rule)
		}
	}
	if t.AnyFields && len(fields) == 0 {
		add(t.Main, ruleNoFields)
	}
	var unknown []Problem
	for name := range fields {
		switch {
		case t.AnyFields:
			// Any value goes (a PEM key spans lines); only the name
			// is checked.
			if !ValidFieldName(name) {
				unknown = append(unknown, Problem{name, ruleBadName})
			}
		case t.Field(name) == nil:
			unknown = append(unknown, Problem{name, ruleUnknown})
		}
	}
	if len(problems) == 0 && len(unknown) == 0 {
		return nil
	}
	sortProblems(unknown)
	return &CheckError{Type: t.Name, Problems: append(problems, unknown...)}
}

func sortProblems(p []Problem) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].Field < p[j-1].Field; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// ApplyDefaults adds to fields, as new secrets, the default of every absent
// field whose variable is specific to the provider (AWS_REGION, not HOST),
// and returns the names it added. Call it before storing a credential so
// that programs find those variables set; defaults of generic-variable
// fields are left to the program.
func (t *Type) ApplyDefaults(fields map[string]*secret.Secret) []string {
	var added []string
	for i := range t.Fields {
		f := &t.Fields[i]
		if f.Default == "" || f.GenericEnv || fields[f.Name].Len() > 0 {
			continue
		}
		if old := fields[f.Name]; old != nil {
			old.Wipe()
		}
		fields[f.Name] = secret.FromString(f.Default)
		added = append(added, f.Name)
	}
	return added
}

// Env returns, for each field of fields that a program should see, the
// environment variable it goes under: exactly the fields present and not
// empty. A field absent from fields is never exported, neither as "None"
// nor from its default. The generic type's value goes under the variable
// derived from credName ([EnvName]); other fields unknown to the type go
// under their own derived name. Aliases are not included; see [Type.Exports].
func (t *Type) Env(credName string, fields map[string]*secret.Secret) map[string]string {
	env := make(map[string]string, len(fields))
	for name, s := range fields {
		if s.Len() == 0 {
			continue
		}
		if v := t.envOf(credName, name); v != "" {
			env[name] = v
		}
	}
	return env
}

// Export is one environment variable a credential sets: its name and the
// field whose value it carries.
type Export struct {
	Var   string
	Field string
}

// Exports returns every variable a program should see for fields, aliases
// included, sorted by variable name. It follows the rules of [Type.Env].
func (t *Type) Exports(credName string, fields map[string]*secret.Secret) []Export {
	var out []Export
	for name, v := range t.Env(credName, fields) {
		out = append(out, Export{Var: v, Field: name})
		if f := t.Field(name); f != nil {
			for _, a := range f.Aliases {
				out = append(out, Export{Var: a, Field: name})
			}
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Var < out[j-1].Var; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// envOf returns the variable of one field, or "" when it has none.
func (t *Type) envOf(credName, field string) string {
	f := t.Field(field)
	switch {
	case f != nil && f.Env != "":
		return f.Env
	case f != nil && t.AnyFields:
		return EnvName(credName)
	case f == nil && t.AnyFields:
		return EnvName(field)
	}
	return ""
}

// The format checks below look at bytes only and allocate nothing, except
// the service-account check, which parses JSON.

func tokenShape(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// prefixed accepts a token that starts with prefix, has something after
// it and is at least min bytes long.
func prefixed(prefix string, min int) func([]byte) bool {
	return func(v []byte) bool {
		return len(v) > len(prefix) && len(v) >= min &&
			bytes.HasPrefix(v, []byte(prefix)) && tokenShape(v)
	}
}

func openaiOrg(v []byte) bool {
	if len(v) != 4+24 || !bytes.HasPrefix(v, []byte("org-")) {
		return false
	}
	for _, c := range v[4:] {
		if !isAlnum(c) {
			return false
		}
	}
	return true
}

func awsKeyID(v []byte) bool {
	if len(v) != 20 || !(bytes.HasPrefix(v, []byte("AKIA")) || bytes.HasPrefix(v, []byte("ASIA"))) {
		return false
	}
	for _, c := range v[4:] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func awsSecret(v []byte) bool { return len(v) == 40 && tokenShape(v) }

func googleAPIKey(v []byte) bool {
	if len(v) != 39 || !bytes.HasPrefix(v, []byte("AIza")) {
		return false
	}
	for _, c := range v[4:] {
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func serviceAccountJSON(v []byte) bool {
	var k struct {
		Type         string `json:"type"`
		ProjectID    string `json:"project_id"`
		PrivateKeyID string `json:"private_key_id"`
		PrivateKey   string `json:"private_key"`
		ClientEmail  string `json:"client_email"`
		ClientID     string `json:"client_id"`
		TokenURI     string `json:"token_uri"`
	}
	if json.Unmarshal(v, &k) != nil {
		return false
	}
	return k.Type == "service_account" && k.ProjectID != "" && k.PrivateKeyID != "" &&
		strings.HasPrefix(k.PrivateKey, "-----BEGIN PRIVATE KEY-----") &&
		strings.Contains(k.ClientEmail, "@") && k.ClientID != "" && k.TokenURI != ""
}

// httpsURL accepts an absolute https URL with a host, or an http one whose
// host is a loopback address or localhost.
func httpsURL(v []byte) bool {
	u, ok := parseURL(v)
	if !ok {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())
}

func strictHTTPSURL(v []byte) bool {
	u, ok := parseURL(v)
	return ok && u.Scheme == "https"
}

func anyHTTPURL(v []byte) bool {
	u, ok := parseURL(v)
	return ok && (u.Scheme == "https" || u.Scheme == "http")
}

func parseURL(v []byte) (*url.URL, bool) {
	if !tokenShape(v) {
		return nil, false
	}
	u, err := url.Parse(string(v))
	if err != nil || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func positiveInt(v []byte) bool {
	if len(v) == 0 || len(v) > 9 || v[0] == '0' {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func nonEmpty(v []byte) bool { return len(bytes.TrimSpace(v)) > 0 }

// apiVersion accepts a date-shaped version such as 2024-10-21, optionally
// followed by a suffix such as -preview.
func apiVersion(v []byte) bool {
	if len(v) < 10 {
		return false
	}
	for i, c := range v[:10] {
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
		} else if c < '0' || c > '9' {
			return false
		}
	}
	return tokenShape(v)
}
