package install

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/airtrain-ai/credd/launchd"
	"github.com/airtrain-ai/credd/systemd"
)

// recorder is a Runner that records the commands it is given and fails
// those whose joined form is listed in fail.
type recorder struct {
	cmds []string
	fail map[string]bool
}

func (r *recorder) run(name string, args ...string) ([]byte, error) {
	cmd := strings.Join(append([]string{name}, args...), " ")
	r.cmds = append(r.cmds, cmd)
	if r.fail[cmd] {
		return []byte("Unit credd.socket not loaded.\n"), errors.New("exit status 1")
	}
	return nil, nil
}

// testBinary makes an executable credd in a temporary folder.
func testBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "credd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func linuxOpts(t *testing.T) Options {
	return Options{OS: "linux", Home: t.TempDir(), UID: 1000, Binary: testBinary(t)}
}

func darwinOpts(t *testing.T) Options {
	return Options{OS: "darwin", Home: t.TempDir(), UID: 501, Binary: testBinary(t)}
}

// commands lists a plan's commands, joined by spaces.
func commands(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action == RunCommand {
			out = append(out, strings.Join(s.Args, " "))
		}
	}
	return out
}

// files maps the paths a plan writes to their steps.
func files(p *Plan) map[string]Step {
	out := map[string]Step{}
	for _, s := range p.Steps {
		if s.Action == WriteFile {
			out[s.Path] = s
		}
	}
	return out
}

