package daemon

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/peer"
	"github.com/airtrain-ai/credd/protocol"
)

// writeTimeout is how long a reply may wait for a client that does not read
// before the connection is closed.
const writeTimeout = 10 * time.Second

// conn is one client connection.
type conn struct {
	nc *net.UnixConn
	id *peer.Identity
	// idJSON is id encoded for the audit log, once per connection.
	idJSON []byte
	lr     *protocol.LineReader
	wb     []byte
	// deadlineAt is when the read deadline was last moved. It is moved
	// at most once a second: a client is then dropped after between
	// LineTimeout-1s and LineTimeout of silence mid-line, and a busy
	// connection does not reset a timer per request.
	deadlineAt time.Time
}

// interrupt wakes a connection blocked in a read so that it notices
// shutdown. A request being handled finishes and is answered first.
func (c *conn) interrupt() { _ = c.nc.SetReadDeadline(time.Now()) }

func (s *Server) serveConn(nc *net.UnixConn) {
	defer s.conns.Done()
	defer nc.Close()

	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.refuse(nc, protocol.Errorf(protocol.CodeBusy, "too many connections (limit %d); try again", cap(s.sem)))
		return
	}

	id, err := peer.FromConn(nc)
	if id == nil {
		s.log.Warn().Err(err).Msg("peer credentials unavailable; refusing connection")
		s.refuse(nc, protocol.Errorf(protocol.CodeDenied, "peer credentials unavailable"))
		return
	}
	if reason := s.admit(id); reason != "" {
		s.log.Warn().Int("uid", id.UID).Int("pid", id.PID).Str("reason", reason).Msg("peer refused")
		if err := s.cfg.Audit.Write(&audit.Record{Event: audit.EventRefused, Outcome: audit.Denied, Peer: id, Detail: reason}); err != nil {
			s.log.Error().Err(err).Msg("audit log unavailable for a refused peer")
		}
		s.refuse(nc, protocol.Errorf(protocol.CodeDenied, "%s", reason))
		return
	}

	c := &conn{nc: nc, id: id, idJSON: audit.EncodePeer(id), lr: protocol.NewLineReader(nc, protocol.MaxLine)}
	s.connMu.Lock()
	s.live[c] = struct{}{}
	s.connMu.Unlock()
	defer func() {
		s.connMu.Lock()
		delete(s.live, c)
		s.connMu.Unlock()
		s.lastActive.Store(time.Now().UnixNano())
	}()
	s.loop(c)
}

// admit decides whether a peer may talk to the daemon at all, and returns
// the reason when it may not. Only the daemon's own uid is served; root is
// served only with AllowRoot.
func (s *Server) admit(id *peer.Identity) string {
	switch {
	case id.UID == s.uid:
		return ""
	case id.UID == 0 && s.cfg.AllowRoot:
		return ""
	case id.UID == 0:
		return "root is not served unless credd runs with --allow-root"
	}
	return "this agent serves only its own user"
}

// refuse writes one error line and gives up on the connection.
func (s *Server) refuse(nc net.Conn, e *protocol.Error) {
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	b, _ := protocol.AppendResponse(nil, &protocol.Response{Error: e})
	_, _ = nc.Write(b)
}

// loop reads requests and answers them in order until the client leaves, a
// framing error ends the connection, or the server shuts down. Replies are
// buffered while more pipelined requests are already read, then written
// together.
func (s *Server) loop(c *conn) {
	defer func() {
		if v := recover(); v != nil {
			// Log where, never what: the panic value may carry
			// request data.
			s.log.Error().Str("stack", string(debug.Stack())).Msg("[unexpected] panic while serving a connection; connection closed")
		}
	}()
	for {
		if s.isClosing() {
			s.flush(c)
			return
		}
		if c.lr.Buffered() == 0 {
			if !s.flush(c) {
				return
			}
		}
		if now := time.Now(); now.Sub(c.deadlineAt) > time.Second {
			_ = c.nc.SetReadDeadline(now.Add(s.cfg.LineTimeout))
			c.deadlineAt = now
			if s.isClosing() { // Shutdown may have interrupted just before
				s.flush(c)
				return
			}
		}
		line, err := c.lr.ReadLine()
		if errors.Is(err, os.ErrDeadlineExceeded) && !c.lr.Partial() && !s.isClosing() {
			c.deadlineAt = time.Time{}
			continue // silent between requests: a kept-alive client
		}
		if err != nil {
			s.readFailed(c, err)
			return
		}
		if len(line) == 0 {
			continue // blank lines are ignored
		}
		s.handleLine(c, line)
	}
}

func (s *Server) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// readFailed answers what can be answered about a failed read.
func (s *Server) readFailed(c *conn, err error) {
	switch {
	case errors.Is(err, protocol.ErrLineTooLong):
		c.wb, _ = protocol.AppendResponse(c.wb, &protocol.Response{Error: protocol.Errorf(protocol.CodeTooLarge, "request line longer than %d bytes; closing", protocol.MaxLine)})
		s.flush(c)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if !s.isClosing() {
			c.wb, _ = protocol.AppendResponse(c.wb, &protocol.Response{Error: protocol.Errorf(protocol.CodeBadRequest, "idle for %s in the middle of a line; closing", s.cfg.LineTimeout)})
		}
		s.flush(c)
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The client closed with half a line: nobody to answer.
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET):
	default:
		s.log.Debug().Err(err).Msg("read failed")
	}
}

// flush writes buffered replies; it reports false when the connection is
// unusable.
func (s *Server) flush(c *conn) bool {
	if len(c.wb) == 0 {
		return true
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(c.wb)
	clear(c.wb) // replies may hold values
	c.wb = c.wb[:0]
	if cap(c.wb) > 64<<10 {
		c.wb = nil
	}
	return err == nil
}

// handleLine decodes, dispatches and buffers the reply to one request.
func (s *Server) handleLine(c *conn, line []byte) {
	req, perr := protocol.DecodeRequest(line)
	var resp *protocol.Response
	if perr != nil {
		resp = &protocol.Response{Error: perr}
	} else {
		resp = s.dispatch(c, req)
	}
	resp.ID = req.ID
	wipeRequest(req)

	var err error
	c.wb, err = protocol.AppendResponse(c.wb, resp)
	wipeResult(resp)
	if err != nil {
		s.log.Error().Err(err).Msg("[unexpected] encode reply")
		c.wb, _ = protocol.AppendResponse(c.wb[:0], &protocol.Response{ID: req.ID, Error: protocol.Errorf(protocol.CodeInternal, "could not encode the reply")})
	}
}

// wipeRequest zeroes the values a request carried.
func wipeRequest(req *protocol.Request) {
	for _, v := range req.Fields {
		if v != nil {
			v.S.Wipe()
		}
	}
	if req.Passphrase != nil {
		req.Passphrase.S.Wipe()
	}
}

// wipeResult zeroes the copies of values a reply carried, once encoded.
func wipeResult(resp *protocol.Response) {
	if r, ok := resp.Result.(*protocol.EncodedGet); ok {
		r.Members.Wipe()
	}
	if r, ok := resp.Result.(*protocol.GetResult); ok {
		r.Credential.Wipe()
		if r.Value != nil {
			r.Value.S.Wipe()
		}
	}
}

func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}
