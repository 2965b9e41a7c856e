//go:build linux

package peer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// MaxAncestors bounds how many parents Ancestors walks up.
const MaxAncestors = 64

// ErrNoUnit is returned by Unit when the process is not in a systemd unit.
var ErrNoUnit = errors.New("process is not in a systemd unit")

// ForPID reads the identity of a running process from /proc, as FromConn
// does for a socket peer: uid and gid are the real ids from
// /proc/<pid>/status, the executable is the resolved /proc/<pid>/exe.
func ForPID(pid int) (*Identity, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	uid, gid, err := statusIDs(dir)
	if err != nil {
		return nil, ErrGone
	}
	id := &Identity{PID: pid, UID: uid, GID: gid}
	if err := readProc(id, -1); err != nil {
		return nil, err
	}
	return id, nil
}

// Same reports whether id.PID still names the process that id describes:
// the pid is alive and has the same start time.
func Same(id *Identity) bool {
	if id == nil || id.PID <= 0 || id.StartTime == 0 {
		return false
	}
	st, err := startTime("/proc/" + strconv.Itoa(id.PID))
	return err == nil && st == id.StartTime
}

// Ancestors returns the executables of pid's parent, grandparent and so on,
// nearest first, at most MaxAncestors of them, stopping below pid 0. An
// ancestor whose executable cannot be read (another user's process, a
// kernel thread, a deleted binary) is an empty string: it is unknown and
// matches nothing. A parent that started after its child is a reused pid
// (the real parent exited), and the walk stops there with an error, after
// returning the ancestors verified so far.
func Ancestors(pid int) ([]string, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	childStart, err := startTime(dir)
	if err != nil {
		return nil, ErrGone
	}
	var out []string
	cur := pid
	for len(out) < MaxAncestors {
		ppid, err := parentPID("/proc/" + strconv.Itoa(cur))
		if err != nil {
			return out, fmt.Errorf("read parent of pid %d: %w", cur, ErrGone)
		}
		if ppid <= 0 {
			return out, nil
		}
		pdir := "/proc/" + strconv.Itoa(ppid)
		before, err := startTime(pdir)
		if err != nil || before > childStart {
			return out, fmt.Errorf("parent of pid %d: %w", cur, ErrGone)
		}
		exe, err := os.Readlink(pdir + "/exe")
		if err != nil || strings.HasSuffix(exe, " (deleted)") {
			exe = ""
		}
		after, err := startTime(pdir)
		if err != nil || after != before {
			return out, fmt.Errorf("parent of pid %d: %w", cur, ErrGone)
		}
		out = append(out, exe)
		cur, childStart = ppid, before
	}
	return out, nil
}

// ExeSHA256 returns the hex SHA-256 of the binary that pid runs, read
// through /proc/<pid>/exe. That link opens the inode the process was
// started from, even after the path on disk was renamed over or deleted,
// so the hash is of what runs, not of whatever now sits at the path.
// Results are cached per file version (see hashFile).
func ExeSHA256(pid int) (string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "", fmt.Errorf("open executable of pid %d: %w", pid, err)
	}
	defer f.Close()
	return hashFile(f)
}

// ExeSHA256Of returns the hash of the binary id's process runs, and fails
// unless that binary is still the file at id.Exe (same device and inode)
// and the pid still names the same process. It binds the hash to the path
// that exe rules matched, so a process that executed another program since
// it connected gets no hash.
func ExeSHA256Of(id *Identity) (string, error) {
	if !id.Known() {
		return "", errors.New("hash executable: executable unknown")
	}
	f, err := os.Open("/proc/" + strconv.Itoa(id.PID) + "/exe")
	if err != nil {
		return "", fmt.Errorf("open executable of pid %d: %w", id.PID, err)
	}
	defer f.Close()
	running, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat executable: %w", err)
	}
	onDisk, err := os.Stat(id.Exe)
	if err != nil || !os.SameFile(running, onDisk) {
		return "", errors.New("hash executable: running binary is not the file at its path")
	}
	sum, err := hashFile(f)
	if err != nil {
		return "", err
	}
	if !Same(id) {
		return "", ErrGone
	}
	return sum, nil
}

// Unit returns the systemd unit (a .service or .scope) that pid runs in,
// from /proc/<pid>/cgroup: the innermost unit on the cgroup v2 path, or on
// the name=systemd hierarchy under cgroup v1. It fails with ErrNoUnit when
// the path names no unit.
func Unit(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", fmt.Errorf("read cgroup of pid %d: %w", pid, ErrGone)
	}
	if u := unitFromCgroup(b); u != "" {
		return u, nil
	}
	return "", ErrNoUnit
}

// unitFromCgroup parses the contents of /proc/<pid>/cgroup.
func unitFromCgroup(b []byte) string {
	var path string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			path = parts[2]
			break
		}
		if parts[1] == "name=systemd" {
			path = parts[2]
		}
	}
	elems := strings.Split(path, "/")
	for i := len(elems) - 1; i >= 0; i-- {
		e := elems[i]
		if strings.HasSuffix(e, ".service") || strings.HasSuffix(e, ".scope") {
			return e
		}
	}
	return ""
}

// parentPID returns field 4 of /proc/<pid>/stat.
func parentPID(dir string) (int, error) {
	f, err := statField(dir, 4)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f)
}

// statusIDs returns the real uid and gid from /proc/<pid>/status.
func statusIDs(dir string) (uid, gid int, err error) {
	b, err := os.ReadFile(dir + "/status")
	if err != nil {
		return 0, 0, err
	}
	uid, gid = -1, -1
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Uid:":
			uid, err = strconv.Atoi(f[1])
		case "Gid:":
			gid, err = strconv.Atoi(f[1])
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if uid < 0 || gid < 0 {
		return 0, 0, errors.New("malformed status")
	}
	return uid, gid, nil
}

// keyOf returns the cache key of a file version; false when fi is not a
// regular file.
func keyOf(fi os.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return fileKey{}, false
	}
	return fileKey{
		dev:   st.Dev,
		ino:   st.Ino,
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
	}, true
}

// Parent returns the pid of pid's parent process.
func Parent(pid int) (int, error) {
	return parentPID("/proc/" + strconv.Itoa(pid))
}
