package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/protocol"
)

// hostileCreds are stored before each hostile input, and must be unchanged
// after it.
var hostileCreds = map[string]string{
	"alpha":   "alpha-value-31b7",
	"beta":    "beta-value-9c2d",
	"gamma.x": "gamma-value-e410",
}

// seedCreds stores hostileCreds through credctl.
func seedCreds(t *testing.T, d *daemontest.Daemon) {
	t.Helper()
	for name, v := range hostileCreds {
		d.MustRun(v+"\n", "set", name)
	}
}

// exchange sends one request line on a fresh connection and returns the
// reply.
func exchange(t *testing.T, d *daemontest.Daemon, line string) map[string]any {
	t.Helper()
	r := dialRaw(t, d)
	defer r.c.Close()
	r.send(line + "\n")
	return r.reply()
}

// snapshot returns the list reply and every credential's get reply, with
// ids removed, as one opaque string. It holds values: never print it.
func snapshot(t *testing.T, d *daemontest.Daemon) string {
	t.Helper()
	r := dialRaw(t, d)
	defer r.c.Close()
	r.send(`{"id":0,"op":"list"}` + "\n")
	list := r.reply()
	if list["ok"] != true {
		t.Fatalf("list failed: %v", list["error"])
	}
	var b strings.Builder
	delete(list, "id")
	enc, _ := json.Marshal(list)
	b.Write(enc)
	creds, _ := list["credentials"].([]any)
	for _, c := range creds {
		name, _ := c.(map[string]any)["name"].(string)
		r.send(fmt.Sprintf(`{"id":1,"op":"get","name":%q}`+"\n", name))
		got := r.reply()
		delete(got, "id")
		enc, _ := json.Marshal(got)
		b.Write(enc)
	}
	return b.String()
}

// stillServes checks that another client is answered and that the stored
// credentials are those of before.
func stillServes(t *testing.T, d *daemontest.Daemon, before string) {
	t.Helper()
	if m := exchange(t, d, `{"id":"h","op":"hello"}`); m["ok"] != true {
		t.Fatalf("hello from another client after hostile input: %v", m)
	}
	if snapshot(t, d) != before {
		t.Fatal("stored credentials changed after hostile input (list or get differs)")
	}
}

