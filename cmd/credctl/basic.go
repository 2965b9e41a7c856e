package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/airtrain-ai/credd/secret"
)

func init() {
	register(&command{
		name: "status", usage: "status [--json]", short: "show whether the agent is locked and what it holds",
		build: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				st, err := e.client.Status(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e.stdout, st)
				}
				state := "unlocked"
				if st.Locked {
					state = "locked"
				}
				fmt.Fprintf(e.stdout, "agent:       %s (pid %d)\nsocket:      %s\nstate:       %s\nbackend:     %s\ncredentials: %d\n",
					"credd", st.PID, e.client.Socket(), state, st.Backend, st.Credentials)
				if st.ExpiresAt != nil {
					fmt.Fprintf(e.stdout, "locks at:    %s\n", st.ExpiresAt.Local().Format(time.RFC3339))
				}
				for _, n := range st.RotationDue {
					fmt.Fprintf(e.stdout, "rotate:      %s is past its maximum age\n", n)
				}
				return nil
			}
		},
	})
	register(&command{
		name: "unlock", usage: "unlock [--ttl DURATION]", short: "read the credentials into the agent",
		long: `With the file backend, asks for the passphrase without echo (or reads
AIRTRAIN_CRED_PASSPHRASE, or stdin when it is not a terminal). The first
unlock of a new file sets its passphrase.`,
		build: func(fs *flag.FlagSet) runFunc {
			ttl := fs.Duration("ttl", 0, "lock again after this long (default: the agent's --lifetime)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				st, err := e.client.Status(ctx)
				if err != nil {
					return err
				}
				var pass *secret.Secret
				if st.Backend == "file" {
					if pass, err = e.passphrase(); err != nil {
						return err
					}
					defer pass.Wipe()
				}
				res, err := e.client.Unlock(ctx, pass, *ttl)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "unlocked: %d credentials", res.Credentials)
				if res.ExpiresAt != nil {
					fmt.Fprintf(e.stderr, ", locks at %s", res.ExpiresAt.Local().Format(time.RFC3339))
				}
				fmt.Fprintln(e.stderr)
				return nil
			}
		},
	})
	register(&command{
		name: "lock", usage: "lock", short: "wipe every credential from the agent's memory",
		build: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				return e.client.Lock(ctx)
			}
		},
	})
	register(&command{
		name: "list", usage: "list [--json]", short: "list credentials (names, types and fields; never values)",
		build: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				infos, err := e.client.List(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e.stdout, infos)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tTYPE\tFIELDS\tUPDATED")
				for _, in := range infos {
					note := ""
					if in.RotationDue {
						note = "  (rotation due)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", in.Name, in.Type, strings.Join(in.Fields, ","), in.Updated.Local().Format("2006-01-02 15:04"), note)
				}
				return tw.Flush()
			}
		},
	})
	register(&command{
		name: "rm", usage: "rm NAME", short: "delete a credential",
		build: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("rm takes one credential name")
				}
				return e.client.Delete(ctx, args[0])
			}
		},
	})
	register(&command{
		name: "version", usage: "version", short: "print credctl's version and the agent's",
		build: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				fmt.Fprintf(e.stdout, "credctl %s\n", versionString())
				ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				if h, err := e.client.Hello(ctx); err == nil {
					fmt.Fprintf(e.stdout, "agent   %s (protocol %d)\n", h.Server, h.Version)
				}
				return nil
			}
		},
	})
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
