package config

import (
	"fmt"

	"github.com/airtrain-ai/credd/catalog"
)

// Registry returns the credential types in force under c: the built-in
// catalog plus the file's own types. An error names the file and the type.
func (c *Config) Registry() (*catalog.Registry, error) {
	if len(c.Types) == 0 {
		return catalog.Builtin(), nil
	}
	user := make([]catalog.UserType, 0, len(c.Types))
	for _, t := range c.Types {
		ut := catalog.UserType{Name: t.Name, Description: t.Description}
		for _, f := range t.Fields {
			ut.Fields = append(ut.Fields, catalog.UserField{Name: f.Name, Secret: f.Secret,
				Required: f.Required, Default: f.Default, Env: f.Env, Pattern: f.Pattern})
		}
		user = append(user, ut)
	}
	reg, err := catalog.NewRegistry(user)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name(), err)
	}
	return reg, nil
}

func (c *Config) name() string {
	if c.Path == "" {
		return "config"
	}
	return c.Path
}
