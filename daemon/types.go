package daemon

import (
	"strings"

	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// checkFields checks fields against their type before they are stored, and
// reports whether they are stored unchecked.
func (s *Server) checkFields(typ string, fields map[string]*secret.Secret, noCheck bool) (bool, *protocol.Error) {
	if typ != "generic" {
		return false, protocol.Errorf(protocol.CodeInvalid, "unknown type %q", truncate(typ, 40))
	}
	return false, nil
}

// describeCredential adds the environment variable of each field and the
// main field to a credential being returned.
func (s *Server) describeCredential(c *protocol.Credential) {
	c.Env = make(map[string]string, len(c.Fields))
	for k := range c.Fields {
		if k == "value" {
			c.Env[k] = EnvName(c.Name)
		} else {
			c.Env[k] = EnvName(c.Name + "_" + k)
		}
	}
	if _, ok := c.Fields["value"]; ok {
		c.Main = "value"
	}
}

// EnvName turns a credential name into an environment variable name:
// upper case, with every character other than A-Z and 0-9 as '_', and a
// leading '_' when it would start with a digit.
func EnvName(name string) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(name) {
		switch {
		case r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
