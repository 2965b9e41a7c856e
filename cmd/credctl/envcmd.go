package main

import (
	"context"
	"flag"
	"io"
	"strings"
)

func init() {
	register(&command{
		name: "env", usage: "env [NAME...] [--cred NAME]... [--all] [--format sh|fish|dotenv]",
		short: "print export lines for credentials, for eval",
		long: `Prints one line per variable, quoted for the shell:
    eval "$(credctl env openai)"
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
var formats = map[string]func(name, value string) string{
	"sh":     func(n, v string) string { return "export " + n + "=" + shQuote(v) },
	"bash":   func(n, v string) string { return "export " + n + "=" + shQuote(v) },
	"zsh":    func(n, v string) string { return "export " + n + "=" + shQuote(v) },
	"fish":   func(n, v string) string { return "set -gx " + n + " " + fishQuote(v) },
	"dotenv": func(n, v string) string { return n + "=" + dotenvQuote(v) },
}

func writeEnv(w io.Writer, vars []envVar, quote func(string, string) string) error {
	var b strings.Builder
	for _, v := range vars {
		b.WriteString(quote(v.name, v.value))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shQuote quotes s for POSIX shells: single quotes, with each single quote
// written as '\”. Newlines and $ need nothing more inside single quotes.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish, whose single quotes honour \\ and \'.
func fishQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// dotenvQuote quotes s in double quotes with backslash escapes, which
// docker compose and common dotenv readers understand.
func dotenvQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}
