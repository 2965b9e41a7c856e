package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/importer"
	"github.com/airtrain-ai/credd/protocol"
)

func init() {
	register(&command{
		name: "import", usage: "import FILE [--dry-run] [--no-check] [--shred] | import --from-env [--dry-run]",
		short: "store the credentials of an Airtrain .env, JSON or YAML file, or of the environment",
		long: `Reads the file Airtrain's save_to_file writes (.env with OPENAI_API_KEY=...,
.json or .yaml with openai_api_key: ...), or with --from-env credctl's own
environment, and stores one credential per type found, named after the
type. The agent's own types count too, so a type declared in its config
file is recognised by its variables. Values are never printed. A credential that already exists is
skipped (replace it with credctl rotate); one that fails its format check
is refused by the agent unless --no-check. --shred overwrites the file with
zeros and deletes it, and only when every credential found was stored.`,
		build: func(fs *flag.FlagSet) runFunc {
			fromEnv := fs.Bool("from-env", false, "import from the environment instead of a file")
			dryRun := fs.Bool("dry-run", false, "list what would be stored; store nothing")
			noCheck := fs.Bool("no-check", false, "store credentials that fail their format check, marked unchecked")
			shred := fs.Bool("shred", false, "overwrite and delete the file once everything is stored")
			return func(ctx context.Context, e *env, args []string) error {
				switch {
				case *fromEnv && len(args) > 0:
					return usagef("give a FILE or --from-env, not both")
				case !*fromEnv && len(args) != 1:
					return usagef("import takes one FILE (or --from-env)")
				case *shred && *fromEnv:
					return usagef("--shred works on a FILE, not with --from-env")
				case *shred && *dryRun:
					return usagef("--shred and --dry-run contradict each other")
				}
				reg := e.importRegistry(ctx)
				var (
					res  *importer.Result
					path string
					err  error
				)
				if *fromEnv {
					res = importer.FromEnviron(os.Environ(), reg)
				} else {
					path = resolveImportPath(args[0])
					if res, err = importer.FromFile(path, reg); err != nil {
						return err
					}
				}
				defer res.Wipe()
				return e.importResult(ctx, res, path, *dryRun, *noCheck, *shred)
			}
		},
	})
}

// resolveImportPath finds the file as importer.FromFile does, so that
// --shred removes the file that was read.
func resolveImportPath(path string) string {
	if filepath.Ext(path) == "" {
		for _, ext := range []string{".env", ".json", ".yaml", ".yml"} {
			if _, err := os.Stat(path + ext); err == nil {
				return path + ext
			}
		}
	}
	return path
}

func (e *env) importResult(ctx context.Context, res *importer.Result, path string,
	dryRun, noCheck, shred bool) error {
	source := path
	if source == "" {
		source = "the environment"
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.stderr, "ignored %s: %s\n", s.Key, s.Reason)
	}
	if len(res.Candidates) == 0 {
		return protocol.Errorf(protocol.CodeNotFound, "no credentials found in %s", source)
	}
	fmt.Fprintf(e.stdout, "found %d credentials in %s:\n", len(res.Candidates), source)
	for _, c := range res.Candidates {
		check := "format ok"
		if c.Check != nil {
			check = "fails its format check: " + c.Check.Error()
		}
		fmt.Fprintf(e.stdout, "  %s (%s): %s; %s\n", c.Name, c.Type, fieldList(c.Fields), check)
	}
	if dryRun {
		fmt.Fprintln(e.stdout, "dry run: nothing stored")
		return nil
	}

	existing := map[string]bool{}
	infos, err := e.client.List(ctx)
	if err != nil {
		return err
	}
	for _, in := range infos {
		existing[in.Name] = true
	}
	var firstErr error
	stored := 0
	for _, c := range res.Candidates {
		if existing[c.Name] {
			fmt.Fprintf(e.stdout, "skipped %s: a credential of that name exists "+
				"(credctl rotate %s replaces its value)\n", c.Name, c.Name)
			continue
		}
		r, err := e.client.Set(ctx, c.Name, c.Type, c.Fields, client.SetOptions{NoCheck: noCheck})
		if err != nil {
			fmt.Fprintf(e.stdout, "refused %s: %v\n", c.Name, err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		note := ""
		if r.Unchecked {
			note = " (unchecked: it failed its format check)"
		}
		fmt.Fprintf(e.stdout, "stored %s (%s)%s\n", c.Name, c.Type, note)
		stored++
	}
	if stored < len(res.Candidates) {
		if shred {
			fmt.Fprintf(e.stderr, "%s was not shredded: not every credential was stored\n", path)
		}
		if firstErr != nil {
			return fmt.Errorf("stored %d of %d credentials: %w", stored, len(res.Candidates), firstErr)
		}
		return nil
	}
	if shred {
		if err := shredFile(path); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "shredded %s\n", path)
	}
	return nil
}

func fieldList[V any](fields map[string]V) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// shredFile overwrites path with zeros, flushes that to the disk and
// removes the file. On a copy-on-write or journaling file system, or an
// SSD, older copies of the blocks may survive; this removes the plain copy
// a program or a backup would read.
func shredFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("shred: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		_, err = io.CopyN(f, zeroReader{}, st.Size())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("shred: overwrite %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("shred: remove %s: %w", path, err)
	}
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// importRegistry is the agent's catalog, user types included, so that an
// import recognises the variables of a type declared in the agent's config
// file. When the agent cannot be asked, it is the built-in catalog, and
// credctl says so.
func (e *env) importRegistry(ctx context.Context) *catalog.Registry {
	var res protocol.TypesResult
	if err := e.client.Do(ctx, &protocol.Request{Op: protocol.OpTypes}, &res); err != nil {
		fmt.Fprintf(e.stderr, "credctl: could not ask the agent for its types (%v); "+
			"recognising built-in types only\n", err)
		return catalog.Builtin()
	}
	reg, err := catalog.NewRegistry(userTypes(res.Types))
	if err != nil {
		fmt.Fprintf(e.stderr, "credctl: the agent's user types: %v; recognising built-in types only\n", err)
		return catalog.Builtin()
	}
	return reg
}

// userTypes turns the user types among types back into declarations.
func userTypes(types []protocol.TypeInfo) []catalog.UserType {
	var user []catalog.UserType
	for _, t := range types {
		if !t.User {
			continue
		}
		ut := catalog.UserType{Name: t.Name, Description: t.Description, Main: t.Main}
		for _, f := range t.Fields {
			ut.Fields = append(ut.Fields, catalog.UserField{Name: f.Name, Secret: f.Secret,
				Required: f.Required, Default: f.Default, Env: f.Env, Pattern: f.Pattern})
		}
		user = append(user, ut)
	}
	return user
}
