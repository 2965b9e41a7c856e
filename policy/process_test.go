//go:build linux

package policy

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/airtrain-ai/credd/peer"
)

// helperSource is a tiny caller: it connects to the socket named by
// $POLICY_TEST_SOCK and holds the connection until the server closes it.
// With $POLICY_TEST_CHILD set it instead runs that program as its child,
// so that it is the child's parent.
const helperSource = `package main

import (
	"net"
	"os"
	"os/exec"
)

func main() {
	if child := os.Getenv("POLICY_TEST_CHILD"); child != "" {
		os.Unsetenv("POLICY_TEST_CHILD")
		cmd := exec.Command(child)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			os.Exit(1)
		}
		return
	}
	c, err := net.Dial("unix", os.Getenv("POLICY_TEST_SOCK"))
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.WriteString("connected\n")
	c.Read(make([]byte, 1))
}
`

// buildHelper compiles helperSource into dir/name.
func buildHelper(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(helperSource), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module helper\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "helper")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build helper: %v\n%s", err, b)
	}
	return out
}

func install(t *testing.T, src, dst string, extra []byte) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, append(b, extra...), 0o755); err != nil {
		t.Fatal(err)
	}
}

// harness accepts connections on a socket and returns the peer identity
// of each caller while the caller is still connected.
type harness struct {
	t    *testing.T
	sock string
	ln   *net.UnixListener
}

func newHarness(t *testing.T, dir string) *harness {
	sock := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &harness{t: t, sock: sock, ln: ln}
}

