package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/protocol"
)

func init() {
	register(&command{
		name: "types", usage: "types [--json]", short: "list the credential types the agent knows",
		long: `Prints each type with its fields: the environment variable a field is
exported under, whether it is secret (s) or required (r), its default, and
the format rule it must pass.`,
		build: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				var res protocol.TypesResult
				if err := e.client.Do(ctx, &protocol.Request{Op: protocol.OpTypes}, &res); err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e.stdout, res.Types)
				}
				return printTypes(e, res.Types)
			}
		},
	})
	register(&command{
		name: "show", usage: "show NAME [--json]", short: "describe a credential without its secrets",
		long: `Prints the credential's type, its fields (which are set, under which
variable; secret fields as <redacted>, other fields with their value), when
it was created, updated and last validated, and whether rotation is due.

Secret values never leave the agent for this: show reads the credential's
description from list and asks get only for the fields its type marks as
not secret, so each shown value has its own audit record.`,
		build: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("show takes one credential name")
				}
				v, err := e.describe(ctx, args[0])
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e.stdout, v)
				}
				return printShow(e, v)
			}
		},
	})
}

func printTypes(e *env, types []protocol.TypeInfo) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for i, t := range types {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		note := ""
		if t.User {
			note = " (user-defined)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\n", t.Name, t.Description, note)
		if t.AnyFields {
			fmt.Fprintf(tw, "  %s\t%s\ts\tany fields; the value goes under the credential's name\n",
				catalog.GenericValue, "<NAME>")
			continue
		}
		for _, f := range t.Fields {
			marks := ""
			if f.Secret {
				marks += "s"
			}
			if f.Required {
				marks += "r"
			}
			if marks == "" {
				marks = "-"
			}
			rule := f.Rule
			if f.Default != "" {
				rule = strings.TrimSpace(rule + " (default " + f.Default + ")")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, f.Env, marks, rule)
		}
		if t.Online != "" {
			fmt.Fprintf(tw, "  online check:\t%s\n", t.Online)
		}
	}
	return tw.Flush()
}

// shownField is one field in credctl show.
type shownField struct {
	Name     string `json:"name"`
	Env      string `json:"env,omitempty"`
	Secret   bool   `json:"secret"`
	Required bool   `json:"required,omitempty"`
	Set      bool   `json:"set"`
	// Value is shown only for a set field its type marks as not secret.
	Value string `json:"value,omitempty"`
}

// shown is what credctl show prints.
type shown struct {
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Fields      []shownField `json:"fields"`
	Created     time.Time    `json:"created"`
	Updated     time.Time    `json:"updated"`
	AgeS        int64        `json:"age_s"`
	Checked     *time.Time   `json:"checked,omitempty"`
	Unchecked   bool         `json:"unchecked,omitempty"`
	RotationDue bool         `json:"rotation_due,omitempty"`
	HasPrevious bool         `json:"has_previous,omitempty"`
}

// describe gathers what show prints. Only fields the type declares as not
// secret are fetched; a field the type does not know counts as secret.
func (e *env) describe(ctx context.Context, name string) (*shown, error) {
	infos, err := e.client.List(ctx)
	if err != nil {
		return nil, err
	}
	var in *protocol.Info
	for i := range infos {
		if infos[i].Name == name {
			in = &infos[i]
		}
	}
	if in == nil {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no credential named %q", name)
	}
	var types protocol.TypesResult
	if err := e.client.Do(ctx, &protocol.Request{Op: protocol.OpTypes}, &types); err != nil {
		return nil, err
	}
	var t protocol.TypeInfo
	for _, ti := range types.Types {
		if ti.Name == in.Type {
			t = ti
		}
	}

	v := &shown{Name: in.Name, Type: in.Type, Created: in.Created, Updated: in.Updated,
		AgeS: int64(time.Since(in.Updated).Seconds()), Unchecked: in.Unchecked,
		RotationDue: in.RotationDue, HasPrevious: in.HasPrevious}
	if !in.Checked.IsZero() {
		c := in.Checked
		v.Checked = &c
	}
	set := map[string]bool{}
	for _, f := range in.Fields {
		set[f] = true
	}
	declared := map[string]bool{}
	for _, f := range t.Fields {
		declared[f.Name] = true
		if t.AnyFields && !set[f.Name] {
			continue
		}
		sf := shownField{Name: f.Name, Env: f.Env, Secret: f.Secret, Required: f.Required,
			Set: set[f.Name]}
		if sf.Env == "" && t.AnyFields {
			sf.Env = catalog.EnvName(name)
		}
		if sf.Set && !f.Secret {
			val, err := e.client.Value(ctx, name, f.Name)
			if err != nil {
				return nil, fmt.Errorf("read field %s: %w", f.Name, err)
			}
			sf.Value = string(val.Reveal())
			val.Wipe()
		}
		v.Fields = append(v.Fields, sf)
	}
	for _, f := range in.Fields {
		if !declared[f] {
			sf := shownField{Name: f, Secret: true, Set: true}
			if t.AnyFields {
				sf.Env = catalog.EnvName(f)
			}
			v.Fields = append(v.Fields, sf)
		}
	}
	return v, nil
}

func printShow(e *env, v *shown) error {
	w := e.stdout
	fmt.Fprintf(w, "name:      %s\ntype:      %s\n", v.Name, v.Type)
	fmt.Fprintf(w, "created:   %s\n", v.Created.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "updated:   %s (%s ago)\n", v.Updated.Local().Format(time.RFC3339),
		ageString(time.Duration(v.AgeS)*time.Second))
	if v.Checked != nil {
		fmt.Fprintf(w, "checked:   %s (%s ago)\n", v.Checked.Local().Format(time.RFC3339),
			ageString(time.Since(*v.Checked)))
	} else {
		fmt.Fprintln(w, "checked:   never validated online")
	}
	if v.Unchecked {
		fmt.Fprintln(w, "unchecked: yes (stored with --no-check; it failed its format check)")
	}
	if v.RotationDue {
		fmt.Fprintln(w, "rotation:  due (past its maximum age)")
	}
	if v.HasPrevious {
		fmt.Fprintf(w, "previous:  kept; credctl rotate %s --undo restores it\n", v.Name)
	}
	fmt.Fprintln(w, "fields:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range v.Fields {
		val := "(not set)"
		switch {
		case f.Set && f.Secret:
			val = "<redacted>"
		case f.Set:
			val = f.Value
		case f.Required:
			val = "(not set; required)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, f.Env, val)
	}
	return tw.Flush()
}

// ageString rounds an age to the unit a person would use.
func ageString(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
