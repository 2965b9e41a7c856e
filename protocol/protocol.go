// Package protocol defines credd's wire protocol: newline-delimited JSON
// requests and responses over a stream socket, the error codes, and the limits
// that keep a hostile client from hurting anyone else.
//
// PROTOCOL.md in this folder is the normative description; this package is
// its Go form. It knows nothing of sockets, keyrings or policy.
package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the protocol version reported by hello.
const Version = 1

// Limits of the protocol. A daemon enforces them; a client may rely on them.
const (
	// MaxLine is the longest request line, newline excluded.
	MaxLine = 1 << 20
	// MaxNameLen is the longest credential or field name.
	MaxNameLen = 128
	// IdleTimeout is how long a client may stay silent in the middle of a
	// line before the daemon drops it.
	IdleTimeout = 60 * time.Second
	// MaxConns is how many connections a daemon serves at once.
	MaxConns = 512
)

// Operations.
const (
	OpHello    = "hello"
	OpStatus   = "status"
	OpList     = "list"
	OpGet      = "get"
	OpSet      = "set"
	OpDelete   = "delete"
	OpUnlock   = "unlock"
	OpLock     = "lock"
	OpTypes    = "types"
	OpValidate = "validate"
	OpRotate   = "rotate"
	OpUndo     = "undo_rotate"
	OpPending  = "pending"
	OpApprove  = "approve"
	OpDeny     = "deny"
	OpReload   = "reload"
	OpPolicy   = "policy_test"
)

// Code is an error code carried in an error response.
type Code string

// Error codes. PROTOCOL.md says when each is used.
const (
	CodeBadRequest         Code = "bad_request"
	CodeUnknownOp          Code = "unknown_op"
	CodeTooLarge           Code = "too_large"
	CodeLocked             Code = "locked"
	CodeNotFound           Code = "not_found"
	CodeDenied             Code = "denied"
	CodeInvalid            Code = "invalid"
	CodeBackendUnavailable Code = "backend_unavailable"
	CodeAuditUnavailable   Code = "audit_unavailable"
	CodeBusy               Code = "busy"
	CodeInternal           Code = "internal"
)

// Error is an error response's body. It is also a Go error, so that a client
// can hand it to its caller and errors.Is works against the sentinels below.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Error returns the code and message.
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, protocol.ErrLocked) works whatever the message.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Errorf returns an *Error with the given code and a formatted message. The
// message is shown to clients and written to logs: never put a secret in it.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels to compare against with errors.Is.
var (
	ErrBadRequest         = &Error{Code: CodeBadRequest}
	ErrUnknownOp          = &Error{Code: CodeUnknownOp}
	ErrTooLarge           = &Error{Code: CodeTooLarge}
	ErrLocked             = &Error{Code: CodeLocked}
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrDenied             = &Error{Code: CodeDenied}
	ErrInvalid            = &Error{Code: CodeInvalid}
	ErrBackendUnavailable = &Error{Code: CodeBackendUnavailable}
	ErrAuditUnavailable   = &Error{Code: CodeAuditUnavailable}
	ErrBusy               = &Error{Code: CodeBusy}
	ErrInternal           = &Error{Code: CodeInternal}
)

// ValidName reports whether s is a valid credential or field name: 1 to 128
// characters of [A-Za-z0-9._-], not starting with '.' or '-'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CheckName returns a bad_request error naming what is wrong with s, which
// names a credential ("name") or a field ("field").
func CheckName(what, s string) *Error {
	if ValidName(s) {
		return nil
	}
	if s == "" {
		return Errorf(CodeBadRequest, "%s is required", what)
	}
	if len(s) > MaxNameLen {
		return Errorf(CodeBadRequest, "%s is longer than %d characters", what, MaxNameLen)
	}
	return Errorf(CodeBadRequest, "%s %q is not valid: use 1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -", what, truncate(s, 40), MaxNameLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// RawID is a request id as sent by the client (a JSON number or string),
// echoed back verbatim.
type RawID = json.RawMessage
