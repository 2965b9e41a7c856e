package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/internal/testenv"
)

func TestDaemonIsNotDumpable(t *testing.T) {
	owner := ensureUser(t, "credd-owner")
	d := startAs(t, owner)
	proc := "/proc/" + strconv.Itoa(d.pid)

	// With PR_SET_DUMPABLE 0 the kernel gives /proc/<pid> files to root.
	var st syscall.Stat_t
	if err := syscall.Stat(proc+"/status", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 {
		t.Errorf("%s/status is owned by uid %d: the daemon (uid %d) is dumpable", proc, st.Uid, owner.uid)
	}
	limits, err := os.ReadFile(proc + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(line); len(f) < 6 || f[4] != "0" || f[5] != "0" {
				t.Errorf("core size limit not zero: %q", line)
			}
		}
	}

	// A dumpable process of the same user, for contrast.
	sleeper := owner.as(exec.Command("sleep", "30"))
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()

	readMem := func(pid int) string {
		out, _ := owner.as(exec.Command("head", "-c", "1", "/proc/"+strconv.Itoa(pid)+"/mem")).CombinedOutput()
		return string(out)
	}
	if out := readMem(d.pid); !strings.Contains(out, "Permission denied") {
		t.Errorf("the owner opened credd's /proc/<pid>/mem: %q", out)
	}
	if out := readMem(sleeper.Process.Pid); strings.Contains(out, "Permission denied") {
		t.Errorf("control: the owner cannot open its own sleep's memory either (%q); the check proves nothing", out)
	}

	gdb := testenv.LookPath(t, "gdb", "gdb")
	cmd := owner.as(execCommand(gdb, "-nx", "-batch", "-p", strconv.Itoa(d.pid), "-ex", "info proc"))
	cmd.Env = []string{"HOME=/tmp", "PATH=" + os.Getenv("PATH")}
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "ptrace: Operation not permitted") {
		t.Errorf("gdb -p as the owner did not fail on ptrace: %s", out)
	}
	if err := syscall.Kill(d.pid, 0); err != nil {
		t.Fatalf("credd gone after the attach attempts: %v", err)
	}
}

// canaryForms are the ways a value could show up encoded.
func canaryForms(v string) []string {
	return []string{v, base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v)), hex.EncodeToString([]byte(v))}
}

func newCanary(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "cnry" + hex.EncodeToString(b)
}

func TestCanaryNeverWrittenOutsideItsReply(t *testing.T) {
	canary := newCanary(t)
	d := daemontest.Start(t, daemontest.Options{})
	pass := []string{"AIRTRAIN_CRED_PASSPHRASE=" + daemontest.Passphrase}
	var mu sync.Mutex
	var written []string // everything that must not hold the canary
	keep := func(what string, s ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, x := range s {
			written = append(written, what+": "+x)
		}
	}
	run := func(env []string, stdin string, args ...string) (string, int) {
		out, errs, code := d.RunEnv(env, stdin, args...)
		keep(strings.Join(args, " ")+" stderr", errs)
		return out, code
	}
	// Commands whose stdout is not the value itself.
	quiet := func(env []string, stdin string, args ...string) {
		out, _ := run(env, stdin, args...)
		keep(strings.Join(args, " ")+" stdout", out)
	}
	// Commands whose stdout is the value, by design.
	loud := func(args ...string) {
		if out, code := run(nil, "", args...); code != 0 || !strings.Contains(out, canary) {
			t.Errorf("credctl %v: exit %d, stdout lacks the value", args, code)
		}
	}

	quiet(nil, canary+"\n", "set", "canary")
	quiet(nil, "user\n", "set", "other")
	quiet(nil, canary+"\n", "set", "bad-type", "--type", "no-such-type")
	quiet(nil, canary+"\n", "set", ".bad name")
	loud("get", "canary")
	loud("get", "canary", "--json")
	loud("get", "canary", "--field", "value")
	for _, f := range []string{"sh", "fish", "dotenv"} {
		loud("env", "canary", "--format", f)
	}
	quiet(nil, "", "get", "canary", "--field", "nope")
	quiet(nil, "", "get", "missing")
	quiet(nil, "", "env", "canary", "--format", "nope")
	quiet(nil, "", "exec", "--cred", "canary", "--", "sh", "-c", `test -n "$CANARY"`)
	quiet(nil, "", "exec", "--cred", "canary", "--", "sh", "-c", `exit 3`)
	quiet(nil, "", "exec", "--cred", "canary", "--", "/no/such/program")
	quiet(nil, "", "list")
	quiet(nil, "", "list", "--json")
	quiet(nil, "", "status")
	quiet(nil, "", "status", "--json")
	quiet(nil, "", "lock")
	quiet(nil, "", "get", "canary")
	quiet([]string{"AIRTRAIN_CRED_PASSPHRASE=wrong"}, "", "unlock")
	quiet(pass, "", "unlock")
	quiet(nil, "", "get", "canary", "--bogus-flag")

	// Go prints every goroutine's stack on SIGQUIT, while the value is
	// held in memory.
	d.Signal(syscall.SIGQUIT)
	select {
	case <-d.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("credd did not exit on SIGQUIT")
	}
	if !strings.Contains(d.Stderr(), "goroutine") {
		t.Errorf("SIGQUIT produced no goroutine dump to search")
	}
	keep("daemon log", d.Stderr())
	alog, err := os.ReadFile(d.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	keep("audit log", string(alog))

	hits := 0
	for _, w := range written {
		for _, form := range canaryForms(canary) {
			if strings.Contains(w, form) {
				hits++
				name, _, _ := strings.Cut(w, ": ")
				t.Errorf("the value (or an encoding of it) appears in %s", name)
			}
		}
	}
	t.Logf("searched %d outputs for the value in %d forms: %d hits", len(written), len(canaryForms(canary)), hits)
}

func TestCanaryNotInOtherProcesses(t *testing.T) {
	canary := newCanary(t)
	d := daemontest.Start(t, daemontest.Options{})

	// The exec child is the one process meant to hold the value: a copy
	// of sleep under a name of its own, so the sampler can skip it.
	child := filepath.Join(t.TempDir(), "canary-child")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(child, b, 0o755); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var scans, hits atomic.Int64
	var where sync.Map
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				if _, err := strconv.Atoi(e.Name()); err != nil {
					continue
				}
				dir := "/proc/" + e.Name()
				if exe, _ := os.Readlink(dir + "/exe"); exe == child {
					continue
				}
				for _, f := range []string{"cmdline", "environ"} {
					b, err := os.ReadFile(dir + "/" + f)
					if err != nil {
						continue
					}
					for _, form := range canaryForms(canary) {
						if strings.Contains(string(b), form) {
							hits.Add(1)
							exe, _ := os.Readlink(dir + "/exe")
							where.Store(exe+" "+f, true)
						}
					}
				}
			}
			scans.Add(1)
		}
	}()
	d.MustRun(canary+"\n", "set", "canary")
	for i := 0; i < 5; i++ {
		d.MustRun("", "get", "canary")
		d.MustRun("", "exec", "--cred", "canary", "--", child, "0.3")
	}
	close(stop)
	time.Sleep(100 * time.Millisecond)
	t.Logf("%d scans of every process's cmdline and environ during set, get and exec", scans.Load())
	if scans.Load() < 3 {
		t.Errorf("only %d scans: the sampler proved little", scans.Load())
	}
	where.Range(func(k, _ any) bool {
		t.Errorf("the value appears in %s", k)
		return true
	})
	if hits.Load() != 0 {
		t.Errorf("%d hits of the value outside the exec child", hits.Load())
	}
}
