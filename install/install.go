// Package install puts credd under the user's service manager, and takes it
// away again: systemd user units on Linux, a launchd user agent on macOS.
//
// Installing and uninstalling are first computed as a Plan (folders to
// create, files to write or remove, commands to run), which can be printed
// for a dry run or applied. Plans are idempotent: applying one twice leaves
// the same result and reports what was already in place. An uninstall plan
// names only the files an install writes; it never touches credentials, the
// encrypted credential file or the audit log.
package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/airtrain-ai/credd/launchd"
	"github.com/airtrain-ai/credd/systemd"
)

// ErrUnsupported is returned for an OS that has no supported service manager.
var ErrUnsupported = errors.New("no supported service manager on this OS")

// maxDarwinSocket is the longest socket path macOS accepts: sun_path holds
// 104 bytes, one of them the terminating NUL.
const maxDarwinSocket = 103

// Options describes one installation. DefaultOptions fills it in for the
// current user; tests and callers with flags may set any field.
type Options struct {
	// OS is "linux" or "darwin", as in runtime.GOOS.
	OS string
	// Home is the user's home folder, an absolute path.
	Home string
	// UID is the user's numeric id; launchd's gui domain is named by it.
	UID int
	// Binary is the absolute path of the credd executable the service runs.
	Binary string
	// Socket is where credd listens on macOS. Empty means DarwinSocket(Home).
	// On Linux the socket unit decides and this field is ignored.
	Socket string
	// RuntimeDir is $XDG_RUNTIME_DIR, used by Detect on Linux.
	RuntimeDir string
}

// DefaultOptions returns Options for the current user and OS, with Binary
// found by FindBinary. A missing credd binary is an error.
func DefaultOptions() (Options, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return Options{}, fmt.Errorf("find home folder: %w", err)
	}
	bin, err := FindBinary()
	if err != nil {
		return Options{}, err
	}
	return Options{
		OS:         runtime.GOOS,
		Home:       home,
		UID:        os.Getuid(),
		Binary:     bin,
		RuntimeDir: os.Getenv("XDG_RUNTIME_DIR"),
	}, nil
}

