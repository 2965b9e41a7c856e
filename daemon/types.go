package daemon

import (
	"errors"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// types returns the registry of credential types in force.
func (s *Server) types() *catalog.Registry {
	if r := s.rules().Types; r != nil {
		return r
	}
	return catalog.Builtin()
}

// checkFields checks fields against their type before they are stored,
// adding the defaults of provider-specific fields, and reports whether they
// are stored unchecked. The error names fields and rules, never values.
func (s *Server) checkFields(typ string, fields map[string]*secret.Secret, noCheck bool) (bool, *protocol.Error) {
	t, ok := s.types().Lookup(typ)
	if !ok {
		return false, protocol.Errorf(protocol.CodeInvalid, "unknown type %q: run credctl types for the list", truncate(typ, 40))
	}
	err := t.Check(fields)
	var ce *catalog.CheckError
	switch {
	case err == nil:
	case errors.As(err, &ce) && noCheck:
		return true, nil
	default:
		return false, protocol.Errorf(protocol.CodeInvalid, "%v", err)
	}
	t.ApplyDefaults(fields)
	return false, nil
}

// describeCredential adds the environment variable of each field and the
// main field to a credential being returned.
func (s *Server) describeCredential(c *protocol.Credential) {
	fields := make(map[string]*secret.Secret, len(c.Fields))
	for k, v := range c.Fields {
		fields[k] = v.S
	}
	t, ok := s.types().Lookup(c.Type)
	if !ok {
		t, _ = s.types().Lookup(catalog.Generic)
	}
	c.Env = t.Env(c.Name, fields)
	c.Main = t.Main
	if _, ok := fields[c.Main]; !ok && len(fields) == 1 {
		for k := range fields {
			c.Main = k
		}
	}
}

// typeInfos describes the registry for the types op.
func (s *Server) typeInfos() *protocol.TypesResult {
	all := s.types().All()
	res := &protocol.TypesResult{Types: make([]protocol.TypeInfo, 0, len(all))}
	for _, t := range all {
		ti := protocol.TypeInfo{Name: t.Name, Description: t.Description, Main: t.Main,
			Online: t.Online, AnyFields: t.AnyFields, User: t.User}
		for _, f := range t.Fields {
			ti.Fields = append(ti.Fields, protocol.FieldInfo{Name: f.Name, Secret: f.Secret,
				Required: f.Required, Default: f.Default, Env: f.Env, Rule: f.Rule, Pattern: f.Pattern})
		}
		res.Types = append(res.Types, ti)
	}
	return res
}
