//go:build linux

package peer

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// startCopy copies a system binary to dir/name and starts it as `name 60`,
// returning the running command. The process is killed at cleanup.
func startCopy(t *testing.T, src, dst string, args ...string) *exec.Cmd {
	t.Helper()
	copyFile(t, src, dst)
	cmd := exec.Command(dst, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", dst, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func sleepPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("sleep not found: %v", err)
	}
	p, err = filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAncestorsOfChild(t *testing.T) {
	dir := t.TempDir()
	cmd := startCopy(t, sleepPath(t), filepath.Join(dir, "sleeper"), "60")

	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	anc, err := Ancestors(cmd.Process.Pid)
	if err != nil {
		t.Fatalf("Ancestors(%d): %v", cmd.Process.Pid, err)
	}
	if len(anc) < 1 || anc[0] != self {
		t.Fatalf("Ancestors(child)[0] = %q, want the test binary %q", anc, self)
	}
	mine, err := Ancestors(os.Getpid())
	if err != nil {
		t.Fatalf("Ancestors(self): %v", err)
	}
	if len(anc) != len(mine)+1 {
		t.Errorf("child has %d ancestors, the test process %d; want one more", len(anc), len(mine))
	}
	if len(anc) > MaxAncestors {
		t.Errorf("got %d ancestors, more than MaxAncestors", len(anc))
	}
}

func TestAncestorsGone(t *testing.T) {
	cmd := exec.Command(sleepPath(t), "0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Ancestors(cmd.Process.Pid); !errors.Is(err, ErrGone) {
		t.Errorf("Ancestors(exited pid) error = %v, want ErrGone", err)
	}
}

func TestExeSHA256RunningBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "sleeper")
	cmd := startCopy(t, sleepPath(t), bin, "60")
	want, err := FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExeSHA256(cmd.Process.Pid)
	if err != nil || got != want {
		t.Fatalf("ExeSHA256 = %q, %v; want %q", got, err, want)
	}
	id, err := ForPID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if id.Exe != bin || id.ExeDeleted || id.UID != os.Getuid() || id.GID != os.Getgid() {
		t.Fatalf("ForPID = %+v, want exe %s of uid %d", id, bin, os.Getuid())
	}
	if got, err := ExeSHA256Of(id); err != nil || got != want {
		t.Fatalf("ExeSHA256Of = %q, %v; want %q", got, err, want)
	}

	// Replace the file on disk with other content: the running process
	// still runs the old inode, so its hash does not change, and its
	// identity is marked deleted.
	other := filepath.Join(dir, "other")
	copyFile(t, "/bin/sh", other)
	if err := os.Rename(other, bin); err != nil {
		t.Fatal(err)
	}
	onDisk, _ := FileSHA256(bin)
	if onDisk == want {
		t.Fatal("replacement has the same hash as the original")
	}
	got, err = ExeSHA256(cmd.Process.Pid)
	if err != nil || got != want {
		t.Errorf("after replace: ExeSHA256 = %q, %v; want the running binary's %q", got, err, want)
	}
	id, err = ForPID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !id.ExeDeleted || id.Known() {
		t.Errorf("after replace: ForPID = %+v, want exe_deleted", id)
	}
	if _, err := ExeSHA256Of(id); err == nil {
		t.Error("ExeSHA256Of(replaced binary) succeeded, want an error")
	}
}

func TestSame(t *testing.T) {
	cmd := exec.Command(sleepPath(t), "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id, err := ForPID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !Same(id) {
		t.Error("Same(live process) = false")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if Same(id) {
		t.Error("Same(reaped process) = true")
	}
}

func TestUnitFromCgroup(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"v2 user service", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/credd.service\n",
			"credd.service"},
		{"v2 session scope", "0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope"},
		{"v2 system service", "0::/system.slice/ssh.service\n", "ssh.service"},
		{"v2 root", "0::/\n", ""},
		{"v2 slice only", "0::/user.slice\n", ""},
		{"v1", "12:pids:/user.slice\n1:name=systemd:/system.slice/cron.service\n", "cron.service"},
		{"hybrid prefers v2",
			"1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n", "b.service"},
		{"garbage", "nonsense", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unitFromCgroup([]byte(tt.in)); got != tt.want {
				t.Errorf("unitFromCgroup(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnitSelf(t *testing.T) {
	u, err := Unit(os.Getpid())
	if err != nil && !errors.Is(err, ErrNoUnit) {
		t.Fatalf("Unit(self): %v", err)
	}
	b, _ := os.ReadFile("/proc/self/cgroup")
	if want := unitFromCgroup(b); u != want {
		t.Errorf("Unit(self) = %q, want %q", u, want)
	}
}
