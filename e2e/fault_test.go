package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/internal/testenv"
)

// hammer runs clients doing gets with ids <tag>-<client>-<n> until the
// connection fails; wait returns the ids of the gets that succeeded.
func hammer(sock, tag string, clients int) (wait func() []string) {
	var mu sync.Mutex
	var ok []string
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", sock)
			if err != nil {
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for n := 0; ; n++ {
				id := fmt.Sprintf("%s-%d-%d", tag, i, n)
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := fmt.Fprintf(c, `{"id":%q,"op":"get","name":"alpha"}`+"\n", id); err != nil {
					return
				}
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if strings.Contains(line, `"ok":true`) {
					mu.Lock()
					ok = append(ok, id)
					mu.Unlock()
				}
			}
		}()
	}
	return func() []string { wg.Wait(); return ok }
}

// checkAudited reads the audit log (a torn last line is allowed) and fails
// for every id in ok without a granted get record.
func checkAudited(t *testing.T, path string, ok []string) (torn bool) {
	t.Helper()
	lg, err := audit.ReadFile(path)
	if err != nil {
		t.Fatalf("audit log unreadable after a crash: %v", err)
	}
	have := map[string]bool{}
	for _, e := range lg.Entries {
		if e.Event == "get" && e.Outcome == "granted" {
			have[string(e.RequestID)] = true
		}
	}
	for _, id := range ok {
		if !have[strconv.Quote(id)] {
			t.Errorf("get %s succeeded for its client but has no audit record", id)
		}
	}
	return lg.TornTail
}

func TestKillNineUnderLoad(t *testing.T) {
	dir := t.TempDir()
	first := daemontest.Start(t, daemontest.Options{Dir: dir})
	seedCreds(t, first)
	first.Stop()

	var restarts []time.Duration
	torn, served := 0, 0
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		d := daemontest.Start(t, daemontest.Options{Dir: dir})
		restarts = append(restarts, time.Since(t0))
		wait := hammer(d.Socket, "k"+strconv.Itoa(i), 2)
		time.Sleep(time.Duration(10+rand.IntN(90)) * time.Millisecond)
		d.Kill()
		ok := wait()
		served += len(ok)
		if checkAudited(t, d.AuditLog, ok) {
			torn++
		}
	}
	t.Logf("20 kills: %d gets succeeded, all audited; %d torn last lines; start to first answer %v",
		served, torn, restarts)
	for _, r := range restarts {
		if r > 30*time.Second {
			t.Errorf("restart took %v", r)
		}
	}
	if served == 0 {
		t.Fatal("no get succeeded between kills: the test proved nothing")
	}
}

