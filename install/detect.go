package install

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Manager names a service manager credd can be installed under.
type Manager string

// The service managers Detect recognizes.
const (
	// NoManager means none is usable: credctl should start credd on demand.
	NoManager Manager = ""
	// SystemdUser is a running systemd user manager (systemctl --user).
	SystemdUser Manager = "systemd"
	// Launchd is launchd with a GUI session for the user on macOS.
	Launchd Manager = "launchd"
)

// Detection is what Detect found, with the reason in words.
type Detection struct {
	Manager Manager
	Reason  string
}

// Usable reports whether a service manager was found.
func (d Detection) Usable() bool { return d.Manager != NoManager }

// Detect reports whether credd can be installed under a service manager for
// opts.OS and the user, so that credctl can choose between installing it and
// starting it on demand. It runs a harmless status query through run.
func Detect(opts Options, run Runner) Detection {
	switch opts.OS {
	case "linux":
		return detectSystemd(opts, run)
	case "darwin":
		return detectLaunchd(opts, run)
	}
	return Detection{Reason: fmt.Sprintf("no supported service manager on %s", opts.OS)}
}

// systemdUsable are the states of `systemctl --user is-system-running` in
// which units can be enabled and started.
var systemdUsable = map[string]bool{
	"initializing": true, "starting": true, "running": true, "degraded": true,
}

func detectSystemd(opts Options, run Runner) Detection {
	if opts.RuntimeDir == "" {
		return Detection{Reason: "XDG_RUNTIME_DIR is not set: no systemd user manager to reach"}
	}
	private := filepath.Join(opts.RuntimeDir, "systemd", "private")
	fi, err := os.Stat(private)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		reason := fmt.Sprintf("no systemd user manager: %s is not a socket", private)
		return Detection{Reason: reason}
	}
	// is-system-running exits non-zero for every state but "running", so
	// its output decides, not its status.
	out, err := run("systemctl", "--user", "is-system-running")
	state, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if systemdUsable[state] {
		return Detection{Manager: SystemdUser, Reason: "systemd user manager is " + state}
	}
	if state == "" && err != nil {
		return Detection{Reason: "ask systemd user manager: " + err.Error()}
	}
	return Detection{Reason: fmt.Sprintf("systemd user manager is %q", state)}
}

func detectLaunchd(opts Options, run Runner) Detection {
	// A user logged in only over ssh has no gui domain, and bootstrapping
	// an agent into it fails.
	if _, err := run("launchctl", "print", guiDomain(opts.UID)); err != nil {
		return Detection{Reason: fmt.Sprintf("launchd has no %s domain (no desktop session): %v",
			guiDomain(opts.UID), err)}
	}
	reason := "launchd " + guiDomain(opts.UID) + " domain is available"
	return Detection{Manager: Launchd, Reason: reason}
}
