package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func init() {
	register(&command{
		name: "inject", usage: "inject -i TEMPLATE [-o OUT] [--force]",
		short: "render a file with secret references replaced by values",
		long: `Copies TEMPLATE to OUT, replacing every secret reference in double braces
by the value it names:
    api_key: {{ cred://openai }}              the credential's main secret
    password = "{{ cred://db/password }}"     one field
Spaces inside the braces are optional. Text outside {{ cred://... }} is
copied as it is, including a bare cred:// that is not in braces. A "{{"
followed by cred:// that does not form a whole reference is an error.

Every reference is resolved before anything is written: one that cannot be
resolved is an error naming it and its line, and OUT is left untouched.
OUT is written with mode 0600 through a temporary file in the same folder,
synced and renamed into place, so a reader never sees half a file. An
existing OUT is refused unless --force is given. Without -o, or with -o -,
the result goes to stdout. -i - reads the template from stdin.`,
		build: func(fs *flag.FlagSet) runFunc {
			var in, out string
			fs.StringVar(&in, "i", "", "read the template from `TEMPLATE` (- for stdin)")
			fs.StringVar(&in, "in", "", "same as -i")
			fs.StringVar(&out, "o", "", "write the result to `OUT` (- or none for stdout)")
			fs.StringVar(&out, "out", "", "same as -o")
			force := fs.Bool("force", false, "replace OUT if it exists")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if in == "" {
					return usagef("inject needs -i TEMPLATE")
				}
				var tmpl []byte
				var err error
				if in == "-" {
					tmpl, err = io.ReadAll(io.LimitReader(e.stdin, maxInput+1))
				} else {
					tmpl, err = os.ReadFile(in)
				}
				if err != nil {
					return fmt.Errorf("read template: %w", err)
				}
				if len(tmpl) > maxInput {
					return fmt.Errorf("template is larger than %d bytes", maxInput)
				}
				if out != "" && out != "-" && !*force {
					if _, err := os.Lstat(out); err == nil {
						return fmt.Errorf("%s exists; use --force to replace it", out)
					}
				}
				rs := newResolver(e.client)
				defer rs.wipe()
				text, err := renderTemplate(ctx, rs, in, string(tmpl))
				if err != nil {
					return err
				}
				if out == "" || out == "-" {
					_, err = io.WriteString(e.stdout, text)
					return err
				}
				return writeFileAtomic(out, []byte(text), *force)
			}
		},
	})
}

// templateRE matches {{ cred://... }}, the reference form inject replaces.
// The reference itself is checked by findRefs.
var templateRE = regexp.MustCompile(`\{\{[ \t]*(cred://[^ \t}]*)[ \t]*\}\}`)

// openRE finds the "{{ cred://" openings, to report malformed ones.
var openRE = regexp.MustCompile(`\{\{[ \t]*cred://`)

// renderTemplate replaces every {{ cred://... }} in text. Errors name the
// template and line.
func renderTemplate(ctx context.Context, rs *resolver, name, text string) (string, error) {
	lineOf := func(off int) int { return strings.Count(text[:off], "\n") + 1 }
	matches := templateRE.FindAllStringSubmatchIndex(text, -1)
	opens := openRE.FindAllStringIndex(text, -1)
	if len(opens) != len(matches) {
		for k, o := range opens {
			if k >= len(matches) || matches[k][0] != o[0] {
				return "", fmt.Errorf("%s:%d: malformed reference %q: want {{ cred://NAME }} or {{ cred://NAME/FIELD }}",
					name, lineOf(o[0]), clip(text[o[0]:]))
			}
		}
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		ref := text[m[2]:m[3]]
		spans, err := findRefs(ref)
		if err == nil && (len(spans) != 1 || spans[0].end != len(ref)) {
			err = fmt.Errorf("malformed reference %q: want cred://NAME or cred://NAME/FIELD", clip(ref))
		}
		if err != nil {
			return "", fmt.Errorf("%s:%d: %w", name, lineOf(m[0]), err)
		}
		v, err := rs.value(ctx, spans[0].ref)
		if err != nil {
			return "", fmt.Errorf("%s:%d: %w", name, lineOf(m[0]), err)
		}
		b.WriteString(text[last:m[0]])
		b.Write(v.Reveal())
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String(), nil
}

// writeFileAtomic writes data to path with mode 0600: into a temporary
// file in the same folder, synced, then moved into place. Without force an
// existing path is refused, checked again at the last step.
func writeFileAtomic(path string, data []byte, force bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("set mode of temporary file: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if force {
		if err = os.Rename(tmp, path); err != nil {
			return fmt.Errorf("move into place: %w", err)
		}
	} else {
		// A hard link fails if path appeared meanwhile, where a rename
		// would replace it.
		if err = os.Link(tmp, path); err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists; use --force to replace it", path)
			}
			return fmt.Errorf("move into place: %w", err)
		}
		os.Remove(tmp)
	}
	if d, derr := os.Open(dir); derr == nil {
		derr = d.Sync()
		d.Close()
		if derr != nil {
			return fmt.Errorf("sync folder: %w", derr)
		}
	}
	return nil
}