func TestKillNineUnderSocketActivation(t *testing.T) {
	sa := testenv.LookPath(t, "systemd-socket-activate", "systemd")
	dir := t.TempDir()
	first := daemontest.Start(t, daemontest.Options{Dir: dir})
	seedCreds(t, first)
	first.Stop()

	sock := filepath.Join(dir, "run", "activated.sock")
	total := 0
	for i := 0; i < 4; i++ {
		os.Remove(sock)
		args := []string{"-l", sock}
		for _, kv := range first.Env {
			if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "AIRTRAIN_") || k == "PATH" {
				args = append(args, "-E", kv)
			}
		}
		args = append(args, first.Credd, "--backend", "file")
		cmd := exec.Command(sa, args...)
		var logs strings.Builder
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		kill := func() { _ = cmd.Process.Kill(); <-done }
		t.Cleanup(kill)

		// The first connection starts credd; measure to its first answer.
		t0 := time.Now()
		var c net.Conn
		for {
			var err error
			if c, err = net.Dial("unix", sock); err == nil {
				break
			}
			if time.Since(t0) > 15*time.Second {
				t.Fatalf("activation socket never appeared: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		r := &raw{t: t, c: c, br: bufio.NewReader(c)}
		r.send(fmt.Sprintf(`{"id":1,"op":"unlock","passphrase":%q}`+"\n", daemontest.Passphrase))
		if m := r.reply(); m["ok"] != true {
			t.Fatalf("unlock under socket activation: %v; log: %s", m, logs.String())
		}
		first := time.Since(t0)
		c.Close()

		wait := hammer(sock, "sa"+strconv.Itoa(i), 4)
		time.Sleep(time.Duration(50+rand.IntN(200)) * time.Millisecond)
		kill()
		ok := wait()
		total += len(ok)
		checkAudited(t, auditPathIn(dir), ok)
		t.Logf("socket-activated run %d: first answer after %v, %d gets then kill -9", i, first, len(ok))
	}
	if total == 0 {
		t.Fatal("no get succeeded under socket activation")
	}
}

// auditPathIn is where daemontest puts the audit log of a daemon in dir.
func auditPathIn(dir string) string { return filepath.Join(dir, "state", "airtrain", "audit.log") }

// keyringFault starts credd on a real gnome-keyring, stores hostileCreds,
// and returns both.
func keyringFault(t *testing.T) (*testenv.Keyring, *daemontest.Daemon, string) {
	k := testenv.StartSecretService(t)
	d := daemontest.Start(t, daemontest.Options{Backend: "system", Env: k.Env})
	seedCreds(t, d)
	return k, d, snapshot(t, d)
}

// writeFails checks that a set fails with backend_unavailable within a
// bound, and that what was unlocked is still served unchanged.
func writeFails(t *testing.T, d *daemontest.Daemon, before string) {
	t.Helper()
	start := time.Now()
	m := exchange(t, d, `{"id":1,"op":"set","name":"new-one","fields":{"value":"v"}}`)
	took := time.Since(start)
	msg := fmt.Sprint(m["error"])
	t.Logf("set: %s after %v", msg, took.Round(time.Millisecond))
	if code(m) != "backend_unavailable" {
		t.Errorf("set: %v, want backend_unavailable", m)
	}
	if took > 25*time.Second {
		t.Errorf("set took %v to fail", took)
	}
	if snapshot(t, d) != before {
		t.Error("credentials unlocked before the fault are no longer served as they were")
	}
}

func TestSystemKeyringFaults(t *testing.T) {
	t.Run("killed", func(t *testing.T) {
		k, d, before := keyringFault(t)
		if err := syscall.Kill(k.PID(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		writeFails(t, d, before)
	})
	t.Run("hung", func(t *testing.T) {
		k, d, before := keyringFault(t)
		k.Hang()
		writeFails(t, d, before)
		k.Resume()
	})
	t.Run("locked", func(t *testing.T) {
		k, d, before := keyringFault(t)
		k.Lock()
		writeFails(t, d, before)
	})
}

func TestEncryptedFileTampering(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)
	file := filepath.Join(d.Dir, "data", "airtrain", "credentials.age")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		os.Remove(file)
		os.Remove(file + ".real")
		if err := os.WriteFile(file, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		tamper func()
		reason string
	}{
		{"truncated", func() { os.WriteFile(file, orig[:len(orig)/2], 0o600) }, "truncated"},
		{"bit flipped", func() {
			b := append([]byte(nil), orig...)
			b[len(b)-20] ^= 0x04
			os.WriteFile(file, b, 0o600)
		}, "modified"},
		{"symlink", func() {
			os.Rename(file, file+".real")
			os.Symlink(file+".real", file)
		}, "symbolic link"},
		{"group readable", func() { os.Chmod(file, 0o640) }, "0640"},
		{"empty", func() { os.WriteFile(file, nil, 0o600) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.MustRun("", "lock")
			tt.tamper()
			defer restore()
			_, stderr, code := d.RunEnv([]string{"AIRTRAIN_CRED_PASSPHRASE=" + daemontest.Passphrase}, "", "unlock")
			t.Logf("unlock: exit %d: %s", code, strings.TrimSpace(stderr))
			if code == 0 {
				t.Fatal("unlock succeeded on a tampered file")
			}
			if !strings.Contains(stderr, file) || !strings.Contains(stderr, tt.reason) {
				t.Errorf("unlock error does not name the file %s and the reason %q", file, tt.reason)
			}
			for _, args := range [][]string{{"list"}, {"get", "alpha"}} {
				if out, _, code := d.Run("", args...); code != 4 || out != "" {
					t.Errorf("credctl %v after a failed unlock: exit %d, %d bytes out; want locked", args, code, len(out))
				}
			}
		})
	}
	d.RunEnv([]string{"AIRTRAIN_CRED_PASSPHRASE=" + daemontest.Passphrase}, "", "unlock")
	if got := d.MustRun("", "get", "alpha"); got != hostileCreds["alpha"]+"\n" {
		t.Fatal("the restored file does not unlock to the stored value")
	}
}
