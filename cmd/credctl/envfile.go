package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// An env file, as exec --env-file reads it, holds one variable per line:
//
//	# comments and blank lines are skipped
//	export OPENAI_API_KEY=cred://openai
//	DATABASE_URL="postgres://app:cred://db/password@db.internal/app"
//	GREETING='hello world'
//	PLAIN=left as it is
//
// A value is unquoted (spaces around it trimmed, a " #" starts a comment),
// single-quoted (taken literally) or double-quoted (may span lines; \n, \r,
// \t, \\, \" and \$ are escapes). Variables are not expanded: $HOME stays
// $HOME. Every secret reference in a value, quoted or not, is replaced by
// the value it names; other text passes through unchanged.

// fileVar is one assignment read from an env file.
type fileVar struct {
	name, value string
	line        int
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseEnvFile parses the text of an env file. Errors name the file and
// line, never a value.
func parseEnvFile(path, text string) ([]fileVar, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var out []fileVar
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, rest, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || !envNameRE.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: want NAME=VALUE", path, lineNo)
		}
		rest = strings.TrimLeft(rest, " \t")
		var value string
		switch {
		case strings.HasPrefix(rest, "'"):
			end := strings.IndexByte(rest[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: unterminated single-quoted value of %s", path, lineNo, name)
			}
			value = rest[1 : 1+end]
			if err := trailing(rest[2+end:]); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %v", path, lineNo, name, err)
			}
		case strings.HasPrefix(rest, `"`):
			v, after, used, err := doubleQuoted(rest[1:], lines[i+1:])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %v", path, lineNo, name, err)
			}
			i += used
			if err := trailing(after); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %v", path, lineNo, name, err)
			}
			value = v
		default:
			if j := strings.Index(rest, " #"); j >= 0 {
				rest = rest[:j]
			}
			if j := strings.Index(rest, "\t#"); j >= 0 {
				rest = rest[:j]
			}
			value = strings.TrimSpace(rest)
		}
		out = append(out, fileVar{name: name, value: value, line: lineNo})
	}
	return out, nil
}

// trailing accepts what may follow a closing quote: spaces and a comment.
func trailing(s string) error {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return nil
	}
	return fmt.Errorf("unexpected text after the closing quote")
}

// doubleQuoted reads a double-quoted value whose opening quote has been
// consumed; first is the rest of its line and more the lines after it. It
// returns the value, the text after the closing quote and how many of more
// it used.
func doubleQuoted(first string, more []string) (value, after string, used int, err error) {
	var b strings.Builder
	s := first
	for {
		for j := 0; j < len(s); j++ {
			switch c := s[j]; c {
			case '"':
				return b.String(), s[j+1:], used, nil
			case '\\':
				if j+1 == len(s) {
					b.WriteByte('\\')
					continue
				}
				j++
				switch s[j] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '\\', '"', '$':
					b.WriteByte(s[j])
				default:
					b.WriteByte('\\')
					b.WriteByte(s[j])
				}
			default:
				b.WriteByte(c)
			}
		}
		if used == len(more) {
			return "", "", 0, fmt.Errorf("unterminated double-quoted value")
		}
		b.WriteByte('\n')
		s = more[used]
		used++
	}
}

// readEnvFile reads the env file at path and resolves its references. The
// returned variables are in file order; a name given twice keeps its last
// value.
func readEnvFile(ctx context.Context, rs *resolver, path string) ([]envVar, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	vars, err := parseEnvFile(path, string(raw))
	if err != nil {
		return nil, err
	}
	out := make([]envVar, 0, len(vars))
	for _, v := range vars {
		spans, err := findRefs(v.value)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", path, v.line, v.name, err)
		}
		value, err := rs.expand(ctx, v.value)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", path, v.line, v.name, err)
		}
		cred := ""
		if len(spans) > 0 {
			cred = spans[0].ref.name
		}
		out = append(out, envVar{name: v.name, value: value, cred: cred})
	}
	return out, nil
}
