package install

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// answer returns a Runner that replies to every command with out and err.
func answer(out string, err error) Runner {
	return func(string, ...string) ([]byte, error) { return []byte(out), err }
}

// fakeManagerSocket makes a runtime folder holding systemd/private as a
// real listening Unix socket, and returns the folder.
func fakeManagerSocket(t *testing.T) string {
	t.Helper()
	rt := t.TempDir()
	if err := os.Mkdir(filepath.Join(rt, "systemd"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(rt, "systemd", "private"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return rt
}

func TestDetectSystemd(t *testing.T) {
	rt := fakeManagerSocket(t)
	notSocket := t.TempDir()
	if err := os.MkdirAll(filepath.Join(notSocket, "systemd", "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	exit1 := errors.New("exit status 1")
	for _, tt := range []struct {
		name       string
		runtimeDir string
		run        Runner
		want       Manager
	}{
		{"running", rt, answer("running\n", nil), SystemdUser},
		{"degraded exits non-zero", rt, answer("degraded\n", exit1), SystemdUser},
		{"offline", rt, answer("offline\n", exit1), NoManager},
		{"systemctl fails", rt, answer("", errors.New("exec: not found")), NoManager},
		{"no runtime dir", "", answer("running\n", nil), NoManager},
		{"no manager socket", t.TempDir(), answer("running\n", nil), NoManager},
		{"private is a folder", notSocket, answer("running\n", nil), NoManager},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Detect(Options{OS: "linux", RuntimeDir: tt.runtimeDir}, tt.run)
			if d.Manager != tt.want || d.Usable() != (tt.want != NoManager) || d.Reason == "" {
				t.Errorf("Detect = %+v, want manager %q with a reason", d, tt.want)
			}
		})
	}
}

func TestDetectLaunchd(t *testing.T) {
	o := Options{OS: "darwin", UID: 501}
	if d := Detect(o, answer("gui/501 = {...}", nil)); d.Manager != Launchd {
		t.Errorf("Detect with a gui domain = %+v, want launchd", d)
	}
	d := Detect(o, answer("Bad request.", errors.New("exit status 113")))
	if d.Usable() {
		t.Errorf("Detect without a gui domain = %+v, want no manager", d)
	}
	if d := Detect(Options{OS: "freebsd"}, answer("", nil)); d.Usable() {
		t.Errorf("Detect on freebsd = %+v, want no manager", d)
	}
}
