package client

import (
	"context"
	"time"

	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// Credential is a credential as the daemon returned it. Its values are
// Secrets: they never print, and Wipe zeroes them.
type Credential struct {
	Name string
	Type string
	// Fields holds every field's value.
	Fields map[string]*secret.Secret
	// EnvNames maps each field to the environment variable its type
	// gives it; fields that must not be exported are absent.
	EnvNames map[string]string
	// Main names the field that holds the main secret.
	Main string
}

// Secret returns the main secret, or nil when the type names none.
func (c *Credential) Secret() *secret.Secret { return c.Fields[c.Main] }

// Environ returns NAME=value entries for the fields that have a variable,
// for a child process's environment. The strings are copies that cannot be
// wiped: build them only to hand them to a child.
func (c *Credential) Environ() []string {
	out := make([]string, 0, len(c.EnvNames))
	for field, name := range c.EnvNames {
		if v, ok := c.Fields[field]; ok {
			out = append(out, name+"="+string(v.Reveal()))
		}
	}
	return out
}

// Wipe zeroes every value.
func (c *Credential) Wipe() {
	for _, v := range c.Fields {
		v.Wipe()
	}
}

func fromWire(w *protocol.Credential) *Credential {
	c := &Credential{Name: w.Name, Type: w.Type, EnvNames: w.Env, Main: w.Main,
		Fields: make(map[string]*secret.Secret, len(w.Fields))}
	for k, v := range w.Fields {
		if v != nil {
			c.Fields[k] = v.S
		}
	}
	return c
}

// Hello asks the daemon who it is.
func (c *Client) Hello(ctx context.Context) (*protocol.HelloResult, error) {
	var r protocol.HelloResult
	return &r, c.Do(ctx, &protocol.Request{Op: protocol.OpHello}, &r)
}

// Status reports whether the daemon is locked, how many credentials it
// holds, and until when.
func (c *Client) Status(ctx context.Context) (*protocol.StatusResult, error) {
	var r protocol.StatusResult
	return &r, c.Do(ctx, &protocol.Request{Op: protocol.OpStatus}, &r)
}

// List describes every credential, without values.
func (c *Client) List(ctx context.Context) ([]protocol.Info, error) {
	var r protocol.ListResult
	if err := c.Do(ctx, &protocol.Request{Op: protocol.OpList}, &r); err != nil {
		return nil, err
	}
	return r.Credentials, nil
}

// Get returns the named credential with all its fields.
func (c *Client) Get(ctx context.Context, name string) (*Credential, error) {
	var r protocol.GetResult
	if err := c.Do(ctx, &protocol.Request{Op: protocol.OpGet, Name: name}, &r); err != nil {
		return nil, err
	}
	if r.Credential == nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "reply without credential")
	}
	return fromWire(r.Credential), nil
}

// Value returns one field of the named credential; an empty field means
// the credential's main secret.
func (c *Client) Value(ctx context.Context, name, field string) (*secret.Secret, error) {
	if field == "" {
		cred, err := c.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		main := cred.Secret()
		for k, v := range cred.Fields {
			if k != cred.Main {
				v.Wipe()
			}
		}
		if main == nil {
			return nil, protocol.Errorf(protocol.CodeNotFound, "credential %q has no main secret; name a field", name)
		}
		return main, nil
	}
	var r protocol.GetResult
	if err := c.Do(ctx, &protocol.Request{Op: protocol.OpGet, Name: name, Field: field}, &r); err != nil {
		return nil, err
	}
	if r.Value == nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "reply without value")
	}
	return r.Value.S, nil
}

// SetOptions qualify Set.
type SetOptions struct {
	// NoCheck stores a credential that fails its type's format check,
	// marked unchecked.
	NoCheck bool
}

// Set stores a credential of type typ ("generic" when empty). The caller
// keeps ownership of fields.
func (c *Client) Set(ctx context.Context, name, typ string, fields map[string]*secret.Secret, o SetOptions) (*protocol.SetResult, error) {
	req := &protocol.Request{Op: protocol.OpSet, Name: name, Type: typ, NoCheck: o.NoCheck,
		Fields: make(map[string]*protocol.Value, len(fields))}
	for k, v := range fields {
		req.Fields[k] = protocol.NewValue(v)
	}
	var r protocol.SetResult
	return &r, c.Do(ctx, req, &r)
}

// Delete removes the named credential.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.Do(ctx, &protocol.Request{Op: protocol.OpDelete, Name: name}, nil)
}

// Unlock unlocks the daemon's store. passphrase may be nil for a backend
// that needs none; ttl of zero means the daemon's configured lifetime.
func (c *Client) Unlock(ctx context.Context, passphrase *secret.Secret, ttl time.Duration) (*protocol.UnlockResult, error) {
	req := &protocol.Request{Op: protocol.OpUnlock, TTL: ttl.Seconds()}
	if passphrase != nil {
		req.Passphrase = protocol.NewValue(passphrase)
	}
	var r protocol.UnlockResult
	return &r, c.Do(ctx, req, &r)
}

// Lock wipes every credential from the daemon's memory.
func (c *Client) Lock(ctx context.Context) error {
	return c.Do(ctx, &protocol.Request{Op: protocol.OpLock}, nil)
}
