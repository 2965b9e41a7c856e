package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/airtrain-ai/credd/config"
	"github.com/airtrain-ai/credd/policy"
	"github.com/airtrain-ai/credd/protocol"
)

func init() {
	register(&command{
		name:  "policy",
		usage: "policy test --exe PATH [--name NAME] [--op OP] [--agent A] [--skill S] [--parent-exe PATH]... [--unit UNIT] [--config FILE]",
		short: "explain what the access rules decide for a hypothetical caller",
		long: `Evaluates the config file's rules for a caller that does not exist and
prints the decision and the rule that made it. Touches no credential and
needs no running agent. Without --exe-sha256 the hash of the file at --exe
is used, as the daemon would for a process running it.`,
		build: func(fs *flag.FlagSet) runFunc {
			var h policy.Hypothetical
			var parents listFlag
			cfgPath := fs.String("config", "", "config `file` (default $XDG_CONFIG_HOME/airtrain/credd.toml)")
			fs.StringVar(&h.Exe, "exe", "", "the caller's executable `path`")
			fs.StringVar(&h.ExeSHA256, "exe-sha256", "", "the executable's sha256 (default: hash the file at --exe)")
			fs.StringVar(&h.Name, "name", "", "credential `name`")
			fs.StringVar(&h.Op, "op", "get", "operation: get, list, set, delete, unlock, lock, rotate, validate")
			fs.StringVar(&h.Agent, "agent", "", "self-reported agent label")
			fs.StringVar(&h.Skill, "skill", "", "self-reported skill label")
			fs.Var(&parents, "parent-exe", "an ancestor's executable, nearest first (repeatable)")
			fs.StringVar(&h.Unit, "unit", "", "the caller's systemd unit")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 || args[0] != "test" {
					return usagef("the only policy subcommand is test")
				}
				if h.Exe == "" {
					return usagef("--exe is required")
				}
				h.ParentExe = parents
				cfg, err := config.Load(*cfgPath)
				if err != nil {
					return err
				}
				if len(cfg.Rules) == 0 && cfg.DefaultAction == "" {
					fmt.Fprintf(e.stdout, "allow: no access rules are configured (%s); every process of yours is served\n", orNone(cfg.Path))
					return nil
				}
				d := cfg.Policy.Test(h)
				rule := "the default action"
				if d.Rule >= 0 {
					rule = fmt.Sprintf("rule %d (%s)", d.Rule, d.RuleName)
				}
				fmt.Fprintf(e.stdout, "%s by %s\n%s\n", d.Action, rule, d.Reason)
				return nil
			}
		},
	})
	register(&command{
		name: "config", usage: "config check [--config FILE]", short: "check the config file without starting anything",
		build: func(fs *flag.FlagSet) runFunc {
			cfgPath := fs.String("config", "", "config `file` (default $XDG_CONFIG_HOME/airtrain/credd.toml)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 || args[0] != "check" {
					return usagef("the only config subcommand is check")
				}
				cfg, err := config.Load(*cfgPath)
				if err != nil {
					return err
				}
				if _, err := cfg.Registry(); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: ok (%d rules, %d types)\n", orNone(cfg.Path), len(cfg.Rules), len(cfg.Types))
				return nil
			}
		},
	})
	register(&command{
		name: "pending", usage: "pending [--json]", short: "list requests waiting for your confirmation",
		build: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				var res protocol.PendingResult
				if err := e.client.Do(ctx, &protocol.Request{Op: protocol.OpPending}, &res); err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e.stdout, res.Pending)
				}
				if len(res.Pending) == 0 {
					fmt.Fprintln(e.stderr, "no requests are waiting")
					return nil
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tOP\tCREDENTIAL\tPID\tEXE\tLABELS\tCOMMAND LINE")
				for _, p := range res.Pending {
					labels := strings.Trim(p.Agent+"/"+p.Skill, "/")
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.ID, p.Op, p.Credential, p.PID, orUnknownExe(p.Exe), labels, p.Cmdline)
				}
				return tw.Flush()
			}
		},
	})
	register(&command{
		name: "approve", usage: "approve ID [--remember DURATION]", short: "allow a request that waits for confirmation",
		long: `Lists of waiting requests come from credctl pending. With --remember the
approval also covers later requests from the same executable (by content
hash) for the same credential, for that long.`,
		build: func(fs *flag.FlagSet) runFunc {
			remember := fs.Duration("remember", 0, "also allow the same executable and credential for this long")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("approve takes one pending request id")
				}
				return e.client.Do(ctx, &protocol.Request{Op: protocol.OpApprove, Pending: args[0], Remember: remember.Seconds()}, nil)
			}
		},
	})
	register(&command{
		name: "deny", usage: "deny ID", short: "refuse a request that waits for confirmation",
		build: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("deny takes one pending request id")
				}
				return e.client.Do(ctx, &protocol.Request{Op: protocol.OpDeny, Pending: args[0]}, nil)
			}
		},
	})
}

func orNone(path string) string {
	if path == "" {
		return "no config file"
	}
	return path
}

func orUnknownExe(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
