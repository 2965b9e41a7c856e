// Package peer tells who is at the other end of a Unix socket, from what the
// kernel vouches for: the peer's uid, gid and pid at connect time, and then
// what /proc (or the OS's equivalent) says about that process.
//
// The uid and gid come from the kernel and are trustworthy. The pid names a
// process that may exit and be replaced by another with the same pid; on
// Linux the package holds a pidfd for the peer and reads /proc only while the
// pidfd proves the process is still the one that connected. The executable
// path and command line are evidence, not proof: a same-user process can
// rename itself, and only the executable's content hash resists a replaced
// binary.
package peer

import (
	"errors"
)

// ErrNotImplemented is returned where the OS gives no peer credentials.
var ErrNotImplemented = errors.New("peer credentials are not implemented on this OS")

// ErrGone is returned when the peer process exited before its identity could
// be read, or was replaced by another process with the same pid.
var ErrGone = errors.New("peer process is gone")

// MaxCmdline is how many bytes of a peer's command line are kept.
const MaxCmdline = 1024

// Identity is what is known about a connected process.
type Identity struct {
	PID int `json:"pid"`
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Exe is the resolved path of the executable, empty when it could not
	// be read. A binary deleted after start keeps its old path with
	// ExeDeleted set.
	Exe        string `json:"exe"`
	ExeDeleted bool   `json:"exe_deleted,omitempty"`
	// Cmdline is the command line, arguments joined by spaces and cut at
	// MaxCmdline bytes. The process controls it: it proves nothing.
	Cmdline string `json:"cmdline"`
	// StartTime identifies the process together with its pid: the time
	// since boot when it started, in clock ticks.
	StartTime uint64 `json:"-"`
	// PIDFD reports whether a pidfd guarded the reading of /proc.
	PIDFD bool `json:"-"`
}

// Known reports whether the executable could be identified.
func (id *Identity) Known() bool { return id != nil && id.Exe != "" && !id.ExeDeleted }
