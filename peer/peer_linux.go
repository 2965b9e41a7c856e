//go:build linux

package peer

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FromConn reads the kernel's credentials for c's peer (SO_PEERCRED) and the
// process details from /proc. When the kernel offers SO_PEERPIDFD the pidfd
// proves the details belong to the connecting process; otherwise the start
// time is compared before and after. A failure to read the details still
// returns the kernel's uid, gid and pid, with an error.
func FromConn(c *net.UnixConn) (*Identity, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("SyscallConn: %w", err)
	}
	var (
		cred  *unix.Ucred
		pidfd = -1
		cerr  error
	)
	err = raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if cerr == nil {
			if pfd, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil {
				pidfd = pfd
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("Control: %w", err)
	}
	if cerr != nil {
		return nil, fmt.Errorf("getsockopt(SO_PEERCRED): %w", cerr)
	}
	id := &Identity{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}
	if pidfd >= 0 {
		defer unix.Close(pidfd)
	}
	return id, readProc(id, pidfd)
}

// Refresh reads id's process details again, for a long-lived connection
// whose process may have executed another program since it connected. It
// fails with ErrGone when the pid no longer names the same process.
func Refresh(id *Identity) error {
	pidfd, err := unix.PidfdOpen(id.PID, 0)
	if err != nil {
		pidfd = -1
	} else {
		defer unix.Close(pidfd)
	}
	start := id.StartTime
	fresh := &Identity{PID: id.PID, UID: id.UID, GID: id.GID}
	if err := readProc(fresh, pidfd); err != nil {
		return err
	}
	if start != 0 && fresh.StartTime != start {
		return ErrGone
	}
	*id = *fresh
	return nil
}

// readProc fills id from /proc/<pid>. With a pidfd, the process must still
// be alive after the reads for them to count; without one, its start time
// must be the same before and after.
func readProc(id *Identity, pidfd int) error {
	dir := "/proc/" + strconv.Itoa(id.PID)
	before, err := startTime(dir)
	if err != nil {
		return ErrGone
	}

	exe, exeErr := os.Readlink(dir + "/exe")
	cmdline, _ := readCmdline(dir + "/cmdline")

	if pidfd >= 0 {
		if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
			return ErrGone
		}
		id.PIDFD = true
	}
	after, err := startTime(dir)
	if err != nil || after != before {
		return ErrGone
	}

	id.StartTime = before
	id.Cmdline = cmdline
	if exeErr == nil {
		if strings.HasSuffix(exe, " (deleted)") {
			exe = strings.TrimSuffix(exe, " (deleted)")
			id.ExeDeleted = true
		}
		id.Exe = exe
	}
	return nil
}

// startTime returns field 22 of /proc/<pid>/stat.
func startTime(dir string) (uint64, error) {
	f, err := statField(dir, 22)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f, 10, 64)
}

// statField returns field n (counted from 1, as proc(5) does) of
// /proc/<pid>/stat, for n of 3 or more. The command name in field 2 may
// hold spaces and parentheses, so fields are counted after its last
// closing parenthesis.
func statField(dir string, n int) (string, error) {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return "", err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", errors.New("malformed stat")
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < n-2 {
		return "", errors.New("malformed stat")
	}
	return fields[n-3], nil
}

func readCmdline(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, MaxCmdline)
	n, _ := f.Read(buf)
	b := bytes.TrimRight(buf[:n], "\x00")
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), nil
}
