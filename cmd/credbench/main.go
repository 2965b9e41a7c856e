// Command credbench measures credd against the floor a Unix-socket daemon
// cannot beat, against OpenSSH's ssh-agent and against reading the OS
// keyring directly, side by side in one run on one machine.
//
// Usage:
//
//	credbench [flags]
//
// It starts its own credd (and ssh-agent, and a private gnome-keyring on
// a private D-Bus) in a temporary folder, and stops them when it is done.
// Run credbench -h for the flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/airtrain-ai/credd/bench"
)

const usage = `Usage: credbench [flags]

credbench measures credd's get (1, 8 and 64 clients by default, audit log
on) beside a minimal JSON echo server over a Unix socket, OpenSSH's
ssh-agent, a direct read of gnome-keyring through go-keyring, and credctl as
a whole process; then credd's memory with many credentials unlocked and the
time to unlock credentials from gnome-keyring. It prints p50, p99 and
throughput for each, and the ratios the design aims for.

Flags:
`

type options struct {
	credd, credctl string
	asJSON, quick  bool
	clients        string
	duration       time.Duration
	ops, warmup    int
	procRuns       int
	keyring        bool
	keyringCalls   int
	memory         string
	unlockCreds    int
	unlockRuns     int
	serveEcho      string
	replySize      int
}

func main() {
	var o options
	fs := flag.NewFlagSet("credbench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&o.credd, "credd", "", "credd `binary` (default: next to credbench, else on PATH)")
	fs.StringVar(&o.credctl, "credctl", "", "credctl `binary` (default: next to credbench, else on PATH)")
	fs.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	fs.BoolVar(&o.quick, "quick", false, "a short run for CI: fewer operations, smaller counts")
	fs.StringVar(&o.clients, "clients", "1,8,64", "concurrency `levels`, comma-separated")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "longest timed window per row")
	fs.IntVar(&o.ops, "ops", 300000, "most timed operations per row, all clients together")
	fs.IntVar(&o.warmup, "warmup", 200, "warm-up operations per client before timing")
	fs.IntVar(&o.procRuns, "proc-runs", 50, "runs of each whole-process row")
	fs.BoolVar(&o.keyring, "keyring", true,
		"start a private gnome-keyring for the keyring rows (skipped when not installed)")
	fs.IntVar(&o.keyringCalls, "keyring-calls", 200, "go-keyring reads in all, warm-up included")
	fs.StringVar(&o.memory, "memory", "10,1000,10000", "credential `counts` to measure memory with")
	fs.IntVar(&o.unlockCreds, "unlock-creds", 100, "credentials to unlock from gnome-keyring")
	fs.IntVar(&o.unlockRuns, "unlock-runs", 3, "timed unlocks from gnome-keyring")
	// Hidden: the echo server's own process.
	fs.StringVar(&o.serveEcho, "serve-echo", "", "")
	fs.IntVar(&o.replySize, "reply-size", 0, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fail(2, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if o.serveEcho != "" {
		if err := bench.ServeEcho(o.serveEcho, o.replySize); err != nil {
			fail(1, err)
		}
		return
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg, err := config(o, set)
	if err != nil {
		fail(2, err)
	}
	res, err := bench.Run(cfg)
	if err != nil {
		fail(1, err)
	}
	if o.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = bench.WriteText(os.Stdout, res)
	}
	if err != nil {
		fail(1, err)
	}
}

// quickDefaults replace the defaults of flags not given on the command
// line under --quick.
func quickDefaults(o *options, set map[string]bool) {
	def := func(name string, apply func()) {
		if !set[name] {
			apply()
		}
	}
	def("duration", func() { o.duration = 300 * time.Millisecond })
	def("ops", func() { o.ops = 3000 })
	def("warmup", func() { o.warmup = 20 })
	def("proc-runs", func() { o.procRuns = 5 })
	def("keyring-calls", func() { o.keyringCalls = 40 })
	def("memory", func() { o.memory = "10,100" })
	def("unlock-creds", func() { o.unlockCreds = 10 })
	def("unlock-runs", func() { o.unlockRuns = 1 })
}

func config(o options, set map[string]bool) (bench.Config, error) {
	if o.quick {
		quickDefaults(&o, set)
	}
	cfg := bench.Config{
		Socket:            bench.Limits{Warmup: o.warmup, MaxOps: o.ops, Duration: o.duration},
		Procs:             bench.Limits{Warmup: 3, MaxOps: o.procRuns, Duration: time.Minute},
		Keyring:           o.keyring,
		KeyringCalls:      o.keyringCalls,
		UnlockCredentials: o.unlockCreds,
		UnlockRuns:        o.unlockRuns,
		Progress:          os.Stderr,
	}
	var err error
	if cfg.Clients, err = ints("--clients", o.clients); err != nil {
		return cfg, err
	}
	if cfg.MemoryCounts, err = ints("--memory", o.memory); err != nil {
		return cfg, err
	}
	if o.duration <= 0 || o.ops <= 0 || o.warmup < 0 || o.procRuns <= 0 || o.keyringCalls < 10 {
		return cfg, errors.New("--duration, --ops and --proc-runs must be positive, " +
			"--warmup not negative, --keyring-calls at least 10")
	}
	if cfg.Self, err = os.Executable(); err != nil {
		return cfg, fmt.Errorf("find credbench's own path: %w", err)
	}
	if cfg.Credd, err = binary("credd", o.credd, cfg.Self); err != nil {
		return cfg, err
	}
	if cfg.Credctl, err = binary("credctl", o.credctl, cfg.Self); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// ints parses a comma-separated list of positive integers.
func ints(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// binary returns the flag's path, else name next to credbench, else name
// on PATH.
func binary(name, flagPath, self string) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	beside := filepath.Join(filepath.Dir(self), name)
	if st, err := os.Stat(beside); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return beside, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find %s: not next to credbench nor on PATH; use --%s", name, name)
	}
	return p, nil
}

func fail(code int, err error) {
	fmt.Fprintf(os.Stderr, "credbench: error: %v\n", err)
	os.Exit(code)
}
