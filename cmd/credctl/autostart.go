package main

// Starting credd on demand. When a command that needs the agent finds no
// daemon at its socket, credctl starts one, the way gpg-agent is started by
// the gpg tools: detached in its own session, stdin from /dev/null, output
// appended to credd.log in the state folder, told the socket path credctl
// itself uses. A daemon that systemd or launchd manages is asked for
// through them instead. Concurrent starts are serialized by an exclusive
// lock on <socket>.lock, held while checking, starting and waiting, so that
// any number of credctl processes racing end with one daemon.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/install"
	"github.com/airtrain-ai/credd/internal/paths"
	"github.com/airtrain-ai/credd/launchd"
	"github.com/airtrain-ai/credd/systemd"
)

// noAutostartEnv turns starting on demand off when set to 1 (or true, yes).
const noAutostartEnv = "AIRTRAIN_CRED_NO_AUTOSTART"

// startWait bounds the wait for a started daemon to answer. credd may
// spend up to the keyring's own timeout (5 s) probing the OS keyring
// before it listens, so the bound is above that.
const startWait = 10 * time.Second

// lockWait bounds the wait for another credctl's start to finish.
const lockWait = startWait + 5*time.Second

// noAutostart names the commands that never start the agent: they do not
// need it, or they manage it themselves.
var noAutostart = map[string]bool{
	"version":   true,
	"help":      true,
	"install":   true,
	"uninstall": true,
	"start":     true,
	"stop":      true,
	// Starting an agent only to lock it would be wasted work: with no
	// agent there is nothing to lock, and lock says so with exit code 3.
	"lock": true,
	// These read only the config file.
	"policy": true,
	"config": true,
}

// autostart runs before the command called name: when no agent answers at
// the client's socket, it starts one, unless the command does not need it
// or the user turned starting on demand off. A failure to start is
// returned as a client.NoAgentError, which credctl reports with exit 3.
func autostart(ctx context.Context, name string, e *env) error {
	if noAutostart[name] || autostartDisabled(os.Getenv(noAutostartEnv)) {
		return nil
	}
	_, err := ensureAgent(ctx, e.client.Socket())
	return err
}

// autostartDisabled reports whether the value of AIRTRAIN_CRED_NO_AUTOSTART
// turns starting on demand off.
func autostartDisabled(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// started says how ensureAgent found or made the agent.
type started int

const (
	alreadyRunning started = iota
	startedByUs
	startedByManager
)

// ensureAgent makes sure a daemon answers at sock. Anything other than "no
// daemon there" (an unsafe socket, a daemon that hangs) is left for the
// command to report, so that ensureAgent never starts a second daemon
// beside a live one.
func ensureAgent(ctx context.Context, sock string) (started, error) {
	if probe(sock) != probeAbsent {
		return alreadyRunning, nil
	}
	if m := findManager(sock); m != nil {
		if err := m.start(ctx, sock); err != nil {
			return 0, &client.NoAgentError{Socket: sock, Err: err}
		}
		return startedByManager, nil
	}
	how, err := spawnLocked(ctx, sock)
	if err != nil {
		return 0, &client.NoAgentError{Socket: sock, Err: err}
	}
	return how, nil
}

type probeResult int

const (
	probeLive    probeResult = iota // a daemon accepted a connection
	probeAbsent                     // no socket, or nobody listens on it
	probeUnknown                    // anything else: let the command say
)

// probe connects to sock once, after the same ownership and mode checks
// the client makes, and says whether a daemon is there.
func probe(sock string) probeResult {
	if err := paths.CheckSocket(sock); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return probeAbsent
		}
		return probeUnknown
	}
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err == nil {
		c.Close()
		return probeLive
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return probeAbsent
	}
	return probeUnknown
}

// spawnLocked starts credd for sock under the start lock. Whoever holds
// the lock checks again first: another credctl may have just started one.
func spawnLocked(ctx context.Context, sock string) (started, error) {
	if err := paths.PrepareSocketDir(sock); err != nil {
		return 0, fmt.Errorf("start credd: %w", err)
	}
	unlock, err := lockStart(ctx, sock+".lock")
	if err != nil {
		return 0, err
	}
	defer unlock()
	if probe(sock) == probeLive {
		return alreadyRunning, nil
	}
	return startedByUs, spawn(ctx, sock)
}

