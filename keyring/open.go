package keyring

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for [Options] fields left zero.
const (
	// DefaultService is the service name under which the system backend
	// stores its items.
	DefaultService = "airtrain-credd"
	// DefaultTimeout bounds each call into a backend's store.
	DefaultTimeout = 5 * time.Second
	// DefaultWorkFactor is the scrypt work factor (log2 of N) for files
	// the file backend writes. Each step up doubles the time and memory
	// an attacker pays per guessed passphrase, and doubles what every
	// unlock and every write pays too: 16 costs about 0.2 s and 64 MiB per
	// derivation on a small machine, while age's own default of 18 costs
	// four times that. A write derives the key twice (read, then write).
	DefaultWorkFactor = 16
)

// Options configures [Open]. The zero value selects every default.
type Options struct {
	// Service is the go-keyring service name; empty means
	// [DefaultService].
	Service string
	// File is the path of the encrypted file; empty means
	// $XDG_DATA_HOME/airtrain/credentials.age, with XDG_DATA_HOME
	// defaulting to ~/.local/share.
	File string
	// Timeout bounds each call into the store; zero means
	// [DefaultTimeout]. A context deadline that comes sooner wins.
	Timeout time.Duration
	// WorkFactor is the scrypt work factor for files the file backend
	// writes; zero means [DefaultWorkFactor]. Files written with any
	// factor up to 22 can be read.
	WorkFactor int
	// Log receives warnings about the store that do not stop it from
	// working, such as an index naming a missing item. The zero Logger
	// discards them.
	Log zerolog.Logger
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() (Options, error) {
	if o.Service == "" {
		o.Service = DefaultService
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.WorkFactor <= 0 {
		o.WorkFactor = DefaultWorkFactor
	}
	if o.WorkFactor > maxWorkFactor {
		return o, fmt.Errorf("scrypt work factor %d is above the maximum of %d",
			o.WorkFactor, maxWorkFactor)
	}
	if o.File == "" {
		p, err := DefaultFile()
		if err != nil {
			return o, err
		}
		o.File = p
	}
	return o, nil
}

// DefaultFile returns the default path of the encrypted file:
// $XDG_DATA_HOME/airtrain/credentials.age, or
// ~/.local/share/airtrain/credentials.age when XDG_DATA_HOME is unset or
// not absolute.
func DefaultFile() (string, error) {
	base := os.Getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the default credentials file: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "airtrain", "credentials.age"), nil
}

// Open returns the backend named by kind: "system" (the OS keyring),
// "file" (the age-encrypted file) or "auto". Auto probes the OS keyring
// with one read bounded by the timeout and picks it when it answers, the
// file otherwise. The reason says in plain words which backend was chosen
// and why, for the daemon's log. Open itself touches no file.
func Open(kind string, opts Options) (b Backend, reason string, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, "", fmt.Errorf("open keyring: %w", err)
	}
	switch kind {
	case "system":
		return newSystem(opts), "the system keyring was requested", nil
	case "file":
		return newFile(opts), "the encrypted file " + opts.File + " was requested", nil
	case "auto", "":
		sys := newSystem(opts)
		probeErr := sys.probe(context.Background())
		if probeErr == nil {
			return sys, "auto: the system keyring (" + systemName + ") answered", nil
		}
		reason = fmt.Sprintf("auto: the system keyring (%s) did not answer (%v); "+
			"using the encrypted file %s", systemName, probeErr, opts.File)
		return newFile(opts), reason, nil
	}
	return nil, "", fmt.Errorf("open keyring: unknown backend %q: use auto, system or file", kind)
}