// call runs cmd, accepts its connection, and passes the caller's identity
// to judge while the caller is still connected. before runs after the
// caller connected and before its identity is read.
func (h *harness) call(cmd *exec.Cmd, before func(), judge func(*Caller)) {
	t := h.t
	t.Helper()
	cmd.Env = append(append(os.Environ(), cmd.Env...), "POLICY_TEST_SOCK="+h.sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	conn, err := h.ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "connected\n" {
		t.Fatalf("caller did not connect: %q, %v", line, err)
	}
	if before != nil {
		before()
	}
	id, err := peer.FromConn(conn)
	if err != nil {
		t.Fatalf("peer.FromConn: %v", err)
	}
	judge(FromIdentity(id))
}

func TestDecideRealProcesses(t *testing.T) {
	dir := t.TempDir()
	helper := buildHelper(t, dir)
	allowed := filepath.Join(dir, "allowed", "agent")
	install(t, helper, allowed, nil)
	copyPath := filepath.Join(dir, "elsewhere", "agent")
	install(t, helper, copyPath, nil)
	other := filepath.Join(dir, "elsewhere", "other")
	install(t, helper, other, []byte("different content"))
	launcher := filepath.Join(dir, "launcher", "run")
	install(t, helper, launcher, []byte("launcher"))
	pinned, err := peer.FileSHA256(allowed)
	if err != nil {
		t.Fatal(err)
	}

	p, err := New([]Rule{
		{Name: "by-path", Names: []string{"db"}, Exe: []string{allowed}, Action: Allow},
		{Name: "by-hash", Names: []string{"pinned"}, ExeSHA256: []string{pinned}, Action: Allow},
		{Name: "by-parent", Names: []string{"launched"}, ParentExe: []string{launcher}, Action: Allow},
		{Name: "labelled", Names: []string{"labelled"}, Exe: []string{allowed},
			Agent: []string{"trusted"}, Action: Allow},
		{Name: "block-other", Names: []string{"blocked"}, Exe: []string{other}, Action: Deny},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	expect := func(c *Caller, req Request, want Action, wantRule string) {
		t.Helper()
		req.Caller = c
		if req.Op == "" {
			req.Op = OpGet
		}
		d := p.Decide(req)
		if d.Action != want || d.RuleName != wantRule {
			t.Errorf("Decide(%s %q, exe %q) = %s by %s (%s), want %s by %s",
				req.Op, req.Name, c.Exe, d.Action, d.RuleName, d.Reason, want, wantRule)
		}
	}
	h := newHarness(t, dir)

	t.Run("allowed binary", func(t *testing.T) {
		h.call(exec.Command(allowed), nil, func(c *Caller) {
			expect(c, Request{Name: "db"}, Allow, "by-path")
			expect(c, Request{Name: "pinned"}, Allow, "by-hash")
			expect(c, Request{Name: "db", Op: OpDelete}, Allow, "by-path")
			expect(c, Request{Name: "other"}, Deny, "default")
		})
	})
	t.Run("copy at another path", func(t *testing.T) {
		h.call(exec.Command(copyPath), nil, func(c *Caller) {
			expect(c, Request{Name: "db"}, Deny, "default")
			// The same content matches a hash pin wherever it lives.
			expect(c, Request{Name: "pinned"}, Allow, "by-hash")
		})
	})
	t.Run("different content", func(t *testing.T) {
		h.call(exec.Command(other), nil, func(c *Caller) {
			expect(c, Request{Name: "pinned"}, Deny, "default")
			expect(c, Request{Name: "blocked"}, Deny, "block-other")
		})
	})
	t.Run("symlink to allowed binary", func(t *testing.T) {
		link := filepath.Join(dir, "links", "to-allowed")
		os.MkdirAll(filepath.Dir(link), 0o755)
		if err := os.Symlink(allowed, link); err != nil {
			t.Fatal(err)
		}
		h.call(exec.Command(link), nil, func(c *Caller) {
			if c.Exe != allowed {
				t.Errorf("exe of a symlinked binary = %q, want the target %q", c.Exe, allowed)
			}
			expect(c, Request{Name: "db"}, Allow, "by-path")
		})
	})
	t.Run("symlink at allowed path", func(t *testing.T) {
		// An allowed-looking path that links elsewhere: the kernel
		// resolves it, and the resolved binary is what is judged.
		fake := filepath.Join(dir, "fake", "agent")
		os.MkdirAll(filepath.Dir(fake), 0o755)
		if err := os.Symlink(other, fake); err != nil {
			t.Fatal(err)
		}
		p2, err := New([]Rule{{Exe: []string{fake}, Action: Allow}}, "")
		if err != nil {
			t.Fatal(err)
		}
		h.call(exec.Command(fake), nil, func(c *Caller) {
			if d := p2.Decide(Request{Op: OpGet, Name: "db", Caller: c}); d.Action != Deny {
				t.Errorf("symlink at allowed path: Decide = %s by %s, want deny", d.Action, d.RuleName)
			}
		})
	})
	t.Run("spoofed argv0 and labels", func(t *testing.T) {
		cmd := exec.Command(other)
		cmd.Args = []string{allowed}
		h.call(cmd, nil, func(c *Caller) {
			if c.Exe != other {
				t.Errorf("exe with spoofed argv[0] = %q, want %q", c.Exe, other)
			}
			expect(c, Request{Name: "db", Agent: "trusted"}, Deny, "default")
			expect(c, Request{Name: "labelled", Agent: "trusted", Skill: "x"}, Deny, "default")
		})
		h.call(exec.Command(allowed), nil, func(c *Caller) {
			expect(c, Request{Name: "labelled", Agent: "trusted"}, Allow, "labelled")
			expect(c, Request{Name: "labelled", Agent: "other"}, Deny, "default")
		})
	})
	t.Run("child of allowed parent", func(t *testing.T) {
		cmd := exec.Command(launcher)
		cmd.Env = []string{"POLICY_TEST_CHILD=" + copyPath}
		h.call(cmd, nil, func(c *Caller) {
			if c.Exe != copyPath {
				t.Errorf("child exe = %q, want %q", c.Exe, copyPath)
			}
			expect(c, Request{Name: "launched"}, Allow, "by-parent")
			expect(c, Request{Name: "db"}, Deny, "default")
		})
		h.call(exec.Command(copyPath), nil, func(c *Caller) {
			expect(c, Request{Name: "launched"}, Deny, "default")
		})
	})
	t.Run("binary replaced after start", func(t *testing.T) {
		victim := filepath.Join(dir, "allowed", "victim")
		install(t, helper, victim, nil)
		p3, err := New([]Rule{
			{Name: "path", Names: []string{"a"}, Exe: []string{victim}, Action: Allow},
			{Name: "hash", Names: []string{"b"}, ExeSHA256: []string{pinned}, Action: Allow},
			{Name: "deny-victim", Names: []string{"c"}, Exe: []string{victim}, Action: Deny},
			{Name: "rest", Action: Allow},
		}, "")
		if err != nil {
			t.Fatal(err)
		}
		replace := func() {
			tmp := victim + ".new"
			install(t, other, tmp, nil)
			if err := os.Rename(tmp, victim); err != nil {
				t.Fatal(err)
			}
		}
		h.call(exec.Command(victim), replace, func(c *Caller) {
			if c.Exe != "" {
				t.Errorf("exe of a replaced binary = %q, want unknown", c.Exe)
			}
			for _, tc := range []struct {
				name string
				want Action
				rule string
			}{{"a", Allow, "rest"}, {"b", Allow, "rest"}, {"c", Deny, "deny-victim"}} {
				d := p3.Decide(Request{Op: OpGet, Name: tc.name, Caller: c})
				if d.Action != tc.want || d.RuleName != tc.rule {
					t.Errorf("replaced binary, %q: %s by %s, want %s by %s",
						tc.name, d.Action, d.RuleName, tc.want, tc.rule)
				}
			}
		})
	})
}
