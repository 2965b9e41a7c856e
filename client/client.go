// Package client is the Go library for talking to credd, the Airtrain
// credential agent. credctl uses it, and so can any Go program:
//
//	c := client.New(client.Options{})
//	defer c.Close()
//	key, err := c.Value(ctx, "openai", "api_key")
//	if err != nil { ... }
//	defer key.Wipe()
//	use(key.Reveal())
//
// The socket is found the way the daemon finds it: Options.Socket, else
// $AIRTRAIN_CRED_SOCK, else $XDG_RUNTIME_DIR/airtrain/credd.sock. Before
// sending anything the client checks that the socket and its folder belong
// to the current user and are closed to everyone else, so a look-alike
// socket planted by another user is refused.
//
// A Client keeps a few idle connections for reuse and is safe for
// concurrent use. Every call honours its context's deadline. Errors from the
// daemon can be compared with errors.Is against ErrLocked, ErrNotFound,
// ErrDenied and the other sentinels; ErrNoAgent means no daemon answered.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/airtrain-ai/credd/internal/paths"
	"github.com/airtrain-ai/credd/protocol"
	"github.com/airtrain-ai/credd/secret"
)

// Environment variables the client reads.
const (
	// SocketEnv points at the daemon's socket.
	SocketEnv = paths.SocketEnv
	// AgentEnv and SkillEnv give the default agent and skill labels sent
	// with every request.
	AgentEnv = "AIRTRAIN_AGENT"
	SkillEnv = "AIRTRAIN_SKILL"
)

// Errors a call can return. Daemon errors are *protocol.Error values and
// match these with errors.Is.
var (
	ErrLocked             = protocol.ErrLocked
	ErrNotFound           = protocol.ErrNotFound
	ErrDenied             = protocol.ErrDenied
	ErrInvalid            = protocol.ErrInvalid
	ErrBadRequest         = protocol.ErrBadRequest
	ErrBackendUnavailable = protocol.ErrBackendUnavailable
	ErrAuditUnavailable   = protocol.ErrAuditUnavailable
	// ErrNoAgent means no daemon answered on the socket.
	ErrNoAgent = errors.New("no credd agent is running")
	// ErrUnsafeSocket means the socket or its folder could be reached or
	// replaced by another user, so nothing was sent.
	ErrUnsafeSocket = paths.ErrUnsafe
)

// NoAgentError is returned, wrapping ErrNoAgent, when the socket cannot be
// reached. It names the path tried.
type NoAgentError struct {
	Socket string
	Err    error
}

// Error names the socket and the reason.
func (e *NoAgentError) Error() string {
	return fmt.Sprintf("no credd agent at %s: %v", e.Socket, e.Err)
}

// Unwrap lets errors.Is match ErrNoAgent and the cause.
func (e *NoAgentError) Unwrap() []error { return []error{ErrNoAgent, e.Err} }

// Options configure a Client. The zero value is ready to use.
type Options struct {
	// Socket is the daemon's socket path; empty means discovery.
	Socket string
	// Agent and Skill label every request for the audit log; empty means
	// $AIRTRAIN_AGENT and $AIRTRAIN_SKILL.
	Agent string
	Skill string
	// MaxIdle is how many idle connections are kept (default 2).
	MaxIdle int
}

// Client talks to one credd daemon.
type Client struct {
	socket       string
	agent, skill string
	maxIdle      int

	mu     sync.Mutex
	idle   []*wire
	nextID uint64
	closed bool
}

// New returns a Client. It does not connect until the first call.
func New(o Options) *Client {
	c := &Client{socket: o.Socket, agent: o.Agent, skill: o.Skill, maxIdle: o.MaxIdle}
	if c.socket == "" {
		c.socket = paths.Socket()
	}
	if c.agent == "" {
		c.agent = os.Getenv(AgentEnv)
	}
	if c.skill == "" {
		c.skill = os.Getenv(SkillEnv)
	}
	if c.maxIdle <= 0 {
		c.maxIdle = 2
	}
	return c
}