func TestLinuxInstallPlan(t *testing.T) {
	o := Options{OS: "linux", Home: "/home/ann", UID: 1000, Binary: "/usr/local/bin/credd"}
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	f := files(p)
	units := "/home/ann/.config/systemd/user/"
	if got := string(f[units+"credd.socket"].Content); got != systemd.SocketTemplate {
		t.Errorf("credd.socket content differs from the template:\n%s", got)
	}
	service := string(f[units+"credd.service"].Content)
	if !strings.Contains(service, "\nExecStart=/usr/local/bin/credd\n") {
		t.Errorf("credd.service does not run the given binary:\n%s", service)
	}
	env := f["/home/ann/.config/environment.d/airtrain-credd.conf"]
	if string(env.Content) != systemd.EnvironmentTemplate {
		t.Errorf("environment.d file content = %q", env.Content)
	}
	if len(f) != 3 {
		t.Errorf("plan writes %d files, want 3: %v", len(f), f)
	}
	for path, s := range f {
		if s.Mode != 0o644 {
			t.Errorf("%s mode = %o, want 644", path, s.Mode)
		}
	}
	want := []string{
		"systemctl --user daemon-reload",
		"systemctl --user enable --now credd.socket",
	}
	if got := commands(p); !slices.Equal(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
	var dirs []string
	for _, s := range p.Steps {
		if s.Action == MakeDir {
			dirs = append(dirs, s.Path)
			if s.Mode != 0o700 {
				t.Errorf("folder %s mode = %o, want 700", s.Path, s.Mode)
			}
		}
	}
	wantDirs := []string{"/home/ann/.local/state/airtrain", "/home/ann/.local/share/airtrain"}
	if !slices.Equal(dirs, wantDirs) {
		t.Errorf("folders = %q, want %q", dirs, wantDirs)
	}
}

func TestDarwinInstallPlan(t *testing.T) {
	o := Options{OS: "darwin", Home: "/Users/ann", UID: 501, Binary: "/opt/homebrew/bin/credd"}
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	plistPath := "/Users/ann/Library/LaunchAgents/ai.airtrain.credd.plist"
	f := files(p)
	if len(f) != 1 {
		t.Fatalf("plan writes %v, want only %s", f, plistPath)
	}
	want, err := launchd.Render("/opt/homebrew/bin/credd",
		"/Users/ann/Library/Application Support/airtrain/credd.sock",
		"/Users/ann/Library/Logs/airtrain")
	if err != nil {
		t.Fatal(err)
	}
	if string(f[plistPath].Content) != want {
		t.Errorf("plist content:\n%s\nwant:\n%s", f[plistPath].Content, want)
	}
	wantCmds := []string{
		"launchctl bootout gui/501/ai.airtrain.credd",
		"launchctl bootstrap gui/501 " + plistPath,
	}
	if got := commands(p); !slices.Equal(got, wantCmds) {
		t.Errorf("commands = %q, want %q", got, wantCmds)
	}
	for _, s := range p.Steps {
		if s.Action == RunCommand && s.IgnoreError != (s.Args[1] == "bootout") {
			t.Errorf("%q: IgnoreError = %v", s.Args, s.IgnoreError)
		}
	}
}

func TestPlanRefusesBadOptions(t *testing.T) {
	long := "/Users/" + strings.Repeat("x", 80)
	for _, o := range []Options{
		{OS: "linux", Home: "home", Binary: "/bin/credd"},
		{OS: "linux", Home: "/home/ann", Binary: "credd"},
		{OS: "darwin", Home: long, Binary: "/bin/credd"},
		{OS: "plan9", Home: "/usr/ann", Binary: "/bin/credd"},
	} {
		if _, err := InstallPlan(o); err == nil {
			t.Errorf("InstallPlan(%+v) succeeded, want an error", o)
		}
	}
	if _, err := UninstallPlan(Options{OS: "plan9", Home: "/usr/ann"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("UninstallPlan on plan9: err = %v, want ErrUnsupported", err)
	}
}

func TestDryRunTouchesNothing(t *testing.T) {
	o := linuxOpts(t)
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := p.Print(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"write " + filepath.Join(o.Home, ".config/systemd/user/credd.service") + " (mode 0644):\n",
		"    | ExecStart=" + o.Binary + "\n",
		"    | ListenStream=%t/airtrain/credd.sock\n",
		"create folder " + filepath.Join(o.Home, ".local/state/airtrain") + " (mode 0700)",
		"run systemctl --user enable --now credd.socket\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, text)
		}
	}
	entries, err := os.ReadDir(o.Home)
	if err != nil || len(entries) != 0 {
		t.Errorf("dry run left %v in home (err %v)", entries, err)
	}
}

func TestApplyLinuxIdempotent(t *testing.T) {
	o := linuxOpts(t)
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	var first bytes.Buffer
	if err := p.Apply(&first, r.run); err != nil {
		t.Fatalf("Apply: %v\n%s", err, first.String())
	}
	for path, s := range files(p) {
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, s.Content) {
			t.Errorf("%s: err %v, content matches: %v", path, err, bytes.Equal(got, s.Content))
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (err %v), want 0644", path, fi.Mode(), err)
		}
	}
	for _, d := range []string{".local/state/airtrain", ".local/share/airtrain"} {
		fi, err := os.Stat(filepath.Join(o.Home, d))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v (err %v), want a 0700 folder", d, fi.Mode(), err)
		}
	}
	if !strings.Contains(first.String(), "wrote ") {
		t.Errorf("first apply reports no write:\n%s", first.String())
	}

	var second bytes.Buffer
	if err := p.Apply(&second, r.run); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if strings.Contains(second.String(), "wrote ") || strings.Contains(second.String(), "created ") {
		t.Errorf("second apply changed something:\n%s", second.String())
	}
	if n := strings.Count(second.String(), "unchanged "); n != 3 {
		t.Errorf("second apply reports %d unchanged files, want 3:\n%s", n, second.String())
	}
	want := append(commands(p), commands(p)...)
	if !slices.Equal(r.cmds, want) {
		t.Errorf("ran %q, want %q", r.cmds, want)
	}
}

func TestApplyStopsOnFailedCommand(t *testing.T) {
	o := linuxOpts(t)
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{fail: map[string]bool{"systemctl --user daemon-reload": true}}
	err = p.Apply(&bytes.Buffer{}, r.run)
	if err == nil || !strings.Contains(err.Error(), "daemon-reload") ||
		!strings.Contains(err.Error(), "not loaded") {
		t.Errorf("Apply error = %v, want the failing command and its output", err)
	}
	if len(r.cmds) != 1 {
		t.Errorf("ran %q after a failure, want only the failing command", r.cmds)
	}
}

func TestApplyChecksBinary(t *testing.T) {
	o := linuxOpts(t)
	o.Binary = filepath.Join(t.TempDir(), "credd")
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(&bytes.Buffer{}, (&recorder{}).run); err == nil {
		t.Error("Apply with a missing credd binary succeeded")
	}
	if entries, _ := os.ReadDir(o.Home); len(entries) != 0 {
		t.Errorf("Apply with a missing binary left %v", entries)
	}
}

