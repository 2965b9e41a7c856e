// Command credd is the Airtrain credential agent: a per-user daemon that
// unlocks credentials from the OS keyring or an encrypted file, holds them in
// memory, and serves them over a Unix socket to the user's own processes,
// auditing every read.
//
// Usage:
//
//	credd [flags]
//
// Run credd -h for the flags. The socket is --socket, else
// $AIRTRAIN_CRED_SOCK, else $XDG_RUNTIME_DIR/airtrain/credd.sock. Under
// systemd socket activation credd serves the socket it is handed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/config"
	"github.com/airtrain-ai/credd/daemon"
	"github.com/airtrain-ai/credd/internal/paths"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/protocol"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = ""

const usage = `Usage: credd [flags]

credd holds credentials in memory and serves them over a Unix socket to
processes of the same user, writing an audit record for every read.

Flags:
`

type options struct {
	socket    string
	backend   string
	file      string
	auditLog  string
	lifetime  time.Duration
	allowRoot bool
	lineWait  time.Duration
	showVer   bool
	config    string
	check     bool
	exitIdle  time.Duration
}

func main() {
	var o options
	fs := flag.NewFlagSet("credd", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&o.socket, "socket", "", "socket `path` (default $AIRTRAIN_CRED_SOCK, else $XDG_RUNTIME_DIR/airtrain/credd.sock)")
	fs.StringVar(&o.backend, "backend", "auto", "storage: auto, system (OS keyring) or file (age-encrypted file)")
	fs.StringVar(&o.file, "file", "", "encrypted file `path` for the file backend (default $XDG_DATA_HOME/airtrain/credentials.age)")
	fs.StringVar(&o.auditLog, "audit-log", "", "audit log `path` (default $XDG_STATE_HOME/airtrain/audit.log)")
	fs.DurationVar(&o.lifetime, "lifetime", 0, "lock and wipe credentials this long after each unlock, like ssh-agent -t (0: never)")
	fs.BoolVar(&o.allowRoot, "allow-root", false, "serve root as well as the daemon's own user")
	fs.DurationVar(&o.lineWait, "line-timeout", protocol.IdleTimeout, "drop a client that stalls this long in the middle of a request line")
	fs.BoolVar(&o.showVer, "version", false, "print the version and exit")
	fs.StringVar(&o.config, "config", "", "config file `path` (default $XDG_CONFIG_HOME/airtrain/credd.toml); flags override it")
	fs.BoolVar(&o.check, "check-config", false, "check the config file and exit")
	fs.DurationVar(&o.exitIdle, "exit-idle", 0, "under socket activation, exit after this long locked with no client (0: never)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "credd: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	if o.showVer {
		fmt.Println("credd", versionString())
		return
	}
	if o.check {
		os.Exit(checkConfig(o.config))
	}

	log := newLogger()
	cfg, err := config.Load(o.config)
	if err != nil {
		log.Error().Err(err).Msg("bad config; not starting")
		os.Exit(1)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	applyConfig(&o, cfg, set)
	if err := run(o, cfg, log); err != nil {
		log.Error().Err(err).Msg("credd stopped")
		os.Exit(1)
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

// newLogger logs JSON to stderr, or a console format on a terminal.
func newLogger() zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).With().Timestamp().Logger()
	}
	return zerolog.New(os.Stderr).With().Timestamp().Logger()
}

func run(o options, cfg *config.Config, log zerolog.Logger) error {
	// Before any secret exists in this process.
	if err := daemon.Harden(); err != nil {
		return err
	}

	backend, why, err := keyring.Open(o.backend, keyring.Options{File: o.file})
	if err != nil {
		return err
	}
	log.Info().Str("backend", backend.Kind()).Str("why", why).Msg("storage chosen")

	auditPath := o.auditLog
	if auditPath == "" {
		auditPath = paths.AuditLog()
	}
	al, err := audit.Open(auditPath)
	if err != nil {
		return err
	}
	defer al.Close()

	ln, sockPath, created, err := listen(o.socket)
	if err != nil {
		return err
	}
	log.Info().Str("socket", sockPath).Str("audit_log", auditPath).Int("pid", os.Getpid()).Msg("listening")

	rules, err := buildRules(cfg)
	if err != nil {
		return err
	}
	if cfg.Path != "" {
		log.Info().Str("config", cfg.Path).Int("rules", len(cfg.Rules)).Msg("config loaded")
	}

	srv, err := daemon.New(daemon.Config{
		Rules:       rules,
		Backend:     backend,
		Audit:       al,
		Log:         log,
		AllowRoot:   o.allowRoot,
		Lifetime:    o.lifetime,
		LineTimeout: o.lineWait,
		Version:     versionString(),
		AutoUnlock:  true,
	})
	if err != nil {
		return err
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	r := &reloader{path: cfg.Path, explicit: o.config != "", srv: srv, audit: al, log: log}
	if r.path == "" {
		r.path, _ = config.DefaultPath()
	}
	go r.run()
	go lockOnSignal(srv)
	if cfg.LockOnScreenLock != nil && *cfg.LockOnScreenLock {
		go watchScreenLock(srv, log)
	}
	// A broken pipe to a client that left is an error on that
	// connection, not a reason to die.
	signal.Ignore(syscall.SIGPIPE)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	notify(log, sd.SdNotifyReady)

	var idleExit <-chan time.Time
	if o.exitIdle > 0 && created == nil {
		t := time.NewTicker(min(o.exitIdle/4, time.Minute) + time.Millisecond)
		defer t.Stop()
		idleExit = t.C
	}
wait:
	for {
		select {
		case sig := <-sigs:
			log.Info().Str("signal", sig.String()).Msg("shutting down")
			break wait
		case err := <-served:
			return err
		case <-idleExit:
			if idle, since := srv.IdleSince(); idle && time.Since(since) >= o.exitIdle {
				log.Info().Dur("idle", time.Since(since)).Msg("locked and idle; exiting until the next connection")
				break wait
			}
		}
	}
	notify(log, sd.SdNotifyStopping)
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if created != nil {
		daemon.RemoveSocket(sockPath, created)
	}
	log.Info().Msg("credentials wiped; bye")
	return err
}

// listen returns the socket handed over by systemd socket activation, or a
// new one at the configured path. created is the new socket's file info, nil
// for an inherited one (which credd must not remove).
func listen(flagPath string) (net.Listener, string, fs.FileInfo, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, "", nil, fmt.Errorf("socket activation: %w", err)
	}
	for _, ln := range lns {
		if ln != nil && ln.Addr().Network() == "unix" {
			return ln, ln.Addr().String(), nil, nil
		}
	}
	path := flagPath
	if path == "" {
		path = paths.Socket()
	}
	ln, err := daemon.Listen(path)
	if err != nil {
		return nil, "", nil, err
	}
	st, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, "", nil, err
	}
	return ln, path, st, nil
}

var notifyFailed bool

// notify tells systemd about a state change. Not running under systemd is
// the normal case; a failure to reach it is logged once.
func notify(log zerolog.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil && !notifyFailed {
		notifyFailed = true
		log.Warn().Err(err).Msg("could not notify systemd")
	}
}