// Socket returns the socket path the client uses.
func (c *Client) Socket() string { return c.socket }

// Close closes idle connections. Calls in flight finish normally.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.idle {
		w.nc.Close()
	}
	c.idle = nil
	c.closed = true
	return nil
}

// wire is one connection.
type wire struct {
	nc     net.Conn
	lr     *protocol.LineReader
	reused bool // taken from the idle list
	// deadline is the one last set on nc; a call with the same deadline
	// (none, for a context without one) does not set it again.
	deadline time.Time
	// cut is set when a cancelled context may have set a deadline in the
	// past on nc after the call ended: such a connection is not kept.
	cut bool
}

func (c *Client) conn(ctx context.Context) (*wire, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		w := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		w.reused = true
		return w, nil
	}
	c.mu.Unlock()

	if err := paths.CheckSocket(c.socket); err != nil {
		if errors.Is(err, paths.ErrUnsafe) {
			return nil, err
		}
		return nil, &NoAgentError{Socket: c.socket, Err: err}
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, &NoAgentError{Socket: c.socket, Err: err}
	}
	return &wire{nc: nc, lr: protocol.NewLineReader(nc, 4*protocol.MaxLine)}, nil
}

func (c *Client) release(w *wire) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || w.cut || len(c.idle) >= c.maxIdle {
		w.nc.Close()
		return
	}
	c.idle = append(c.idle, w)
}

// Do sends req and decodes a successful reply into result (which may be
// nil). It fills in the id and, when unset, the agent and skill labels. A
// daemon error is returned as a *protocol.Error.
func (c *Client) Do(ctx context.Context, req *protocol.Request, result any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	req.ID = protocol.RawID(strconv.FormatUint(id, 10))
	if req.Agent == "" {
		req.Agent = c.agent
	}
	if req.Skill == "" {
		req.Skill = c.skill
	}
	line, err := encodeRequest(req)
	if err != nil {
		return err
	}
	defer secret.Wipe(line)

	// A kept connection may have been closed by the daemon (restart,
	// shutdown); one retry on a fresh connection covers that. A fresh
	// connection is not retried.
	for attempt := 0; ; attempt++ {
		w, err := c.conn(ctx)
		if err != nil {
			return err
		}
		h, err := c.roundTrip(ctx, w, line, result)
		if err != nil {
			w.nc.Close()
			if w.reused && attempt == 0 && ctx.Err() == nil && isStale(err) {
				continue
			}
			return fmt.Errorf("talk to credd at %s: %w", c.socket, err)
		}
		c.release(w)
		if !h.OK {
			if h.Error == nil {
				return protocol.Errorf(protocol.CodeInternal, "reply without error")
			}
			return h.Error
		}
		if string(h.ID) != string(req.ID) {
			return fmt.Errorf("credd answered request %s with id %s", req.ID, h.ID)
		}
		return nil
	}
}

func (c *Client) roundTrip(ctx context.Context, w *wire, line []byte, result any) (*protocol.Header, error) {
	deadline, ok := ctx.Deadline()
	if !deadline.Equal(w.deadline) {
		_ = w.nc.SetDeadline(deadline)
		w.deadline = deadline
	}
	if ctx.Done() != nil {
		// Cancelling the context ends the call at once.
		stop := context.AfterFunc(ctx, func() { _ = w.nc.SetDeadline(time.Now()) })
		defer func() {
			if !stop() {
				w.cut = true
			}
		}()
	}

	if _, err := w.nc.Write(line); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	resp, err := w.lr.ReadLine()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The socket's deadline is the context's, and may fire a moment
		// before the context notices.
		if ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(deadline) {
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	defer secret.Wipe(resp)
	return protocol.DecodeResponse(resp, result)
}

// isStale reports whether err is what a connection the daemon already
// closed looks like.
func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

func encodeRequest(req *protocol.Request) ([]byte, error) {
	b, err := protocol.AppendRequest(nil, req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}
