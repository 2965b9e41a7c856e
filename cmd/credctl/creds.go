package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

func init() {
	register(&command{
		name: "set", usage: "set NAME [--type TYPE] [--no-check]", short: "store a credential",
		long: `On a terminal, asks for each field of the type (secret fields without
echo, defaults shown for the others). Otherwise reads FIELD=VALUE lines from
stdin; a type with one secret field (and the generic type) also takes the
bare value. A value is never taken from the command line.`,
		build: func(fs *flag.FlagSet) runFunc {
			typ := fs.String("type", "generic", "credential `type` (see credctl types)")
			noCheck := fs.Bool("no-check", false, "store even if the format check fails (marked unchecked)")
			lines := fs.Bool("fields", false, "read FIELD=VALUE lines from stdin even for the generic type")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("set takes one credential name")
				}
				t, err := e.typeInfo(ctx, *typ)
				if err != nil {
					return err
				}
				fields, err := e.readFields(t, args[0], *lines)
				if err != nil {
					return err
				}
				defer wipeAll(fields)
				res, err := e.client.Set(ctx, args[0], *typ, fields, client.SetOptions{NoCheck: *noCheck})
				if err != nil {
					return err
				}
				verb := "updated"
				if res.Created {
					verb = "stored"
				}
				note := ""
				if res.Unchecked {
					note = " (unchecked: it failed its format check)"
				}
				fmt.Fprintf(e.stderr, "%s %s (%s)%s\n", verb, args[0], *typ, note)
				return nil
			}
		},
	})
	register(&command{
		name: "get", usage: "get NAME [--field FIELD] [--json]", short: "print a credential's value",
		long: `Prints the credential's main secret, or the named field, followed by a
newline. --json prints the whole credential, every value included.`,
		build: func(fs *flag.FlagSet) runFunc {
			field := fs.String("field", "", "print this `field` instead of the main secret")
			asJSON := fs.Bool("json", false, "print the whole credential as JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("get takes one credential name")
				}
				if *asJSON {
					cred, err := e.client.Get(ctx, args[0])
					if err != nil {
						return err
					}
					defer cred.Wipe()
					out := &protocol.Credential{Name: cred.Name, Type: cred.Type, Env: cred.EnvNames, Main: cred.Main,
						Fields: make(map[string]*protocol.Value, len(cred.Fields))}
					for k, v := range cred.Fields {
						out.Fields[k] = protocol.NewValue(v)
					}
					return printJSON(e.stdout, out)
				}
				v, err := e.client.Value(ctx, args[0], *field)
				if err != nil {
					return err
				}
				defer v.Wipe()
				line := append(bytes.Clone(v.Reveal()), '\n')
				defer secret.Wipe(line)
				_, err = e.stdout.Write(line)
				return err
			}
		},
	})
}

// typeInfo fetches the description of a credential type from the agent.
func (e *env) typeInfo(ctx context.Context, name string) (*protocol.TypeInfo, error) {
	var res protocol.TypesResult
	if err := e.client.Do(ctx, &protocol.Request{Op: protocol.OpTypes}, &res); err != nil {
		return nil, err
	}
	for i := range res.Types {
		if res.Types[i].Name == name {
			return &res.Types[i], nil
		}
	}
	return nil, usagef("unknown type %q; run credctl types for the list", name)
}

// readFields collects a credential's fields: prompts on a terminal, else
// FIELD=VALUE lines or a bare value from stdin.
func (e *env) readFields(t *protocol.TypeInfo, name string, forceLines bool) (map[string]*secret.Secret, error) {
	if e.terminal() >= 0 {
		return e.promptFields(t, name)
	}
	v, err := e.readSecret("")
	if err != nil {
		return nil, err
	}
	defer v.Wipe()
	raw := v.Reveal()
	if forceLines || (!t.AnyFields && looksLikeFieldLines(t, raw)) {
		return parseFieldLines(raw)
	}
	main := t.Main
	if t.AnyFields {
		main = "value"
	}
	if main == "" || len(secretFields(t)) > 1 {
		return nil, fmt.Errorf("type %s has several fields: give FIELD=VALUE lines on stdin (fields: %s)", t.Name, fieldNames(t))
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("no value on stdin")
	}
	return map[string]*secret.Secret{main: secret.New(raw)}, nil
}

func (e *env) promptFields(t *protocol.TypeInfo, name string) (map[string]*secret.Secret, error) {
	if t.AnyFields {
		v, err := e.readSecret(fmt.Sprintf("Value for %s: ", name))
		if err != nil {
			return nil, err
		}
		return map[string]*secret.Secret{"value": v}, nil
	}
	fields := map[string]*secret.Secret{}
	for _, f := range t.Fields {
		label := f.Name
		if !f.Required {
			label += " (optional)"
		}
		var v *secret.Secret
		var err error
		if f.Secret {
			v, err = e.readSecret(label + ": ")
		} else {
			v, err = e.readLine(label, f.Default)
		}
		if err != nil {
			wipeAll(fields)
			return nil, err
		}
		if v.Len() == 0 {
			v.Wipe()
			continue
		}
		fields[f.Name] = v
	}
	return fields, nil
}

// readLine reads one echoed line from the terminal, offering def.
func (e *env) readLine(label, def string) (*secret.Secret, error) {
	if def != "" {
		fmt.Fprintf(e.stderr, "%s [%s]: ", label, def)
	} else {
		fmt.Fprintf(e.stderr, "%s: ", label)
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("read from terminal: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		line = def
	}
	return secret.FromString(line), nil
}

func looksLikeFieldLines(t *protocol.TypeInfo, raw []byte) bool {
	first, _, _ := bytes.Cut(raw, []byte("\n"))
	k, _, ok := bytes.Cut(first, []byte("="))
	if !ok {
		return false
	}
	for _, f := range t.Fields {
		if f.Name == string(bytes.TrimSpace(k)) {
			return true
		}
	}
	return false
}

// parseFieldLines reads FIELD=VALUE lines; blank lines and # comments are
// skipped. Errors name the line, never its value.
func parseFieldLines(raw []byte) (map[string]*secret.Secret, error) {
	fields := map[string]*secret.Secret{}
	for i, line := range bytes.Split(raw, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok {
			wipeAll(fields)
			return nil, fmt.Errorf("stdin line %d: want FIELD=VALUE", i+1)
		}
		key := string(bytes.TrimSpace(k))
		if !protocol.ValidName(key) {
			wipeAll(fields)
			return nil, fmt.Errorf("stdin line %d: %q is not a valid field name", i+1, key)
		}
		fields[key] = secret.New(v)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("no fields on stdin")
	}
	return fields, nil
}

func secretFields(t *protocol.TypeInfo) []string {
	var out []string
	for _, f := range t.Fields {
		if f.Secret {
			out = append(out, f.Name)
		}
	}
	return out
}

func fieldNames(t *protocol.TypeInfo) string {
	var out []string
	for _, f := range t.Fields {
		out = append(out, f.Name)
	}
	return strings.Join(out, ", ")
}

func wipeAll(fields map[string]*secret.Secret) {
	for _, v := range fields {
		v.Wipe()
	}
}
