package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/airtrain-ai/credd/protocol"
)

func init() {
	register(&command{
		name: "validate", usage: "validate [NAME...] [--online] [--json]",
		short: "check credentials' format, or with --online ask each provider",
		long: `Checks the named credentials (default: all) against their type's format
rules. With --online the agent itself calls each provider's free
authenticated endpoint (a model list or an identity call, never a billed
one), so no key reaches credctl; a credential found valid has its checked
time updated.

Outcomes: valid, invalid (the format check failed or the provider refused
the key) and unknown (no online check for the type, a network error, a
timeout, a rate limit or a provider error). Exits 7 when any credential is
invalid.`,
		build: func(fs *flag.FlagSet) runFunc {
			online := fs.Bool("online", false, "ask each provider whether it accepts the credential")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				req := &protocol.Request{Op: protocol.OpValidate, Names: args, Online: *online}
				var res protocol.ValidateResult
				if err := e.client.Do(ctx, req, &res); err != nil {
					return err
				}
				if *asJSON {
					if err := printJSON(e.stdout, res.Results); err != nil {
						return err
					}
				} else if err := printValidate(e, res.Results); err != nil {
					return err
				}
				return validateStatus(res.Results)
			}
		},
	})
}

func printValidate(e *env, items []protocol.ValidateItem) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tOUTCOME\tSTATUS\tTIME\tREASON")
	for _, it := range items {
		outcome, status, took, reason := it.Outcome, "-", "-", it.Reason
		if it.Error != nil {
			outcome, reason = string(it.Error.Code), it.Error.Message
		}
		if !it.Online && it.Error == nil {
			outcome += " (offline)"
		}
		if it.Status != 0 {
			status = strconv.Itoa(it.Status)
		}
		if it.Online || it.DurationMS > 0 {
			took = fmt.Sprintf("%dms", it.DurationMS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.Name, it.Type, outcome, status, took, reason)
	}
	return tw.Flush()
}

// validateStatus turns the results into the command's outcome: invalid
// (exit 7) when any credential is invalid, else the first per-credential
// error (denied, not found), else success.
func validateStatus(items []protocol.ValidateItem) error {
	invalid := 0
	var first error
	for _, it := range items {
		switch {
		case it.Outcome == "invalid":
			invalid++
		case it.Error != nil && first == nil:
			first = fmt.Errorf("%s: %w", it.Name, it.Error)
		}
	}
	if invalid > 0 {
		return protocol.Errorf(protocol.CodeInvalid, "%d of %d credentials invalid", invalid, len(items))
	}
	if first != nil {
		return first
	}
	return nil
}
