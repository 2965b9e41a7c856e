//go:build darwin

package peer

import (
	"fmt"
	"net"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// BUG(peer): On macOS, LOCAL_PEERPID names the process that last used the
// peer's end of the socket, not necessarily the one that connected: a
// descriptor passed to or inherited by another process reports that one.
// The uid and gid come from the credentials cached at connect and do not
// change.

// xucredVersion is XUCRED_VERSION from <sys/ucred.h>, the only layout of
// struct xucred the kernel has returned.
const xucredVersion = 0

// FromConn reads the kernel's credentials for c's peer (LOCAL_PEERCRED for
// uid and gid, LOCAL_PEERPID for the pid) and the process details from the
// kern.procargs2 sysctl, checking the process's start time before and after
// so that a reused pid is noticed. A failure to read the details still
// returns the kernel's uid, gid and pid, with an error.
func FromConn(c *net.UnixConn) (*Identity, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("SyscallConn: %w", err)
	}
	var (
		cred       *unix.Xucred
		pid        int
		cerr, perr error
	)
	err = raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		pid, perr = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	})
	if err != nil {
		return nil, fmt.Errorf("Control: %w", err)
	}
	if cerr != nil {
		return nil, fmt.Errorf("getsockopt(LOCAL_PEERCRED): %w", cerr)
	}
	if cred.Version != xucredVersion || cred.Ngroups < 1 {
		return nil, fmt.Errorf("getsockopt(LOCAL_PEERCRED): unexpected xucred version %d "+
			"with %d groups", cred.Version, cred.Ngroups)
	}
	if perr != nil {
		return nil, fmt.Errorf("getsockopt(LOCAL_PEERPID): %w", perr)
	}
	// The first group is the effective gid.
	id := &Identity{PID: pid, UID: int(cred.Uid), GID: int(cred.Groups[0])}
	return id, readProcess(id)
}

// Refresh reads id's process details again, for a long-lived connection
// whose process may have executed another program since it connected. It
// fails with ErrGone when the pid no longer names the same process.
func Refresh(id *Identity) error {
	fresh := &Identity{PID: id.PID, UID: id.UID, GID: id.GID}
	if err := readProcess(fresh); err != nil {
		return err
	}
	if id.StartTime != 0 && fresh.StartTime != id.StartTime {
		return ErrGone
	}
	*id = *fresh
	return nil
}

// readProcess fills id from the kernel's process table. The start time,
// read before and after the arguments, must not change for them to count.
// On macOS StartTime is the wall-clock start in microseconds since the
// epoch, which identifies the process together with its pid just as well.
func readProcess(id *Identity) error {
	before, err := procStart(id.PID)
	if err != nil {
		return ErrGone
	}

	buf, argsErr := unix.SysctlRaw("kern.procargs2", id.PID)
	exe, argv, parseErr := parseProcArgs(buf)
	// The buffer holds the peer's environment after its arguments.
	clear(buf)

	after, err := procStart(id.PID)
	if err != nil || after != before {
		return ErrGone
	}

	id.StartTime = before
	if argsErr != nil {
		return fmt.Errorf("sysctl(kern.procargs2): %w", argsErr)
	}
	if parseErr != nil {
		return fmt.Errorf("sysctl(kern.procargs2): %w", parseErr)
	}
	id.Cmdline = joinCmdline(argv)
	// exec may have been given a relative path, which says nothing without
	// the working folder of that moment: leave the executable unknown.
	if filepath.IsAbs(exe) {
		id.Exe = filepath.Clean(exe)
	}
	return nil
}

// procStart returns pid's start time from kern.proc.pid, in microseconds
// since the epoch. A pid with no process is an error.
func procStart(pid int) (uint64, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return 0, fmt.Errorf("sysctl(kern.proc.pid): %w", err)
	}
	if int(kp.Proc.P_pid) != pid {
		return 0, ErrGone
	}
	tv := kp.Proc.P_starttime
	return uint64(tv.Sec)*1_000_000 + uint64(tv.Usec), nil
}