// FindBinary returns the credd executable that sits next to the running
// program (credctl and credd are installed side by side), or else the one
// found on PATH. The path is made absolute but symlinks are kept, so that a
// package manager's stable link survives upgrades.
func FindBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(self), "credd")
		if isExecutable(cand) {
			return cand, nil
		}
	}
	p, err := exec.LookPath("credd")
	if err != nil {
		return "", fmt.Errorf("find credd binary: not next to this program nor on PATH: %w", err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("find credd binary: %w", err)
	}
	return abs, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// DarwinSocket is the default socket path on macOS. It is not under $TMPDIR,
// whose files the system removes after days without access.
func DarwinSocket(home string) string {
	return filepath.Join(home, "Library", "Application Support", "airtrain", "credd.sock")
}

// Paths of the files an installation writes, relative to the home folder.
var (
	systemdUnitDir = filepath.Join(".config", "systemd", "user")
	environmentDir = filepath.Join(".config", "environment.d")
	stateDir       = filepath.Join(".local", "state", "airtrain")
	dataDir        = filepath.Join(".local", "share", "airtrain")
	launchAgentDir = filepath.Join("Library", "LaunchAgents")
	darwinLogDir   = filepath.Join("Library", "Logs", "airtrain")
)

// InstallPlan returns the steps that install credd for opts.
func InstallPlan(opts Options) (*Plan, error) {
	if err := opts.check(true); err != nil {
		return nil, err
	}
	switch opts.OS {
	case "linux":
		return linuxInstall(opts)
	case "darwin":
		return darwinInstall(opts)
	}
	return nil, fmt.Errorf("install on %s: %w", opts.OS, ErrUnsupported)
}

// UninstallPlan returns the steps that stop credd and remove what
// InstallPlan writes. It leaves credentials and the audit log alone.
func UninstallPlan(opts Options) (*Plan, error) {
	if err := opts.check(false); err != nil {
		return nil, err
	}
	switch opts.OS {
	case "linux":
		return linuxUninstall(opts), nil
	case "darwin":
		return darwinUninstall(opts), nil
	}
	return nil, fmt.Errorf("uninstall on %s: %w", opts.OS, ErrUnsupported)
}

func (o Options) check(needBinary bool) error {
	if o.Home == "" || !filepath.IsAbs(o.Home) {
		return fmt.Errorf("check options: home folder %q is not an absolute path", o.Home)
	}
	if needBinary && !filepath.IsAbs(o.Binary) {
		return fmt.Errorf("check options: credd path %q is not absolute", o.Binary)
	}
	return nil
}

func linuxInstall(o Options) (*Plan, error) {
	service, err := systemd.RenderService(o.Binary)
	if err != nil {
		return nil, err
	}
	units := filepath.Join(o.Home, systemdUnitDir)
	p := &Plan{OS: o.OS, Binary: o.Binary}
	// The service may write only folders that exist when it starts
	// (ReadWritePaths= with "-"), so they are made here, private.
	p.mkdir(filepath.Join(o.Home, stateDir))
	p.mkdir(filepath.Join(o.Home, dataDir))
	p.write(filepath.Join(units, systemd.SocketUnit), systemd.SocketTemplate)
	p.write(filepath.Join(units, systemd.ServiceUnit), service)
	p.write(filepath.Join(o.Home, environmentDir, systemd.EnvironmentFile),
		systemd.EnvironmentTemplate)
	p.run(false, "systemctl", "--user", "daemon-reload")
	p.run(false, "systemctl", "--user", "enable", "--now", systemd.SocketUnit)
	return p, nil
}

func linuxUninstall(o Options) *Plan {
	units := filepath.Join(o.Home, systemdUnitDir)
	p := &Plan{OS: o.OS}
	// Both fail when nothing is installed or no user manager runs; neither
	// should keep the files from going.
	p.run(true, "systemctl", "--user", "disable", "--now",
		systemd.SocketUnit, systemd.ServiceUnit)
	p.remove(filepath.Join(units, systemd.SocketUnit))
	p.remove(filepath.Join(units, systemd.ServiceUnit))
	p.remove(filepath.Join(o.Home, environmentDir, systemd.EnvironmentFile))
	p.run(true, "systemctl", "--user", "daemon-reload")
	return p
}

func darwinInstall(o Options) (*Plan, error) {
	sock := o.Socket
	if sock == "" {
		sock = DarwinSocket(o.Home)
	}
	if len(sock) > maxDarwinSocket {
		return nil, fmt.Errorf("plan install: socket path %q is %d bytes, macOS allows %d",
			sock, len(sock), maxDarwinSocket)
	}
	logs := filepath.Join(o.Home, darwinLogDir)
	plist, err := launchd.Render(o.Binary, sock, logs)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(o.Home, launchAgentDir, launchd.PlistName)
	p := &Plan{OS: o.OS, Binary: o.Binary}
	// launchd opens the log file but does not create its folder.
	p.mkdir(logs)
	p.write(path, plist)
	// bootstrap refuses a job that is already loaded, so unload it first;
	// that fails when it is not loaded, which is fine.
	p.run(true, "launchctl", "bootout", guiDomain(o.UID)+"/"+launchd.Label)
	p.run(false, "launchctl", "bootstrap", guiDomain(o.UID), path)
	return p, nil
}

func darwinUninstall(o Options) *Plan {
	p := &Plan{OS: o.OS}
	p.run(true, "launchctl", "bootout", guiDomain(o.UID)+"/"+launchd.Label)
	p.remove(filepath.Join(o.Home, launchAgentDir, launchd.PlistName))
	return p
}

func guiDomain(uid int) string { return "gui/" + strconv.Itoa(uid) }

// fileMode is the mode of every file an installation writes: none of them
// holds anything secret, and the service managers read them as the user.
const fileMode fs.FileMode = 0o644

// dirMode is the mode of folders an installation creates.
const dirMode fs.FileMode = 0o700
