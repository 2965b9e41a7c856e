package main

import (
	"bytes"
	"io"
	"sort"
	"sync"
	"time"
)

// minMaskLen is the shortest value --mask replaces: shorter ones would
// mangle ordinary output and are poor secrets anyway.
const minMaskLen = 4

// maskSecret is one value to hide and the credential it came from.
type maskSecret struct {
	name, value string
}

// maskWriter replaces secret values in a byte stream by <redacted:NAME>.
//
// A value may arrive split across writes, so the tail of what was written
// that could be the start of a value is held back (at most the longest
// value's length minus one byte) until the next write shows whether it is.
// A held tail is released after flushDelay of silence, unless it is a long
// enough start of a value (releaseMax bytes or more) to give part of the
// value away: such a tail waits for more output or for Close. The last
// bytes written are remembered, so that a value whose first bytes were
// released is still recognised and its remainder hidden.
//
// A maskWriter is safe for concurrent use.
type maskWriter struct {
	mu      sync.Mutex
	w       io.Writer
	secrets []maskEntry // longest first
	maxLen  int
	delay   time.Duration
	pending []byte // held back: could be the start of a value
	tail    []byte // the last maxLen-1 bytes passed through as they were
	timer   *time.Timer
	err     error
	closed  bool
}

type maskEntry struct {
	value []byte
	label []byte
}

// releaseMax is the length from which a held start of a value is no longer
// released on silence.
const releaseMax = 8

// flushDelay is how long held-back bytes wait for more output.
const flushDelay = 100 * time.Millisecond

// newMaskWriter returns a maskWriter writing to w. Values shorter than
// minMaskLen are ignored.
func newMaskWriter(w io.Writer, secrets []maskSecret) *maskWriter {
	m := &maskWriter{w: w, delay: flushDelay}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s.value) < minMaskLen || seen[s.value] {
			continue
		}
		seen[s.value] = true
		m.secrets = append(m.secrets, maskEntry{value: []byte(s.value), label: []byte("<redacted:" + s.name + ">")})
		m.maxLen = max(m.maxLen, len(s.value))
	}
	// Longest first, so that a value containing another is replaced whole.
	sort.SliceStable(m.secrets, func(i, j int) bool { return len(m.secrets[i].value) > len(m.secrets[j].value) })
	return m
}

// Write masks p and passes on what is certain not to be part of a value.
// It reports len(p) unless the underlying writer failed.
func (m *maskWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if len(m.secrets) == 0 {
		return m.emit(p, true)
	}
	m.pending = append(m.pending, p...)
	m.process(false)
	if m.err != nil {
		return 0, m.err
	}
	m.arm()
	return len(p), nil
}

// Close writes out everything held back.
func (m *maskWriter) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
	}
	if len(m.pending) > 0 && m.err == nil {
		m.process(true)
	}
	return m.err
}

// arm starts the release timer when bytes are held back.
func (m *maskWriter) arm() {
	if len(m.pending) == 0 || m.closed {
		return
	}
	if m.timer == nil {
		m.timer = time.AfterFunc(m.delay, m.release)
		return
	}
	m.timer.Reset(m.delay)
}

// release runs after a silence: a short held-back start is passed on.
func (m *maskWriter) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.err != nil || len(m.pending) == 0 || len(m.pending) >= releaseMax {
		return
	}
	m.process(true)
}

// process passes on pending bytes, replacing values. Unless final, it keeps
// back a tail that may be the start of a value.
func (m *maskWriter) process(final bool) {
	buf := append(append([]byte(nil), m.tail...), m.pending...)
	start := len(m.tail) // buf[:start] has been passed on already
	var out []byte
	raw := -1 // where out's bytes since the last label begin; -1: no label
	i, hold := 0, len(buf)
	for i < len(buf) {
		if e := m.matchAt(buf[i:]); e != nil {
			out = append(out, e.label...)
			raw = len(out)
			i += len(e.value)
			continue
		}
		if !final && m.prefixAt(buf[i:]) {
			hold = max(i, start)
			break
		}
		if i >= start {
			out = append(out, buf[i])
		}
		i++
	}
	m.pending = append([]byte(nil), buf[hold:]...)
	if raw >= 0 {
		// Only what follows the last replacement may start a value.
		m.tail = m.tail[:0]
		m.emit(out[:raw], true)
		m.emit(out[raw:], false)
		return
	}
	m.emit(out, false)
}

// emit writes b. Unless b is a replacement, its last bytes are remembered
// as the tail, so that a value starting in them is still found.
func (m *maskWriter) emit(b []byte, replaced bool) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := m.w.Write(b)
	if err != nil {
		m.err = err
		return n, err
	}
	if !replaced {
		m.tail = append(m.tail, b...)
		if keep := m.maxLen - 1; len(m.tail) > keep {
			m.tail = append(m.tail[:0], m.tail[len(m.tail)-keep:]...)
		}
	}
	return n, nil
}

// matchAt returns the value that b starts with, if any.
func (m *maskWriter) matchAt(b []byte) *maskEntry {
	for i := range m.secrets {
		if bytes.HasPrefix(b, m.secrets[i].value) {
			return &m.secrets[i]
		}
	}
	return nil
}

// prefixAt reports whether b is a proper start of some value.
func (m *maskWriter) prefixAt(b []byte) bool {
	for _, e := range m.secrets {
		if len(b) < len(e.value) && bytes.HasPrefix(e.value, b) {
			return true
		}
	}
	return false
}