func TestHostileInputTable(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)
	before := snapshot(t, d)

	get := func(name string) string {
		b, _ := json.Marshal(map[string]any{"id": 9, "op": "get", "name": name})
		return string(b) + "\n"
	}
	tests := []struct {
		name string
		send string
		// want is the expected error code; "" expects no reply, "ok" a
		// success.
		want string
		// hangUp closes the connection right after sending.
		hangUp bool
		// msg must appear in the error message.
		msg string
	}{
		{name: "truncated line then close", send: `{"id":1,"op":"se`, hangUp: true},
		{name: "half a set then close", send: `{"id":1,"op":"set","name":"alpha","fields":{"value":"x`, hangUp: true},
		{name: "invalid UTF-8", send: "{\"id\":1,\"op\":\"get\",\"name\":\"\xff\xfe\"}\n", want: "bad_request", msg: "UTF-8"},
		{name: "lone continuation bytes", send: "\x80\x80\x80\n", want: "bad_request"},
		{name: "array", send: `["get","alpha"]` + "\n", want: "bad_request", msg: "object"},
		{name: "string", send: `"get"` + "\n", want: "bad_request"},
		{name: "number", send: "12345\n", want: "bad_request"},
		{name: "null", send: "null\n", want: "bad_request"},
		{name: "id as object", send: `{"id":{"a":1},"op":"get","name":"alpha"}` + "\n", want: "bad_request", msg: "id"},
		{name: "op as number", send: `{"id":1,"op":3}` + "\n", want: "bad_request", msg: "op"},
		{name: "fields as array", send: `{"id":1,"op":"set","name":"alpha","fields":["x"]}` + "\n", want: "bad_request", msg: "fields"},
		{name: "field value as number", send: `{"id":1,"op":"set","name":"alpha","fields":{"value":7}}` + "\n", want: "bad_request"},
		{name: "ttl as string", send: `{"id":1,"op":"unlock","ttl_s":"10"}` + "\n", want: "bad_request", msg: "ttl_s"},
		{name: "missing op", send: `{"id":1,"name":"alpha"}` + "\n", want: "bad_request", msg: "op"},
		{name: "empty op", send: `{"id":1,"op":""}` + "\n", want: "bad_request"},
		{name: "unknown op", send: `{"id":1,"op":"format_disk"}` + "\n", want: "unknown_op"},
		{name: "op with NUL", send: `{"id":1,"op":"get\u0000"}` + "\n", want: "unknown_op"},
		{name: "name empty", send: get(""), want: "bad_request", msg: "name"},
		{name: "name leading dot", send: get(".alpha"), want: "bad_request", msg: "not valid"},
		{name: "name leading dash", send: get("-alpha"), want: "bad_request", msg: "not valid"},
		{name: "name 129 chars", send: get(strings.Repeat("a", 129)), want: "bad_request", msg: "longer"},
		{name: "name with slash", send: get("../alpha"), want: "bad_request"},
		{name: "name unicode", send: get("ключ"), want: "bad_request"},
		{name: "set with bad field name", send: `{"id":1,"op":"set","name":"alpha","fields":{"a/b":"x"}}` + "\n", want: "bad_request"},
		{name: "delete with bad name", send: `{"id":1,"op":"delete","name":"*"}` + "\n", want: "bad_request"},
		{name: "zero-length lines then hello", send: "\n\n\r\n\n" + `{"id":1,"op":"hello"}` + "\n", want: "ok"},
		{name: "trailing garbage", send: `{"id":1,"op":"hello"} x` + "\n", want: "bad_request"},
		{name: "deeply nested", send: `{"id":1,"op":"get","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}\n", want: "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, d)
			r.send(tt.send)
			switch {
			case tt.hangUp:
				r.c.Close()
			case tt.want == "ok":
				if m := r.reply(); m["ok"] != true {
					t.Fatalf("reply %v, want ok", m)
				}
			default:
				m := r.reply()
				if got := code(m); got != tt.want {
					t.Fatalf("error code %q, want %q (reply %v)", got, tt.want, m)
				}
				msg, _ := m["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, tt.msg) {
					t.Errorf("message %q does not mention %q", msg, tt.msg)
				}
				// A bad request is answered, not fatal: the same
				// connection still works.
				r.send(`{"id":2,"op":"hello"}` + "\n")
				if m := r.reply(); m["ok"] != true {
					t.Fatalf("same connection after a bad request: %v", m)
				}
			}
			stillServes(t, d, before)
		})
	}

	t.Run("byte at a time", func(t *testing.T) {
		r := dialRaw(t, d)
		line := `{"id":"slow","op":"get","name":"alpha","field":"value"}` + "\n"
		for i := 0; i < len(line); i++ {
			r.send(line[i : i+1])
			time.Sleep(time.Millisecond)
		}
		m := r.reply()
		if m["ok"] != true || m["id"] != "slow" || m["value"] != hostileCreds["alpha"] {
			t.Fatalf("byte-at-a-time get: ok=%v id=%v error=%v", m["ok"], m["id"], m["error"])
		}
		stillServes(t, d, before)
	})
	// Nothing hostile reached the audit log as a change.
	for _, e := range d.Audit().Entries {
		if (e.Event == "set" || e.Event == "delete") && e.Outcome == "granted" {
			if _, seeded := hostileCreds[e.Credential]; !seeded || e.Peer == nil || !strings.Contains(e.Peer.Exe, "credctl") {
				t.Errorf("unexpected granted %s of %q in the audit log", e.Event, e.Credential)
			}
		}
	}
}

func TestOversizedLineIsRefusedAndClosed(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)
	before := snapshot(t, d)

	r := dialRaw(t, d)
	big := make([]byte, 2<<20)
	copy(big, `{"id":1,"op":"get","name":"`)
	for i := 27; i < len(big); i++ {
		big[i] = 'a'
	}
	// The daemon stops reading at the limit, so the write may fail
	// part-way: that is expected.
	go func() {
		_ = r.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		_, _ = r.c.Write(big)
	}()
	m := r.reply()
	if code(m) != "too_large" {
		t.Fatalf("2 MiB line: reply %v, want too_large", m)
	}
	if !r.closed() {
		t.Fatal("connection still open after too_large")
	}
	stillServes(t, d, before)

	// Exactly the limit is fine.
	line := `{"id":1,"op":"hello","pad":"` + strings.Repeat("p", protocol.MaxLine-40) + `"}`
	line += strings.Repeat(" ", protocol.MaxLine-len(line))
	if m := exchange(t, d, line); m["ok"] != true {
		t.Fatalf("line of exactly %d bytes: %v", protocol.MaxLine, m["error"])
	}
}

// raiseNoFile raises the test process's descriptor limit to at least n.
func raiseNoFile(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(max(n, lim.Cur), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n {
		t.Fatalf("raise RLIMIT_NOFILE to %d: %v (hard limit %d)", n, err, lim.Max)
	}
}

// holdConns opens n connections to d and reads at most one line from each
// within wait. It returns the connections and, per connection, the error
// code it was sent ("" when none).
func holdConns(t *testing.T, d *daemontest.Daemon, n int, wait time.Duration) ([]net.Conn, []string) {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", d.Socket)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(wait))
			buf := make([]byte, 4096)
			k, _ := c.Read(buf)
			if k > 0 {
				var m map[string]any
				if json.Unmarshal(bytes.TrimSpace(buf[:k]), &m) == nil {
					codes[i] = code(m)
				} else {
					codes[i] = "unparsable"
				}
			}
		}()
	}
	wg.Wait()
	return conns, codes
}

func TestConnectionLimitAnswersBusy(t *testing.T) {
	raiseNoFile(t, 4096)
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)
	before := snapshot(t, d)
	time.Sleep(200 * time.Millisecond) // let the snapshot's connection go

	const n = 600
	conns, codes := holdConns(t, d, n, 3*time.Second)
	busy, other := 0, 0
	// Which connections are refused depends on scheduling; how many does
	// not.
	for _, c := range codes {
		switch c {
		case "busy":
			busy++
		case "":
		default:
			other++
		}
	}
	if busy < n-protocol.MaxConns-5 || busy > n-protocol.MaxConns || other != 0 {
		t.Fatalf("%d connections: %d busy, %d other errors; want %d busy", n, busy, other, n-protocol.MaxConns)
	}
	t.Logf("%d connections at once: %d answered busy", n, busy)

	// The ones that were admitted are served.
	c := conns[0]
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(`{"id":1,"op":"hello"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if k, err := c.Read(buf); err != nil || !bytes.Contains(buf[:k], []byte(`"ok":true`)) {
		t.Fatalf("admitted connection: %q, %v", buf[:k], err)
	}
	for _, c := range conns {
		c.Close()
	}
	waitServed(t, d, 10*time.Second)
	stillServes(t, d, before)
}

// waitServed waits until a new client gets a hello answered.
func waitServed(t *testing.T, d *daemontest.Daemon, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		c, err := net.DialTimeout("unix", d.Socket, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(`{"id":1,"op":"hello"}` + "\n"))
			buf := make([]byte, 512)
			k, _ := c.Read(buf)
			c.Close()
			if bytes.Contains(buf[:k], []byte(`"ok":true`)) {
				return time.Since(start)
			}
		}
		if time.Since(start) > bound {
			t.Fatalf("no client served within %v", bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStalledHalfLineIsDropped(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--line-timeout", "1s"}})
	seedCreds(t, d)
	before := snapshot(t, d)

	// Silent between requests is allowed for longer than the timeout.
	idle := dialRaw(t, d)

	r := dialRaw(t, d)
	start := time.Now()
	r.send(`{"id":1,"op":"get","na`)
	m := r.reply()
	if code(m) != "bad_request" || !strings.Contains(fmt.Sprint(m["error"]), "idle") {
		t.Fatalf("stalled client got %v, want bad_request naming the idle time", m)
	}
	if !r.closed() {
		t.Fatal("stalled client still connected after its error")
	}
	t.Logf("stalled client dropped after %v (line timeout 1s)", time.Since(start).Round(time.Millisecond))

	time.Sleep(1500 * time.Millisecond)
	idle.send(`{"id":2,"op":"hello"}` + "\n")
	if m := idle.reply(); m["ok"] != true {
		t.Fatalf("client silent between requests was dropped: %v", m)
	}
	stillServes(t, d, before)
}

func TestEveryErrorCode(t *testing.T) {
	raiseNoFile(t, 4096)
	seen := map[string]bool{}
	note := func(m map[string]any) {
		t.Helper()
		if c := code(m); c != "" {
			seen[c] = true
		}
	}
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)

	note(exchange(t, d, `{"id":1}`))
	note(exchange(t, d, `{"id":1,"op":"nope"}`))
	note(exchange(t, d, `{"id":1,"op":"get","name":"missing"}`))
	note(exchange(t, d, `{"id":1,"op":"set","name":"x","type":"no-such-type","fields":{"value":"v"}}`))
	note(exchange(t, d, `{"id":1,"op":"hello","pad":"`+strings.Repeat("x", protocol.MaxLine)+`"}`))

	conns, codes := holdConns(t, d, protocol.MaxConns+1, 2*time.Second)
	for _, c := range codes {
		if c != "" {
			seen[c] = true
		}
	}
	for _, c := range conns {
		c.Close()
	}

	// The encrypted file's folder replaced by a plain file: writes fail.
	folder := filepath.Join(d.Dir, "data", "airtrain")
	if err := os.Rename(folder, folder+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(folder, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitServed(t, d, 10*time.Second)
	m := exchange(t, d, `{"id":1,"op":"set","name":"new","fields":{"value":"v"}}`)
	note(m)
	if code(m) != "backend_unavailable" {
		t.Errorf("set with an unwritable store: %v, want backend_unavailable", m)
	}
	os.Remove(folder)
	os.Rename(folder+".aside", folder)

	note(exchange(t, d, `{"id":1,"op":"lock"}`))
	note(exchange(t, d, `{"id":1,"op":"get","name":"alpha"}`))
	note(exchange(t, d, `{"id":1,"op":"unlock","passphrase":"wrong passphrase"}`))

	full := daemontest.Start(t, daemontest.Options{Locked: true, Args: []string{"--audit-log", "/dev/full"}})
	note(exchange(t, full, `{"id":1,"op":"get","name":"alpha"}`))

	for _, c := range []string{"bad_request", "unknown_op", "too_large", "locked", "not_found",
		"denied", "invalid", "backend_unavailable", "audit_unavailable", "busy"} {
		if !seen[c] {
			t.Errorf("error code %s never produced", c)
		}
	}
	t.Logf("codes produced: %v", keys(seen))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// procStatus returns a numeric field of /proc/<pid>/status (VmRSS in kB,
// Threads).
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("read status of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// fdCount returns how many descriptors pid has open.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatalf("list descriptors of pid %d: %v", pid, err)
	}
	return len(ents)
}

// cpuTime returns the user plus system CPU time pid has used.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("read stat of pid %d: %v", pid, err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}
