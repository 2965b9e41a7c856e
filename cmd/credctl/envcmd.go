package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/joho/godotenv"
)

func init() {
	register(&command{
		name: "env", usage: "env [NAME...] [--cred NAME]... [--all] [--format sh|fish|dotenv]",
		short: "print export lines for credentials, for eval",
		long: `Prints one line per variable, quoted for the shell:
    eval "$(credctl env openai)"                      sh, bash, zsh
    credctl env --format fish openai | source         fish
    credctl env --format dotenv openai >> .env        a dotenv file
Any value comes back exactly, with its quotes, spaces, newlines, $ and
backslashes. (In fish, use "| source": eval (...) splits lines.)
Values end up in the shell's environment, where every child can read them:
prefer credctl exec where you can.`,
		build: func(fs *flag.FlagSet) runFunc {
			var o injectOptions
			o.declare(fs)
			format := fs.String("format", "sh", "output `format`: sh (also bash, zsh), fish or dotenv")
			return func(ctx context.Context, e *env, args []string) error {
				quote, ok := formats[*format]
				if !ok {
					return usagef("unknown format %q (want sh, bash, zsh, fish or dotenv)", *format)
				}
				if len(args) == 0 && len(o.creds) == 0 && !o.all {
					return usagef("name at least one credential, or --all")
				}
				vars, err := o.collect(ctx, e.client, args)
				if err != nil {
					return err
				}
				return writeEnv(e.stdout, vars, quote)
			}
		},
	})
}

// formats turn a variable into one line of a shell or dotenv file.
var formats = map[string]func(name, value string) (string, error){
	"sh":     shLine,
	"bash":   shLine,
	"zsh":    shLine,
	"fish":   func(n, v string) (string, error) { return "set -gx " + n + " " + fishQuote(v), nil },
	"dotenv": dotenvLine,
}

func shLine(n, v string) (string, error) { return "export " + n + "=" + shQuote(v), nil }

// writeEnv writes one line per variable. A name that is not a plain
// variable name is refused: it would be read as shell code.
func writeEnv(w io.Writer, vars []envVar, line func(string, string) (string, error)) error {
	var b strings.Builder
	for _, v := range vars {
		if !envNameRE.MatchString(v.name) {
			return fmt.Errorf("%q is not a valid variable name (from %s)", v.name, v.cred)
		}
		l, err := line(v.name, v.value)
		if err != nil {
			return err
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shQuote quotes s for POSIX shells (sh, bash, zsh): single quotes, inside
// which nothing is special, with each single quote written as '\” (close,
// escaped quote, reopen). Newlines, $, backslashes and backquotes need
// nothing more.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish, whose single quotes give \\ and \' their
// escape meaning and leave every other character, newlines included, as it
// is.
func fishQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// dotenvLine writes NAME=VALUE for dotenv readers. A value is single-quoted
// (taken literally) when it can be, else double-quoted with \\, \", \n, \r
// and \$ escapes, else left unquoted. Each form is checked by reading it
// back with godotenv; a value that no form carries exactly (some mixes of
// quotes, newlines and a final backslash) is refused rather than written
// wrong.
func dotenvLine(n, v string) (string, error) {
	candidates := []string{
		"'" + v + "'",
		`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, `$`, `\$`).Replace(v) + `"`,
		v,
	}
	for _, q := range candidates {
		line := n + "=" + q
		m, err := godotenv.Unmarshal(line)
		if err == nil && len(m) == 1 && m[n] == v {
			return line, nil
		}
	}
	return "", fmt.Errorf("the value of %s cannot be written exactly in dotenv format; use another --format", n)
}
