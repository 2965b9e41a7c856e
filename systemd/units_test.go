package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest overall exposure systemd-analyze may give the
// service. Lower it when the sandbox gets tighter; never raise it quietly.
const maxExposure = 0.7

// needAnalyze returns the path of systemd-analyze, skipping the test when it
// is missing, except under CI where it must be installed.
func needAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("systemd-analyze is required under CI: %v", err)
		}
		t.Skipf("systemd-analyze not installed (package systemd): %v", err)
	}
	return p
}

// fakeBinary makes an executable file named credd in a folder named dir
// inside a temporary folder, and returns its path.
func fakeBinary(t *testing.T, dir string) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(d, "credd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// renderUnits writes the socket unit and the service rendered for binary to
// a fresh folder and returns that folder.
func renderUnits(t *testing.T, binary string) string {
	t.Helper()
	service, err := RenderService(binary)
	if err != nil {
		t.Fatalf("RenderService(%q): %v", binary, err)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		SocketUnit:  SocketTemplate,
		ServiceUnit: service,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// analyze runs systemd-analyze in dir and returns its combined output.
func analyze(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(needAnalyze(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestVerify(t *testing.T) {
	needAnalyze(t)
	for _, tt := range []struct{ name, dir string }{
		{"plain path", "bin"},
		{"path with space, percent and dollar", "my tools %i $HOME"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := renderUnits(t, fakeBinary(t, tt.dir))
			units := []string{"./" + SocketUnit, "./" + ServiceUnit}

			// As plain unit files, the way the manager's parser reads them.
			out, err := analyze(t, dir, nil, append([]string{"verify"}, units...)...)
			if err != nil || out != "" {
				t.Errorf("systemd-analyze verify: err=%v, output:\n%s", err, out)
			}

			// As user units, which resolve %t and %h for a user manager.
			rt := t.TempDir()
			out, err = analyze(t, dir, []string{"XDG_RUNTIME_DIR=" + rt},
				append([]string{"--user", "verify"}, units...)...)
			if err != nil || out != "" {
				t.Errorf("systemd-analyze --user verify: err=%v, output:\n%s", err, out)
			}
		})
	}
}

// TestVerifyNoticesMissingBinary shows that verify fails when ExecStart=
// names no executable, so TestVerify's silence means the path was read
// back exactly as rendered.
func TestVerifyNoticesMissingBinary(t *testing.T) {
	needAnalyze(t)
	missing := filepath.Join(t.TempDir(), "my tools %i", "credd")
	dir := renderUnits(t, missing)
	out, err := analyze(t, dir, nil, "verify", "./"+SocketUnit, "./"+ServiceUnit)
	if err == nil || !strings.Contains(out, missing) {
		t.Errorf("systemd-analyze verify with missing %q: err=%v, output:\n%s", missing, err, out)
	}
}

var overallRE = regexp.MustCompile(`Overall exposure level for credd\.service: ([0-9]+\.[0-9]+)`)

func TestSecurityExposure(t *testing.T) {
	needAnalyze(t)
	dir := renderUnits(t, fakeBinary(t, "bin"))
	out, err := analyze(t, dir, nil, "security", "--offline=yes", "./"+ServiceUnit)
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := overallRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in systemd-analyze output:\n%s", out)
	}
	score, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	if score > maxExposure {
		t.Errorf("exposure level = %.1f, want <= %.1f; output:\n%s", score, maxExposure, out)
	}
	t.Logf("exposure level %.1f", score)
}

func TestUnitSettings(t *testing.T) {
	service, err := RenderService("/opt/airtrain/bin/credd")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/opt/airtrain/bin/credd\n",
		"Type=notify\n",
		"Restart=on-failure\n",
		"UMask=0077\n",
		"LimitCORE=0\n",
		"ReadWritePaths=-%h/.local/state/airtrain -%h/.local/share/airtrain\n",
	} {
		if !strings.Contains(service, want) {
			t.Errorf("service lacks %q", want)
		}
	}
	settings := withoutComments(service)
	for _, bad := range []string{"ProtectHome=yes", "ProtectHome=tmpfs", "StateDirectory=", "@BINDIR@"} {
		if strings.Contains(settings, bad) {
			t.Errorf("service has %q", bad)
		}
	}
	for _, want := range []string{
		"ListenStream=%t/airtrain/credd.sock\n", "SocketMode=0600\n", "DirectoryMode=0700\n",
	} {
		if !strings.Contains(SocketTemplate, want) {
			t.Errorf("socket unit lacks %q", want)
		}
	}
	if !strings.Contains(EnvironmentTemplate,
		"AIRTRAIN_CRED_SOCK=${XDG_RUNTIME_DIR}/airtrain/credd.sock\n") {
		t.Errorf("environment file does not set AIRTRAIN_CRED_SOCK from XDG_RUNTIME_DIR")
	}
}

// withoutComments returns a unit file's lines that are not comments.
func withoutComments(unit string) string {
	var b strings.Builder
	for _, line := range strings.Split(unit, "\n") {
		if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, ";") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func TestRenderServiceEscaping(t *testing.T) {
	for _, tt := range []struct {
		path, want string
		ok         bool
	}{
		{"/usr/bin/credd", "ExecStart=/usr/bin/credd\n", true},
		{"/opt/50%/credd", "ExecStart=/opt/50%%/credd\n", true},
		{"/home/a b/credd", "ExecStart=\"/home/a b/credd\"\n", true},
		{"/opt/$X/credd", "ExecStart=/opt/$X/credd\n", true},
		{"credd", "", false},
		{"/opt/a\"b/credd", "", false},
		{"/opt/a\\b/credd", "", false},
		{"/opt/a\nExecStartPre=/bin/evil/credd", "", false},
	} {
		got, err := RenderService(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("RenderService(%q) err = %v, want ok=%v", tt.path, err, tt.ok)
			continue
		}
		if tt.ok && !strings.Contains(got, tt.want) {
			t.Errorf("RenderService(%q) lacks %q", tt.path, tt.want)
		}
	}
}
