package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/airtrain-ai/credd/install"
)

func init() {
	register(&command{
		name: "install", usage: "install [--dry-run] [--binary PATH]",
		short: "run credd under systemd (Linux) or launchd (macOS)",
		long: `On Linux, writes the systemd user units credd.socket and credd.service to
~/.config/systemd/user, sets AIRTRAIN_CRED_SOCK in ~/.config/environment.d,
and enables the socket: systemd then starts credd on the first connection.
On macOS, writes a launchd agent to ~/Library/LaunchAgents and loads it:
credd runs from login on.

Running it again rewrites only what changed. --dry-run prints every file and
command and changes nothing. Without a service manager there is nothing to
install: credctl starts credd on demand.`,
		build: func(fs *flag.FlagSet) runFunc {
			dry := fs.Bool("dry-run", false, "print what would be done, do nothing")
			binary := fs.String("binary", "", "credd `path` the service runs "+
				"(default: next to credctl, else on PATH)")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				opts, err := installOptions(*binary, true)
				if err != nil {
					return err
				}
				plan, err := install.InstallPlan(opts)
				if err != nil {
					return err
				}
				det := install.Detect(opts, install.ExecRunner)
				if *dry {
					if !det.Usable() {
						fmt.Fprintf(e.stderr, "credctl: hint: %s, so the commands "+
							"below would fail here\n", det.Reason)
					}
					return plan.Print(e.stdout)
				}
				if !det.Usable() {
					return fmt.Errorf("install: %s; nothing installed (credctl starts "+
						"credd on demand without a service manager)", det.Reason)
				}
				return plan.Apply(e.stdout, install.ExecRunner)
			}
		},
	})
	register(&command{
		name: "uninstall", usage: "uninstall [--dry-run]",
		short: "stop credd's service and remove what install wrote",
		long: `Stops and disables the service, then removes the unit files (or the
launchd agent) and the environment.d file. Credentials, the encrypted
credentials file and the audit log stay where they are.`,
		build: func(fs *flag.FlagSet) runFunc {
			dry := fs.Bool("dry-run", false, "print what would be done, do nothing")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				opts, err := installOptions("", false)
				if err != nil {
					return err
				}
				plan, err := install.UninstallPlan(opts)
				if err != nil {
					return err
				}
				if *dry {
					return plan.Print(e.stdout)
				}
				return plan.Apply(e.stdout, install.ExecRunner)
			}
		},
	})
}

// installOptions describes the current user's installation. The credd
// binary is binary made absolute, or found next to credctl or on PATH when
// needBinary is set and binary is empty.
func installOptions(binary string, needBinary bool) (install.Options, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return install.Options{}, fmt.Errorf("find home folder: %w", err)
	}
	opts := install.Options{OS: runtime.GOOS, Home: home, UID: os.Getuid(),
		RuntimeDir: os.Getenv("XDG_RUNTIME_DIR")}
	switch {
	case binary != "":
		if opts.Binary, err = filepath.Abs(binary); err != nil {
			return install.Options{}, fmt.Errorf("find credd binary: %w", err)
		}
	case needBinary:
		if opts.Binary, err = install.FindBinary(); err != nil {
			return install.Options{}, err
		}
	}
	return opts, nil
}
