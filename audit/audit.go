// Package audit writes credd's audit log: one JSON line per request that
// touches a credential or the lock state, written before the reply is sent.
//
// A record names what happened (event, credential, field, outcome), who
// asked as the kernel tells it (pid, uid, gid, executable, command line),
// the labels the client reported about itself (kept apart, under
// "self_reported", because the client chose them), the request id and, when
// access rules are in force, the rule that decided. It never holds a value.
//
// Records are appended with one write(2) each to a file opened O_APPEND, so
// a record is either in the file or not, and a crash can at worst tear the
// last line. A write that fails is returned to the caller, which must then
// refuse the request: no credential leaves the daemon unrecorded. Records
// are not fsynced one by one: they survive the daemon's crash, but not the
// machine's.
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/peer"
)

// Events.
const (
	EventGet      = "get"
	EventList     = "list"
	EventSet      = "set"
	EventDelete   = "delete"
	EventUnlock   = "unlock"
	EventLock     = "lock"
	EventAutoLock = "auto_lock"
	EventRefused  = "refused_peer"
	EventRotate   = "rotate"
	EventUndo     = "undo_rotate"
	EventValidate = "validate"
	EventConfirm  = "confirm"
	EventReload   = "reload"
)

// Outcomes.
const (
	Granted  = "granted"
	Denied   = "denied"
	NotFound = "not_found"
	Locked   = "locked"
	Error    = "error"
)

// Record is one audit line.
type Record struct {
	Time       time.Time
	Event      string
	Credential string
	Field      string
	Outcome    string
	Peer       *peer.Identity
	// PeerJSON, when set, is Peer already encoded by EncodePeer: a
	// connection's identity is encoded once, not once per record.
	PeerJSON []byte
	// Agent and Skill are the labels the client reported about itself;
	// they are written under "self_reported".
	Agent     string
	Skill     string
	RequestID json.RawMessage
	// Rule is the index of the access rule that decided, -1 for the
	// default action, nil when no rules are configured.
	Rule     *int
	RuleName string
	// Detail is a short human note: an error's code, a reason.
	Detail string
}

// Labels are the agent and skill a client reported about itself.
type Labels struct {
	Agent string `json:"agent,omitempty"`
	Skill string `json:"skill,omitempty"`
}

// Logger appends records to the audit log. It is safe for concurrent use.
//
// Records written at the same moment by many connections are grouped: each
// caller encodes its own record, then one of them writes every record
// waiting at that moment in a single write(2), and each caller returns
// only once its record is in the file (or the write failed). Under load
// this turns one system call per request into one per group, without ever
// answering before the record is written.
type Logger struct {
	w    io.Writer
	path string

	mu      sync.Mutex
	cur     *group // records waiting for the next write, nil when none
	spare   []byte // a written group's buffer, for the next group
	writing bool   // a caller is writing groups
	idle    *sync.Cond
}

// group is the records written by one write(2).
type group struct {
	buf  []byte
	done chan struct{} // closed once written
	err  error
}

// Open opens (creating it 0600, and its folder 0700) the audit log at path
// for appending. An existing file readable by others is refused.
func Open(path string) (*Logger, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create audit folder: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		f.Close()
		return nil, fmt.Errorf("audit log %s is open to other users (mode %04o): run chmod 600 on it", path, st.Mode().Perm())
	}
	return New(f, path), nil
}

// New returns a Logger writing to w; path is only reported.
func New(w io.Writer, path string) *Logger {
	l := &Logger{w: w, path: path}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// Path returns the log's path.
func (l *Logger) Path() string { return l.path }

// Write appends r. A nil error means the record is in the file.
//
// The first caller to find nobody writing becomes the writer: it writes the
// group its own record is in and then every group that filled up in the
// meantime, while the other callers wait for their group alone.
func (l *Logger) Write(r *Record) error {
	lp := linePool.Get().(*lineBuf)
	lp.b = lp.b[:0]
	encode(lp, r)
	l.mu.Lock()
	g := l.cur
	if g == nil {
		g = &group{done: make(chan struct{}), buf: l.spare[:0]}
		l.spare = nil
		l.cur = g
	}
	g.buf = append(g.buf, lp.b...)
	linePool.Put(lp)
	if l.writing {
		l.mu.Unlock()
		<-g.done
		return wrapErr(g.err)
	}
	l.writing = true
	for l.cur != nil {
		next := l.cur
		l.cur = nil
		l.mu.Unlock()
		n, err := l.w.Write(next.buf)
		if err == nil && n < len(next.buf) {
			err = io.ErrShortWrite
		}
		next.err = err
		close(next.done)
		l.mu.Lock()
		if cap(next.buf) <= maxSpare {
			l.spare = next.buf
		}
	}
	l.writing = false
	l.idle.Broadcast()
	l.mu.Unlock()
	return wrapErr(g.err)
}

func wrapErr(err error) error {
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// linePool holds buffers for encoding records: a get writes one record,
// and allocating its line each time shows under load. Records hold no
// secret, so a buffer may be reused as it is.
var linePool = sync.Pool{New: func() any { return &lineBuf{b: make([]byte, 0, 512)} }}

// maxSpare is the largest group buffer kept for reuse.
const maxSpare = 64 << 10

// encode appends r to line as one JSON line, rendered with zerolog.
func encode(line *lineBuf, r *Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	zl := zerolog.New(line)
	e := zl.Log().Str("time", r.Time.UTC().Format(time.RFC3339Nano)).
		Str("event", r.Event).Str("outcome", r.Outcome)
	if r.Credential != "" {
		e = e.Str("credential", r.Credential)
	}
	if r.Field != "" {
		e = e.Str("field", r.Field)
	}
	switch {
	case r.PeerJSON != nil:
		e = e.RawJSON("peer", r.PeerJSON)
	case r.Peer != nil:
		e = e.RawJSON("peer", EncodePeer(r.Peer))
	}
	if r.Agent != "" || r.Skill != "" {
		e = e.Dict("self_reported", zerolog.Dict().Str("agent", r.Agent).Str("skill", r.Skill))
	}
	if len(r.RequestID) > 0 {
		e = e.RawJSON("request_id", r.RequestID)
	}
	if r.Rule != nil {
		e = e.Int("rule", *r.Rule)
		if r.RuleName != "" {
			e = e.Str("rule_name", r.RuleName)
		}
	}
	if r.Detail != "" {
		e = e.Str("detail", r.Detail)
	}
	e.Send()
}

// EncodePeer renders a process identity as the audit log's "peer" member.
func EncodePeer(p *peer.Identity) []byte {
	var line lineBuf
	zl := zerolog.New(&line)
	zl.Log().Int("pid", p.PID).Int("uid", p.UID).Int("gid", p.GID).Str("exe", p.Exe).
		Bool("exe_deleted", p.ExeDeleted).Str("cmdline", p.Cmdline).Send()
	return bytes.TrimSuffix(line.b, []byte("\n"))
}

// lineBuf keeps the one line zerolog writes.
type lineBuf struct{ b []byte }

func (l *lineBuf) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	return len(p), nil
}

// Close closes the underlying file, if it is one, after any group being
// written.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.writing {
		l.idle.Wait()
	}
	if c, ok := l.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
