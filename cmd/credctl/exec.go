package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/airtrain-ai/credd/client"
)

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// injectOptions select the credentials that exec and env hand out, and how
// their variables are named.
type injectOptions struct {
	creds  listFlag
	all    bool
	prefix string
	rename listFlag
}

func (o *injectOptions) declare(fs *flag.FlagSet) {
	fs.Var(&o.creds, "cred", "credential `NAME` to inject (repeatable)")
	fs.BoolVar(&o.all, "all", false, "inject every credential")
	fs.StringVar(&o.prefix, "prefix", "", "put `PREFIX` before every injected variable's name")
	fs.Var(&o.rename, "rename", "rename one variable, `OLD=NEW` (repeatable)")
}

// envVar is one variable to hand to a child. value is a string because
// the child's environment is built from strings anyway.
type envVar struct {
	name, value, cred string
	// fromCred is set when value is a credential's value as it is, not a
	// line of an env file with references in it.
	fromCred bool
}

// collect fetches the selected credentials and returns their variables.
func (o *injectOptions) collect(ctx context.Context, c *client.Client, names []string) ([]envVar, error) {
	names = append(names, o.creds...)
	if o.all {
		infos, err := c.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			names = append(names, in.Name)
		}
	}
	renames := map[string]string{}
	for _, r := range o.rename {
		old, nw, ok := strings.Cut(r, "=")
		if !ok || old == "" || nw == "" {
			return nil, usagef("--rename wants OLD=NEW, got %q", r)
		}
		renames[old] = nw
	}

	seen := map[string]bool{}
	var vars []envVar
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		cred, err := c.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		fields := make([]string, 0, len(cred.EnvNames))
		for f := range cred.EnvNames {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			name := o.prefix + cred.EnvNames[f]
			if nw, ok := renames[cred.EnvNames[f]]; ok {
				name = nw
			}
			vars = append(vars, envVar{name: name, value: string(cred.Fields[f].Reveal()), cred: n,
				fromCred: true})
		}
		cred.Wipe()
	}
	return vars, nil
}

func init() {
	register(&command{
		name:  "exec",
		usage: "exec [NAME...] [--cred NAME]... [--all] [--env-file FILE] [--mask] [flags] -- COMMAND [ARGS...]",
		short: "run a command with credentials in its environment",
		long: `Runs COMMAND with the selected credentials added to its environment under
their types' variable names (OPENAI_API_KEY for an openai credential; the
upper-cased name for a generic one). Signals sent to credctl are passed on
to the command, and its exit status becomes credctl's (128+N when a signal
N killed it). No value is ever put on a command line.

--env-file FILE adds the variables of a dotenv-style file, whose values may
hold secret references:
    OPENAI_API_KEY=cred://openai              the credential's main secret
    PGPASSWORD=cred://db/password             one field
    DATABASE_URL=postgres://app:cred://db/password@db.internal/app
A reference ends at the first character that cannot be in a name
(A-Z a-z 0-9 . _ -); other text passes through unchanged, and $VARIABLES
are not expanded. Values may be unquoted, 'single-quoted' (literal) or
"double-quoted" (\n, \t, \\, \" and \$ escapes). A reference that
cannot be resolved stops credctl before COMMAND starts, with an error naming
the reference, the file and the line.

--mask replaces every injected value that COMMAND writes to stdout or
stderr by <redacted:NAME>, even when it arrives in pieces. Output that could
be the start of a value is held back until the next write shows whether it
is; a short start (under 8 bytes) is released after a moment of silence, a
longer one when more output comes or COMMAND exits. Values shorter than 4
bytes are not masked. Masking guards against accidents, not against a
command that means to leak a value (it can encode it first). Without --mask
COMMAND writes straight to credctl's stdout and stderr.`,
		build: func(fs *flag.FlagSet) runFunc {
			var o injectOptions
			o.declare(fs)
			agent := fs.String("agent", "", "agent `label` for these reads and for the command (AIRTRAIN_AGENT)")
			skill := fs.String("skill", "", "skill `label` for these reads and for the command (AIRTRAIN_SKILL)")
			var envFiles listFlag
			fs.Var(&envFiles, "env-file", "add the variables of `FILE`, resolving cred:// references (repeatable)")
			mask := fs.Bool("mask", false, "replace injected values in the command's output by <redacted:NAME>")
			return func(ctx context.Context, e *env, args []string) error {
				i := indexOf(args, "--")
				if i < 0 || i == len(args)-1 {
					return usagef("exec needs a command after --")
				}
				names, argv := args[:i], args[i+1:]
				c := client.New(client.Options{Socket: e.client.Socket(), Agent: *agent, Skill: *skill})
				defer c.Close()
				vars, err := o.collect(ctx, c, names)
				if err != nil {
					return err
				}
				rs := newResolver(c)
				defer rs.wipe()
				for _, f := range envFiles {
					fv, err := readEnvFile(ctx, rs, f)
					if err != nil {
						return err
					}
					vars = append(vars, fv...)
				}
				environ := childEnv(os.Environ())
				if *agent != "" {
					environ = append(environ, client.AgentEnv+"="+*agent)
				}
				if *skill != "" {
					environ = append(environ, client.SkillEnv+"="+*skill)
				}
				for _, v := range vars {
					environ = append(environ, v.name+"="+v.value)
				}
				var masks []maskSecret
				if *mask {
					for _, v := range vars {
						if v.cred != "" && v.fromCred {
							masks = append(masks, maskSecret{name: v.cred, value: v.value})
						}
					}
					masks = append(masks, rs.masks()...)
					for _, m := range masks {
						if len(m.value) > 0 && len(m.value) < minMaskLen {
							fmt.Fprintf(e.stderr, "credctl: warning: a value of %s is shorter "+
								"than %d bytes and is not masked\n", m.name, minMaskLen)
						}
					}
				}
				return runChild(e, argv, environ, *mask, masks)
			}
		},
	})
}

func indexOf(args []string, s string) int {
	for i, a := range args {
		if a == s {
			return i
		}
	}
	return -1
}

// forwarded are the signals credctl passes on to its child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// runChild runs argv with environ, forwarding signals, and returns the
// child's exit status as an *exitStatus (128+N when killed by signal N).
// With mask, the child's stdout and stderr pass through maskWriters.
func runChild(e *env, argv, environ []string, mask bool, masks []maskSecret) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("command %s: %w", argv[0], err)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	var outs []*maskWriter
	if mask {
		mo, me := newMaskWriter(e.stdout, masks), newMaskWriter(e.stderr, masks)
		outs = []*maskWriter{mo, me}
		cmd.Stdout, cmd.Stderr = mo, me
		// A grandchild that keeps the pipes open must not keep credctl
		// waiting once the command itself has exited.
		cmd.WaitDelay = 2 * time.Second
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	for _, m := range outs {
		m.Close()
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return childStatus(err)
}

func childStatus(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &exitStatus{code: 128 + int(ws.Signal())}
	}
	return &exitStatus{code: ee.ExitCode()}
}

// childEnv is credctl's environment for a child, without the unlock
// passphrase: the child gets credentials, not the key to all of them.
func childEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "AIRTRAIN_CRED_PASSPHRASE=") {
			out = append(out, kv)
		}
	}
	return out
}
