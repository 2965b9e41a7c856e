// Package daemon is credd's server: it listens on a Unix socket, serves only
// peers whose kernel-verified uid is its own, holds unlocked credentials in
// memory, and writes an audit record for every request that touches a
// credential or the lock state before it replies.
//
// # Who may connect
//
// Every connection's peer credentials are read from the kernel at accept.
// A peer with another uid is refused with one denied line and the refusal is
// audited; root is refused too unless AllowRoot is set. Among the user's own
// processes, access rules (when configured) decide per request.
//
// # What is held, and for how long
//
// Credentials are read from the backend once, at unlock, and held in memory
// owned by the secret package (locked in RAM, excluded from core dumps) until
// lock, the unlock lifetime, or shutdown wipes them. Requests never reach
// the backend except to write.
//
// # What the daemon never does
//
// It never writes a value to a log, an error message or a panic; it never
// reads a passphrase from its own environment; and it never answers a get
// whose audit record could not be written.
package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/protocol"
)

// ServerName is what hello reports as the server.
const ServerName = "credd"

// Config configures a Server.
type Config struct {
	// Backend stores credentials at rest.
	Backend keyring.Backend
	// Audit receives one record per credential or lock-state request.
	Audit *audit.Logger
	// Log is the daemon's operational log. It never receives a value.
	Log zerolog.Logger
	// AllowRoot lets uid 0 connect to a daemon run by another user.
	AllowRoot bool
	// Lifetime is how long an unlock lasts when the client asks for no
	// other; zero means until lock or shutdown.
	Lifetime time.Duration
	// BackendTimeout bounds every backend call (default 10s).
	BackendTimeout time.Duration
	// LineTimeout is how long a client may stall in the middle of a
	// request line (default protocol.IdleTimeout).
	LineTimeout time.Duration
	// MaxConns is how many connections are served at once (default
	// protocol.MaxConns).
	MaxConns int
	// Version is reported by hello.
	Version string
	// Rules are the initial reloadable settings: access rules, types,
	// rotation ages, confirmation and idle lock. Nil means none.
	Rules *Rules
	// AutoUnlock reads a backend that needs no passphrase when the server
	// starts, so that a fresh daemon on the OS keyring serves at once.
	AutoUnlock bool
}

// Server is a running credd. Create it with New and run it with Serve.
type Server struct {
	cfg   Config
	log   zerolog.Logger
	start time.Time
	uid   int

	// writeMu serialises everything that changes the backend or the lock
	// state (set, delete, unlock, lock, expiry), so that memory and the
	// backend change in the same order. It is taken before mu.
	writeMu sync.Mutex

	// mu guards the fields below it.
	mu        sync.RWMutex
	locked    bool
	creds     map[string]*keyring.Record
	expiresAt time.Time
	expiry    *time.Timer
	gen       uint64 // bumped by every unlock and lock, for the expiry timer

	rulesP atomic.Pointer[Rules]

	// render holds the replies rendered for gets; see renderCache.
	render renderCache

	// pendMu guards pending and remember.
	pendMu   sync.Mutex
	pending  map[string]*pendingReq
	remember map[string]time.Time

	// lastUse is when a get last succeeded, in Unix nanoseconds, for the
	// idle lock.
	lastUse   atomic.Int64
	idleTimer *time.Timer
	idleMu    sync.Mutex

	// lastActive is when a connection last came or went, in Unix
	// nanoseconds, for IdleSince.
	lastActive atomic.Int64

	// ready is closed once the start-up unlock has finished (or was not
	// needed).
	ready chan struct{}

	conns    sync.WaitGroup
	sem      chan struct{}
	closing  chan struct{}
	connMu   sync.Mutex
	live     map[*conn]struct{}
	shutOnce sync.Once
}

// New returns a Server for cfg. It does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("daemon: no backend")
	}
	if cfg.Audit == nil {
		return nil, errors.New("daemon: no audit log")
	}
	if cfg.BackendTimeout <= 0 {
		cfg.BackendTimeout = 10 * time.Second
	}
	if cfg.LineTimeout <= 0 {
		cfg.LineTimeout = protocol.IdleTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = protocol.MaxConns
	}
	s := &Server{
		cfg:      cfg,
		pending:  map[string]*pendingReq{},
		ready:    make(chan struct{}),
		remember: map[string]time.Time{},
		log:      cfg.Log,
		start:    time.Now(),
		uid:      os.Getuid(),
		locked:   true,
		creds:    map[string]*keyring.Record{},
		sem:      make(chan struct{}, cfg.MaxConns),
		closing:  make(chan struct{}),
		live:     map[*conn]struct{}{},
	}
	s.lastActive.Store(time.Now().UnixNano())
	s.SetRules(cfg.Rules)
	return s, nil
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown and the accept error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.AutoUnlock && !s.cfg.Backend.NeedsPassphrase() {
		// Requests that arrive while the backend is read wait for it
		// (bounded by the backend timeout) rather than find the daemon
		// locked for a moment.
		go func() { s.autoUnlock(); close(s.ready) }()
	} else {
		close(s.ready)
	}
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.closing:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of descriptors or a transient failure: wait
				// rather than spin, as the accept would fail again
				// at once.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn().Err(err).Dur("retry_in", backoff).Msg("accept failed; retrying")
				select {
				case <-time.After(backoff):
				case <-s.closing:
					return nil
				}
				continue
			}
			return err
		}
		backoff = 0
		s.lastActive.Store(time.Now().UnixNano())
		uc, ok := nc.(*net.UnixConn)
		if !ok {
			nc.Close()
			continue
		}
		s.conns.Add(1)
		go s.serveConn(uc)
	}
}

// Shutdown stops accepting (the caller closes the listener), lets requests
// in flight finish, closes every connection, and wipes every credential held
// in memory. It waits for connections until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() { close(s.closing) })
	s.connMu.Lock()
	for c := range s.live {
		c.interrupt()
	}
	s.connMu.Unlock()

	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.writeMu.Lock()
	s.lockLocked()
	s.writeMu.Unlock()
	s.cfg.Backend.Lock()
	return err
}

// IdleSince reports whether the server is locked with no connection open,
// and since when nothing happened. A socket-activated daemon uses it to
// exit when idle, since systemd starts it again on the next connection.
func (s *Server) IdleSince() (idle bool, since time.Time) {
	s.mu.RLock()
	locked := s.locked
	s.mu.RUnlock()
	s.connMu.Lock()
	open := len(s.live)
	s.connMu.Unlock()
	return locked && open == 0, time.Unix(0, s.lastActive.Load())
}

func (s *Server) autoUnlock() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BackendTimeout)
	defer cancel()
	n, _, err := s.unlock(ctx, nil, 0)
	if err != nil {
		s.log.Warn().Err(err).Str("backend", s.cfg.Backend.Kind()).
			Msg("could not read credentials at start; serving locked until unlock")
		return
	}
	s.log.Info().Int("credentials", n).Str("backend", s.cfg.Backend.Kind()).Msg("unlocked at start")
	s.warnRotationDue()
	_ = s.cfg.Audit.Write(&audit.Record{Event: audit.EventUnlock, Outcome: audit.Granted, Detail: "at start"})
}
