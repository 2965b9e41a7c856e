package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/airtrain-ai/credd/protocol"
)

func init() {
	register(&command{
		name: "rotate", usage: "rotate NAME [--no-check] [--fields] | rotate NAME --undo",
		short: "replace a credential's secret, keeping the old one for undo",
		long: `Reads the new values as set does: on a terminal it asks for each field
of the credential's type (leave a field empty to keep it), otherwise it
reads FIELD=VALUE lines from stdin, or the bare value for a type with one
secret field. Fields not given keep their values. The agent checks the
result like set, keeps the replaced values, and --undo puts them back
(only the last rotation can be undone).`,
		build: func(fs *flag.FlagSet) runFunc {
			undo := fs.Bool("undo", false, "restore the values the last rotation replaced")
			noCheck := fs.Bool("no-check", false, "store even if the format check fails (marked unchecked)")
			lines := fs.Bool("fields", false, "read FIELD=VALUE lines from stdin even for the generic type")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("rotate takes one credential name")
				}
				name := args[0]
				if *undo {
					if *noCheck || *lines {
						return usagef("--undo takes no other flag")
					}
					req := &protocol.Request{Op: protocol.OpUndo, Name: name}
					if err := e.client.Do(ctx, req, nil); err != nil {
						return err
					}
					fmt.Fprintf(e.stderr, "restored %s to its values before the last rotation\n", name)
					return nil
				}
				return e.rotate(ctx, name, *noCheck, *lines)
			}
		},
	})
}

func (e *env) rotate(ctx context.Context, name string, noCheck, lines bool) error {
	infos, err := e.client.List(ctx)
	if err != nil {
		return err
	}
	typ := ""
	for _, in := range infos {
		if in.Name == name {
			typ = in.Type
		}
	}
	if typ == "" {
		return protocol.Errorf(protocol.CodeNotFound, "no credential named %q", name)
	}
	t, err := e.typeInfo(ctx, typ)
	if err != nil {
		return err
	}
	fields, err := e.readFields(t, name, lines)
	if err != nil {
		return err
	}
	defer wipeAll(fields)
	req := &protocol.Request{Op: protocol.OpRotate, Name: name, NoCheck: noCheck,
		Fields: make(map[string]*protocol.Value, len(fields))}
	for k, v := range fields {
		req.Fields[k] = protocol.NewValue(v)
	}
	var res protocol.SetResult
	if err := e.client.Do(ctx, req, &res); err != nil {
		return err
	}
	note := ""
	if res.Unchecked {
		note = " (unchecked: it failed its format check)"
	}
	fmt.Fprintf(e.stderr, "rotated %s%s; credctl rotate %s --undo restores the old value\n",
		name, note, name)
	return nil
}
