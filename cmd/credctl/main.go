// Command credctl is the user's handle on credd, the Airtrain credential
// agent: it unlocks and locks the agent, stores and reads credentials, and
// runs programs with credentials in their environment.
//
// Output rules: results go to stdout; everything else goes to stderr as
// "credctl: error: ..." with an optional "credctl: hint: ..." line. Exit
// codes: 0 ok, 1 error, 2 usage, 3 no agent reachable, 4 locked, 5 not
// found, 6 denied, 7 invalid credential.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/internal/paths"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = ""

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNoAgent  = 3
	exitLocked   = 4
	exitNotFound = 5
	exitDenied   = 6
	exitInvalid  = 7
)

// command is one subcommand: its usage line, a one-line summary, longer
// help, and build, which declares the command's flags and returns the
// function that runs it with the remaining arguments.
type command struct {
	name  string
	usage string
	short string
	long  string
	build func(fs *flag.FlagSet) runFunc
}

type runFunc func(ctx context.Context, e *env, args []string) error

// env is what every command shares: where to write and how to reach the
// daemon.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	client *client.Client
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1 {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "help" {
		c := lookup(args[1])
		if c == nil {
			fmt.Fprintf(stderr, "credctl: error: unknown command %q\n", args[1])
			return exitUsage
		}
		printHelp(stdout, c)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "credctl: error: unknown command %q\ncredctl: hint: run credctl help for the list\n", args[0])
		return exitUsage
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, client: client.New(client.Options{})}
	defer e.client.Close()
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runner := c.build(fs)
	rest, err := parseFlags(fs, args[1:])
	if err == nil {
		err = autostart(context.Background(), c.name, e)
	}
	if err == nil {
		err = unlockOnDemand(context.Background(), c.name, e)
	}
	if err == nil {
		err = runner(context.Background(), e, rest)
	}
	return report(stderr, c, e.client.Socket(), err)
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries a child's exit status through credctl exec.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// report prints err in credctl's voice and maps it to an exit code. Every
// documented exit code comes from here.
func report(w io.Writer, c *command, socket string, err error) int {
	if err == nil {
		return exitOK
	}
	var st *exitStatus
	if errors.As(err, &st) {
		return st.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "credctl: error: %s\nusage: credctl %s\ncredctl: hint: run credctl help %s\n", ue.msg, c.usage, c.name)
		return exitUsage
	}
	fmt.Fprintf(w, "credctl: error: %v\n", err)
	switch {
	case errors.Is(err, client.ErrNoAgent):
		fmt.Fprintf(w, "credctl: hint: no agent answered at %s; start one with credctl start (or credd &), or set %s\n", socket, paths.SocketEnv)
		return exitNoAgent
	case errors.Is(err, client.ErrLocked):
		return exitLocked
	case errors.Is(err, client.ErrNotFound):
		return exitNotFound
	case errors.Is(err, client.ErrDenied):
		return exitDenied
	case errors.Is(err, client.ErrInvalid):
		return exitInvalid
	case errors.Is(err, client.ErrUnsafeSocket):
		fmt.Fprintln(w, "credctl: hint: nothing was sent; the socket could be reached or replaced by another user")
	}
	return exitError
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: credctl <command> [arguments]

credctl manages credd, the Airtrain credential agent.

Commands:
`)
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, `
Run credctl help <command> for a command's flags.

Environment:
  %s  the agent's socket (default $XDG_RUNTIME_DIR/airtrain/credd.sock)
  AIRTRAIN_AGENT, AIRTRAIN_SKILL  labels sent with every request
  AIRTRAIN_CRED_PASSPHRASE  passphrase for unlock without a prompt (weaker:
                      other processes of yours can read your environment)
  AIRTRAIN_CRED_NO_AUTOSTART=1  never start an agent on demand

Exit codes: 0 ok, 1 error, 2 usage, 3 no agent, 4 locked, 5 not found,
6 denied, 7 invalid credential.
`, paths.SocketEnv)
}

func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: credctl %s\n\n%s\n", c.usage, c.short)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.build(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// parseFlags parses flags anywhere among the arguments before a "--", so
// that "credctl get NAME --field F" works. Positional arguments come back in
// order, followed by everything after "--" as it is.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("help requested")
			}
			return nil, usagef("%s", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	if tail != nil {
		rest = append(rest, "--")
		rest = append(rest, tail...)
	}
	return rest, nil
}
