package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/airtrain-ai/credd/internal/paths"
)

func init() {
	register(&command{
		name: "start", usage: "start [--sh | --fish]",
		short: "start the agent unless one is running",
		long: `Starts credd in the background, detached from the terminal, on the socket
credctl uses; its output is appended to $XDG_STATE_HOME/airtrain/credd.log.
When systemd or launchd runs credd for you, start asks them instead. Nothing
happens when an agent already answers.

Commands that need the agent do the same by themselves; set
AIRTRAIN_CRED_NO_AUTOSTART=1 to turn that off (start still works).

With --sh or --fish, start prints a line that sets AIRTRAIN_CRED_SOCK, for
eval "$(credctl start --sh)" or credctl start --fish | source.`,
		build: func(fs *flag.FlagSet) runFunc {
			sh := fs.Bool("sh", false, "print an export line for sh, bash and zsh")
			fish := fs.Bool("fish", false, "print a set line for fish")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if *sh && *fish {
					return usagef("--sh and --fish cannot be used together")
				}
				sock := e.client.Socket()
				how, err := ensureAgent(ctx, sock)
				if err != nil {
					return err
				}
				st, err := e.client.Status(ctx)
				if err != nil {
					return err
				}
				switch how {
				case startedByUs:
					fmt.Fprintf(e.stderr, "credd started (pid %d) at %s; log %s\n",
						st.PID, sock, logFile())
				case startedByManager:
					fmt.Fprintf(e.stderr, "credd started (pid %d) at %s by the service manager\n",
						st.PID, sock)
				default:
					fmt.Fprintf(e.stderr, "credd is already running (pid %d) at %s\n", st.PID, sock)
				}
				switch {
				case *sh:
					fmt.Fprintf(e.stdout, "export %s=%s\n", paths.SocketEnv, shQuote(sock))
				case *fish:
					fmt.Fprintf(e.stdout, "set -gx %s %s\n", paths.SocketEnv, fishQuote(sock))
				}
				return nil
			}
		},
	})
}