func TestUninstallLeavesOtherFiles(t *testing.T) {
	for _, o := range []Options{linuxOpts(t), darwinOpts(t)} {
		t.Run(o.OS, func(t *testing.T) {
			install, err := InstallPlan(o)
			if err != nil {
				t.Fatal(err)
			}
			if err := install.Apply(&bytes.Buffer{}, (&recorder{}).run); err != nil {
				t.Fatal(err)
			}
			// Files the user and credd own, beside the installed ones.
			keep := []string{
				".local/state/airtrain/audit.log",
				".local/share/airtrain/credentials.age",
				".config/systemd/user/other.service",
				".config/environment.d/10-user.conf",
				"Library/LaunchAgents/com.example.other.plist",
				"Library/Logs/airtrain/credd.log",
			}
			for _, k := range keep {
				path := filepath.Join(o.Home, k)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			un, err := UninstallPlan(o)
			if err != nil {
				t.Fatal(err)
			}
			r := &recorder{}
			var out bytes.Buffer
			if err := un.Apply(&out, r.run); err != nil {
				t.Fatalf("uninstall: %v", err)
			}
			for path := range files(install) {
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s still there after uninstall (err %v)", path, err)
				}
			}
			for _, k := range keep {
				if b, err := os.ReadFile(filepath.Join(o.Home, k)); err != nil || string(b) != "keep" {
					t.Errorf("uninstall touched %s (err %v)", k, err)
				}
			}
			if !slices.Equal(r.cmds, commands(un)) {
				t.Errorf("ran %q, want %q", r.cmds, commands(un))
			}

			// Again, with nothing installed and every command failing.
			fail := map[string]bool{}
			for _, c := range commands(un) {
				fail[c] = true
			}
			out.Reset()
			if err := un.Apply(&out, (&recorder{fail: fail}).run); err != nil {
				t.Fatalf("second uninstall: %v", err)
			}
			if !strings.Contains(out.String(), "absent ") {
				t.Errorf("second uninstall reports no absent file:\n%s", out.String())
			}
		})
	}
}

func TestUninstallCommands(t *testing.T) {
	p, err := UninstallPlan(Options{OS: "linux", Home: "/home/ann"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"systemctl --user disable --now credd.socket credd.service",
		"systemctl --user daemon-reload",
	}
	if got := commands(p); !slices.Equal(got, want) {
		t.Errorf("linux uninstall commands = %q, want %q", got, want)
	}
	p, err = UninstallPlan(Options{OS: "darwin", Home: "/Users/ann", UID: 501})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"launchctl bootout gui/501/ai.airtrain.credd"}
	if got := commands(p); !slices.Equal(got, want) {
		t.Errorf("darwin uninstall commands = %q, want %q", got, want)
	}
}

func TestApplyDarwin(t *testing.T) {
	o := darwinOpts(t)
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{fail: map[string]bool{"launchctl bootout gui/501/ai.airtrain.credd": true}}
	var out bytes.Buffer
	if err := p.Apply(&out, r.run); err != nil {
		t.Fatalf("Apply with bootout failing (nothing loaded): %v", err)
	}
	plistPath := filepath.Join(o.Home, "Library/LaunchAgents/ai.airtrain.credd.plist")
	b, err := os.ReadFile(plistPath)
	if err != nil || !bytes.Contains(b, []byte("<string>"+o.Binary+"</string>")) {
		t.Errorf("plist at %s: err %v, names binary: %v", plistPath, err,
			bytes.Contains(b, []byte(o.Binary)))
	}
	if fi, err := os.Stat(filepath.Join(o.Home, "Library/Logs/airtrain")); err != nil || !fi.IsDir() {
		t.Errorf("log folder not created (err %v)", err)
	}
	if !strings.Contains(out.String(), "failed, ignored") {
		t.Errorf("apply output does not report the ignored bootout failure:\n%s", out.String())
	}
	want := []string{
		"launchctl bootout gui/501/ai.airtrain.credd",
		"launchctl bootstrap gui/501 " + plistPath,
	}
	if !slices.Equal(r.cmds, want) {
		t.Errorf("ran %q, want %q", r.cmds, want)
	}
}
