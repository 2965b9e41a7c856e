package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/airtrain-ai/credd/secret"
)

// maxInput bounds what credctl reads from stdin for one value.
const maxInput = 1 << 20

// terminal returns stdin as a terminal file descriptor, or -1.
func (e *env) terminal() int {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return int(f.Fd())
	}
	return -1
}

// readSecret reads one value: from a no-echo prompt on a terminal, else all
// of stdin with one trailing newline removed. The value never passes
// through argv or a Go string.
func (e *env) readSecret(prompt string) (*secret.Secret, error) {
	var raw []byte
	if fd := e.terminal(); fd >= 0 {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, fmt.Errorf("read from terminal: %w", err)
		}
		raw = b
	} else {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxInput+1))
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		if len(b) > maxInput {
			secret.Wipe(b)
			return nil, fmt.Errorf("stdin holds more than %d bytes", maxInput)
		}
		raw = trimNewline(b)
	}
	s := secret.New(raw)
	secret.Wipe(raw)
	return s, nil
}

func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// passphrase returns the unlock passphrase: $AIRTRAIN_CRED_PASSPHRASE when
// set (for automation; weaker, since other processes of the user can read
// the environment), else a no-echo prompt, else stdin.
func (e *env) passphrase() (*secret.Secret, error) {
	if p, ok := os.LookupEnv("AIRTRAIN_CRED_PASSPHRASE"); ok {
		return secret.FromString(p), nil
	}
	return e.readSecret("Passphrase: ")
}
