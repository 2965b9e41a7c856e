package client_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/internal/daemontest"
)

// newClient returns a client of d labelled for the test.
func newClient(t *testing.T, d *daemontest.Daemon) *client.Client {
	c := client.New(client.Options{Socket: d.Socket, Agent: "client-test"})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTypedErrors(t *testing.T) {
	ctx := context.Background()

	locked := daemontest.Start(t, daemontest.Options{Locked: true})
	_, err := newClient(t, locked).Value(ctx, "openai", "")
	if !errors.Is(err, client.ErrLocked) {
		t.Errorf("Value on a locked agent: %v, want ErrLocked", err)
	}

	d := daemontest.Start(t, daemontest.Options{})
	_, err = newClient(t, d).Value(ctx, "nope", "")
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Value of a missing credential: %v, want ErrNotFound", err)
	}
	d.MustRun("value-1234\n", "set", "present")
	_, err = newClient(t, d).Value(ctx, "present", "nofield")
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Value of a missing field: %v, want ErrNotFound", err)
	}
}

func TestNoAgentNamesSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "absent", "credd.sock")
	c := client.New(client.Options{Socket: sock})
	defer c.Close()
	_, err := c.Status(context.Background())
	if !errors.Is(err, client.ErrNoAgent) {
		t.Fatalf("Status with no socket: %v, want ErrNoAgent", err)
	}
	var na *client.NoAgentError
	if !errors.As(err, &na) || na.Socket != sock || !strings.Contains(err.Error(), sock) {
		t.Fatalf("error %q does not name the socket %s", err, sock)
	}

	// A socket file with nobody listening is no agent either.
	os.MkdirAll(filepath.Dir(sock), 0o700)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(context.Background()); !errors.Is(err, client.ErrNoAgent) {
		t.Fatalf("Status with a dead socket: %v, want ErrNoAgent", err)
	}
}

// countingListener accepts connections on sock and counts them; it never
// answers.
func countingListener(t *testing.T, sock string) *atomic.Int32 {
	t.Helper()
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return &n
}

func TestUnsafeSocketFolderSendsNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "credd.sock")
	accepted := countingListener(t, sock)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	c := client.New(client.Options{Socket: sock})
	defer c.Close()
	_, err := c.Status(context.Background())
	if !errors.Is(err, client.ErrUnsafeSocket) {
		t.Fatalf("Status through a 0777 folder: %v, want ErrUnsafeSocket", err)
	}
	if errors.Is(err, client.ErrNoAgent) {
		t.Errorf("an unsafe socket also reads as no agent: %v", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the client connected %d times to an unsafe socket", n)
	}
}

// socketInodes returns the inodes of this process's open sockets.
func socketInodes(t *testing.T) map[string]bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	out := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			out[target] = true
		}
	}
	return out
}

func TestConnectionReuse(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	d.MustRun("value-1234\n", "set", "reuse")
	c := newClient(t, d)
	ctx := context.Background()

	// Every new connection is a new socket with a new inode: one inode,
	// the same after every call, means one connection did all the work.
	before := socketInodes(t)
	var conn string
	for i := 0; i < 200; i++ {
		v, err := c.Value(ctx, "reuse", "")
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		v.Wipe()
		var fresh []string
		for s := range socketInodes(t) {
			if !before[s] {
				fresh = append(fresh, s)
			}
		}
		if len(fresh) != 1 {
			t.Fatalf("after call %d the client holds %d new sockets, want 1", i, len(fresh))
		}
		if conn == "" {
			conn = fresh[0]
		} else if fresh[0] != conn {
			t.Fatalf("call %d used a new connection %s, first was %s", i, fresh[0], conn)
		}
	}
	// The daemon saw every call, from this process.
	n := 0
	for _, e := range d.Audit().Entries {
		if e.Event == "get" && e.Credential == "reuse" && e.Peer != nil && e.Peer.PID == os.Getpid() {
			n++
		}
	}
	if n != 200 {
		t.Fatalf("audit log has %d reads from this process, want 200", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	want := map[string]string{}
	for i := 0; i < 4; i++ {
		name := "cred" + string(rune('a'+i))
		want[name] = "value-" + name + "-" + strings.Repeat("x", i*10)
		d.MustRun(want[name]+"\n", "set", name)
	}
	c := newClient(t, d)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				name := "cred" + string(rune('a'+(g+i)%4))
				v, err := c.Value(context.Background(), name, "")
				if err != nil {
					errs <- err
					return
				}
				ok := string(v.Reveal()) == want[name]
				v.Wipe()
				if !ok {
					errs <- errors.New("goroutine got another credential's value for " + name)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestContextHonoured(t *testing.T) {
	// A socket that accepts and never answers stands for a hung agent.
	dir := filepath.Join(t.TempDir(), "hung")
	os.Mkdir(dir, 0o700)
	sock := filepath.Join(dir, "credd.sock")
	accepted := countingListener(t, sock)
	c := client.New(client.Options{Socket: sock})
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.Status(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Status past its deadline: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Status ignored its deadline")
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() { _, err := c.Status(ctx); done <- err }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Status after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Status ignored the cancellation")
	}
	if accepted.Load() == 0 {
		t.Errorf("the client never reached the hung socket; the test proved nothing")
	}
}