// lockStart takes the exclusive start lock at path, waiting up to lockWait.
// The lock file is left in place: removing it would let two processes lock
// two different files of the same name.
func lockStart(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open start lock: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("take start lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("take start lock %s: another credctl held it for %s",
				path, lockWait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("take start lock: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logFile is where a daemon started on demand writes its output.
func logFile() string { return filepath.Join(paths.StateDir(), "credd.log") }

// spawn starts credd detached and waits until it answers at sock.
func spawn(ctx context.Context, sock string) error {
	bin, err := install.FindBinary()
	if err != nil {
		return fmt.Errorf("start credd: %w", err)
	}
	logPath := logFile()
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("start credd: create log folder: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("start credd: open log: %w", err)
	}
	defer logf.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("start credd: %w", err)
	}
	defer null.Close()

	cmd := exec.Command(bin, "--socket", sock)
	cmd.Env = daemonEnv(os.Environ())
	cmd.Dir = "/" // hold no mount busy
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, logf, logf
	// A session of its own: no controlling terminal, and the terminal's
	// signals (Ctrl-C, hangup) never reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start credd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.NewTimer(startWait)
	defer deadline.Stop()
	tick := time.NewTicker(15 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			// It may have found a daemon someone started by hand.
			if probe(sock) == probeLive {
				return nil
			}
			return fmt.Errorf("start credd: %s exited at start (%v); see its log %s",
				bin, err, logPath)
		case <-deadline.C:
			return fmt.Errorf("start credd: no answer at %s within %s; see its log %s",
				sock, startWait, logPath)
		case <-ctx.Done():
			return fmt.Errorf("start credd: %w", ctx.Err())
		case <-tick.C:
			if probe(sock) == probeLive {
				return nil
			}
		}
	}
}

// daemonEnv is credctl's environment without what must not reach a
// long-lived daemon: a passphrase meant for one unlock, and variables by
// which a service manager speaks to the process that owns them.
func daemonEnv(environ []string) []string {
	drop := map[string]bool{
		"AIRTRAIN_CRED_PASSPHRASE": true,
		noAutostartEnv:             true,
		"LISTEN_FDS":               true,
		"LISTEN_PID":               true,
		"LISTEN_FDNAMES":           true,
		"NOTIFY_SOCKET":            true,
		"WATCHDOG_PID":             true,
		"WATCHDOG_USEC":            true,
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

// manager is a service manager that owns the agent at a socket path.
type manager struct {
	name string
	args []string // the command that starts the agent
	hint string   // where to look when it does not
}

// findManager returns the service manager that owns the agent at sock, or
// nil when none does: credd is not installed under one, the manager is not
// reachable, or sock is not the path the installed service listens on.
// The cheap checks (file exists, path matches) come before asking the
// manager anything.
func findManager(sock string) *manager {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	opts := install.Options{OS: runtime.GOOS, Home: home, UID: os.Getuid(),
		RuntimeDir: os.Getenv("XDG_RUNTIME_DIR")}
	switch runtime.GOOS {
	case "linux":
		if opts.RuntimeDir == "" ||
			sock != filepath.Join(opts.RuntimeDir, "airtrain", "credd.sock") ||
			!systemdUnitInstalled(home) {
			return nil
		}
		if !install.Detect(opts, install.ExecRunner).Usable() {
			return nil
		}
		return &manager{name: "systemd",
			args: []string{"systemctl", "--user", "start", systemd.SocketUnit},
			hint: "systemctl --user status " + systemd.SocketUnit + " " + systemd.ServiceUnit}
	case "darwin":
		plist := filepath.Join(home, "Library", "LaunchAgents", launchd.PlistName)
		if sock != install.DarwinSocket(home) || !exists(plist) {
			return nil
		}
		if !install.Detect(opts, install.ExecRunner).Usable() {
			return nil
		}
		job := "gui/" + strconv.Itoa(opts.UID) + "/" + launchd.Label
		return &manager{name: "launchd", args: []string{"launchctl", "kickstart", job},
			hint: "launchctl print " + job}
	}
	return nil
}

// systemdUnitInstalled reports whether credd.socket is installed for the
// user's manager, by the user or system wide.
func systemdUnitInstalled(home string) bool {
	for _, dir := range []string{
		filepath.Join(home, ".config", "systemd", "user"),
		"/etc/systemd/user",
		"/usr/local/lib/systemd/user",
		"/usr/lib/systemd/user",
	} {
		if exists(filepath.Join(dir, systemd.SocketUnit)) {
			return true
		}
	}
	return false
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// start asks the manager for the agent and waits until it answers.
func (m *manager) start(ctx context.Context, sock string) error {
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	out, err := exec.CommandContext(ctx, m.args[0], m.args[1:]...).CombinedOutput()
	if err != nil {
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("ask %s to start credd: %s: %v %s; see %s",
			m.name, strings.Join(m.args, " "), err, line, m.hint)
	}
	for probe(sock) != probeLive {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s started credd but nothing answered at %s within %s; see %s",
				m.name, sock, startWait, m.hint)
		case <-time.After(15 * time.Millisecond):
		}
	}
	return nil
}
