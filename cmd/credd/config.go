package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/config"
	"github.com/airtrain-ai/credd/daemon"
)

// checkConfig validates a config file, types and rules included, and
// returns the exit code.
func checkConfig(path string) int {
	cfg, err := config.Load(path)
	if err == nil {
		_, err = buildRules(cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "credd: %v\n", err)
		return 1
	}
	if cfg.Path == "" {
		fmt.Println("no config file; defaults apply")
		return 0
	}
	fmt.Printf("%s: ok (%d rules, %d types)\n", cfg.Path, len(cfg.Rules), len(cfg.Types))
	return 0
}

// applyConfig fills the options the command line left unset from the file.
func applyConfig(o *options, cfg *config.Config, set map[string]bool) {
	str := func(flag string, dst *string, v string) {
		if !set[flag] && v != "" {
			*dst = v
		}
	}
	str("socket", &o.socket, cfg.Socket)
	str("backend", &o.backend, cfg.Backend)
	str("file", &o.file, cfg.File)
	str("audit-log", &o.auditLog, cfg.AuditLog)
	if !set["lifetime"] && cfg.Lifetime > 0 {
		o.lifetime = cfg.Lifetime
	}
	if !set["allow-root"] && cfg.AllowRoot != nil {
		o.allowRoot = *cfg.AllowRoot
	}
}

// buildRules turns a config into the daemon's reloadable rules.
func buildRules(cfg *config.Config) (*daemon.Rules, error) {
	reg, err := cfg.Registry()
	if err != nil {
		return nil, err
	}
	r := &daemon.Rules{
		Types:          reg,
		MaxAge:         maxAge(cfg.Rotation),
		BaseURLs:       cfg.BaseURL,
		HTTPClient:     &http.Client{Timeout: 10 * time.Second},
		ConfirmCommand: cfg.ConfirmCommand,
		ConfirmTimeout: cfg.ConfirmTimeout,
		IdleTimeout:    cfg.IdleTimeout,
	}
	if len(cfg.Rules) > 0 || cfg.DefaultAction != "" {
		r.Policy = cfg.Policy
	}
	if cfg.Path != "" {
		if b, err := os.ReadFile(cfg.Path); err == nil {
			sum := sha256.Sum256(b)
			r.Hash = hex.EncodeToString(sum[:])
		}
	}
	return r, nil
}

// DefaultMaxAge is how old a credential may get before credd reports it
// due for rotation, when the config file names no [rotation] max_age.
const DefaultMaxAge = 90 * 24 * time.Hour

// maxAge returns the rotation ages in force: the file's, per type and
// default, else DefaultMaxAge.
func maxAge(r config.Rotation) func(string) time.Duration {
	return func(typ string) time.Duration {
		if d := r.MaxAgeFor(typ); d > 0 {
			return d
		}
		return DefaultMaxAge
	}
}

// reloader applies a changed config file while the daemon runs: on SIGHUP
// and when the file changes. It watches the file's folder, so that editors
// that write a new file and rename it over the old one, and configs that
// are symlinks replaced as a whole, are seen too. An invalid file is
// refused and the rules in force stay.
type reloader struct {
	path     string
	explicit bool // the path was given with --config
	srv      *daemon.Server
	audit    *audit.Logger
	log      zerolog.Logger
}

func (r *reloader) run() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	var events <-chan fsnotify.Event
	if w, err := fsnotify.NewWatcher(); err != nil {
		r.log.Warn().Err(err).Msg("cannot watch the config file; reload with SIGHUP")
	} else if err := w.Add(filepath.Dir(r.path)); err != nil {
		r.log.Info().Str("folder", filepath.Dir(r.path)).Msg("config folder absent; not watching it (reload with SIGHUP)")
		w.Close()
	} else {
		events = w.Events
	}

	// Editors write in bursts; one reload per burst.
	var debounce <-chan time.Time
	for {
		select {
		case <-hup:
			r.reload("SIGHUP")
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(ev.Name) == filepath.Clean(r.path) {
				debounce = time.After(100 * time.Millisecond)
			}
		case <-debounce:
			debounce = nil
			r.reload("file changed")
		}
	}
}

func (r *reloader) reload(why string) {
	path := r.path
	if !r.explicit {
		path = "" // the default path: a missing file means defaults
	}
	cfg, err := config.Load(path)
	var rules *daemon.Rules
	if err == nil {
		rules, err = buildRules(cfg)
	}
	rec := &audit.Record{Event: audit.EventReload, Detail: why}
	if err != nil {
		r.log.Error().Err(err).Str("trigger", why).Msg("config reload refused; the rules in force stay")
		rec.Outcome = audit.Error
		rec.Detail = why + ": " + err.Error()
	} else {
		r.srv.SetRules(rules)
		r.log.Info().Str("trigger", why).Int("rules", len(cfg.Rules)).Str("sha256", rules.Hash).Msg("config reloaded")
		rec.Outcome = audit.Granted
		rec.Detail = why + "; sha256:" + rules.Hash
	}
	if err := r.audit.Write(rec); err != nil {
		r.log.Error().Err(err).Msg("audit log unavailable for a reload")
	}
}

// lockOnSignal locks on SIGUSR1, like gpg-agent's reloadagent-free lock.
func lockOnSignal(srv *daemon.Server) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	for range usr1 {
		srv.Lock("SIGUSR1")
	}
}
