package install

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/airtrain-ai/credd/systemd"
)

// TestInstalledUnitsVerify applies a Linux install plan (its commands
// recorded, not run) and has systemd-analyze verify the unit files as they
// were written, so what the installer puts on disk is what the manager
// accepts.
func TestInstalledUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("systemd-analyze is required under CI: %v", err)
		}
		t.Skipf("systemd-analyze not installed (package systemd): %v", err)
	}
	o := linuxOpts(t)
	p, err := InstallPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	if err := p.Apply(&bytes.Buffer{}, rec.run); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	units := filepath.Join(o.Home, ".config", "systemd", "user")
	for _, args := range [][]string{
		{"verify"},
		{"--user", "verify"},
	} {
		cmd := exec.Command(analyze, append(args,
			"./"+systemd.SocketUnit, "./"+systemd.ServiceUnit)...)
		cmd.Dir = units
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir(), "HOME="+o.Home)
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("systemd-analyze %v on the installed units: err=%v, output:\n%s",
				args, err, out)
		}
	}
}
