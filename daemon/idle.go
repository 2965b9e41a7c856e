package daemon

import (
	"time"

	"github.com/airtrain-ai/credd/audit"
)

// touch records a use of the credentials, for the idle lock.
func (s *Server) touch() { s.lastUse.Store(time.Now().UnixNano()) }

// armIdle (re)starts the idle-lock timer for the rules in force.
func (s *Server) armIdle() {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer = nil
	}
	if idle := s.rules().IdleTimeout; idle > 0 {
		s.idleTimer = time.AfterFunc(idle, s.idleCheck)
	}
}

// idleCheck locks when no get has succeeded for the idle timeout, and
// otherwise waits for the rest of it.
func (s *Server) idleCheck() {
	idle := s.rules().IdleTimeout
	if idle <= 0 {
		return
	}
	since := time.Since(time.Unix(0, s.lastUse.Load()))
	if since < idle {
		s.idleMu.Lock()
		s.idleTimer = time.AfterFunc(idle-since, s.idleCheck)
		s.idleMu.Unlock()
		return
	}
	s.mu.RLock()
	locked := s.locked
	s.mu.RUnlock()
	if !locked {
		s.Lock("idle for " + idle.String())
	}
	s.idleMu.Lock()
	s.idleTimer = time.AfterFunc(idle, s.idleCheck)
	s.idleMu.Unlock()
}

// Lock wipes every credential from memory, as the lock op does, and audits
// it as an automatic lock with reason (a signal, the screen locking, the
// idle timeout).
func (s *Server) Lock(reason string) {
	s.writeMu.Lock()
	s.lockLocked()
	s.writeMu.Unlock()
	s.cfg.Backend.Lock()
	s.log.Info().Str("reason", reason).Msg("locked; credentials wiped")
	if err := s.cfg.Audit.Write(&audit.Record{Event: audit.EventAutoLock, Outcome: audit.Granted, Detail: reason}); err != nil {
		s.log.Error().Err(err).Msg("audit log unavailable for a lock")
	}
}
