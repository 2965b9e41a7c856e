package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

func TestWriterThatNeverReads(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)
	before := snapshot(t, d)
	base := procStatus(t, d.PID(), "VmRSS")

	c := d.Dial()
	defer c.Close()
	var sent atomic.Int64
	wrote := make(chan error, 1)
	start := time.Now()
	go func() {
		w := bufio.NewWriterSize(c, 64<<10)
		_ = c.SetWriteDeadline(time.Now().Add(60 * time.Second))
		for i := 0; i < 100_000; i++ {
			fmt.Fprintf(w, `{"id":%d,"op":"get","name":"alpha","field":"value"}`+"\n", i)
			if w.Buffered() > 60<<10 {
				if err := w.Flush(); err != nil {
					wrote <- err
					return
				}
			}
			sent.Store(int64(i + 1))
		}
		wrote <- w.Flush()
	}()

	peak := base
	var err error
	for done := false; !done; {
		select {
		case err = <-wrote:
			done = true
		case <-time.After(200 * time.Millisecond):
			peak = max(peak, procStatus(t, d.PID(), "VmRSS"))
			if time.Since(start) > 60*time.Second {
				t.Fatal("the daemon kept a client that never reads for 60s")
			}
		}
	}
	elapsed := time.Since(start)
	t.Logf("never-reading client: %d requests written, closed after %v; RSS %d kB -> peak %d kB",
		sent.Load(), elapsed.Round(time.Millisecond), base, peak)
	if err == nil {
		// Every request fit in the socket buffers: the daemon must
		// still close the connection at its write deadline.
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		time.Sleep(12 * time.Second)
		if _, err := c.Write([]byte("\n")); err == nil {
			t.Fatal("connection still open 12s after the daemon's writes stalled")
		}
	}
	if peak-base > 64<<10 {
		t.Errorf("daemon RSS grew by %d kB for one client that never reads", peak-base)
	}
	stillServes(t, d, before)
}

func TestIdleConnectionsWithFewDescriptors(t *testing.T) {
	raiseNoFile(t, 4096)
	d := daemontest.Start(t, daemontest.Options{})
	seedCreds(t, d)
	before := snapshot(t, d)
	// Lower the running daemon's limit, as prlimit --nofile=256:256 would.
	lim := unix.Rlimit{Cur: 256, Max: 256}
	if err := unix.Prlimit(d.PID(), unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatalf("prlimit credd: %v", err)
	}

	var conns []net.Conn
	refused := 0
	for i := 0; i < 1000; i++ {
		c, err := net.DialTimeout("unix", d.Socket, time.Second)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	t.Logf("1000 connections: %d connected, %d refused by the kernel; daemon holds %d descriptors",
		len(conns), refused, fdCount(t, d.PID()))

	time.Sleep(time.Second)
	cpu0 := cpuTime(t, d.PID())
	time.Sleep(3 * time.Second)
	spent := cpuTime(t, d.PID()) - cpu0
	t.Logf("CPU used in 3s while out of descriptors: %v", spent)
	if spent > 1500*time.Millisecond {
		t.Errorf("daemon used %v of CPU in 3s while out of descriptors: it spins", spent)
	}
	select {
	case <-d.Done():
		t.Fatalf("daemon exited while out of descriptors: %s", d.Stderr())
	default:
	}

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	back := waitServed(t, d, 30*time.Second)
	t.Logf("served again %v after the idle connections closed", back.Round(time.Millisecond))
	stillServes(t, d, before)
}

// latencies runs n honest clients doing gets for dur and returns the
// sorted round trip times and the number of errors.
func latencies(t *testing.T, d *daemontest.Daemon, n int, dur time.Duration) ([]time.Duration, int) {
	t.Helper()
	var mu sync.Mutex
	var all []time.Duration
	var errs int
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", d.Socket)
			if err != nil {
				mu.Lock()
				errs++
				mu.Unlock()
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			var mine []time.Duration
			bad := 0
			for end := time.Now().Add(dur); time.Now().Before(end); {
				t0 := time.Now()
				_ = c.SetDeadline(t0.Add(30 * time.Second))
				_, err := c.Write([]byte(`{"id":1,"op":"get","name":"beta","field":"value"}` + "\n"))
				line, err2 := br.ReadBytes('\n')
				if err != nil || err2 != nil || !strings.Contains(string(line), `"ok":true`) {
					bad++
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return all, errs
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)*99/100]
}

func TestSlowClientsAndHonestLatency(t *testing.T) {
	raiseNoFile(t, 4096)
	d := daemontest.Start(t, daemontest.Options{Args: []string{"--line-timeout", "2s"}})
	seedCreds(t, d)
	before := snapshot(t, d)

	quiet, errs := latencies(t, d, 4, 2*time.Second)
	if errs != 0 || len(quiet) == 0 {
		t.Fatalf("unloaded: %d errors, %d requests", errs, len(quiet))
	}

	// Hostile load: slow writers under the line timeout, stallers over
	// it, clients that never read, and idle connections.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var slowServed, stallDropped atomic.Int32
	slowClient := func(gap time.Duration, served, dropped *atomic.Int32) {
		defer wg.Done()
		c, err := net.Dial("unix", d.Socket)
		if err != nil {
			return
		}
		defer c.Close()
		line := `{"id":"s","op":"get","name":"gamma.x","field":"value"}` + "\n"
		if dropped != nil {
			line = line[:8] // then stall past the line timeout
		}
		for i := 0; i < len(line); i += 8 {
			if _, err := c.Write([]byte(line[i:min(i+8, len(line))])); err != nil {
				return
			}
			if dropped == nil {
				time.Sleep(gap)
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		reply, _ := bufio.NewReader(c).ReadString('\n')
		switch {
		case served != nil && strings.Contains(reply, `"ok":true`):
			served.Add(1)
		case dropped != nil && strings.Contains(reply, "idle"):
			dropped.Add(1)
		}
	}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go slowClient(100*time.Millisecond, &slowServed, nil)
	}
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go slowClient(0, nil, &stallDropped)
	}
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("unix", d.Socket)
			if err != nil {
				return
			}
			defer c.Close()
			req := []byte(strings.Repeat(`{"id":1,"op":"get","name":"alpha"}`+"\n", 1000))
			for {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(req); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	idle, _ := holdConns(t, d, 200, 10*time.Millisecond)

	loaded, errs := latencies(t, d, 4, 3*time.Second)
	close(stop)
	wg.Wait()
	for _, c := range idle {
		c.Close()
	}
	if errs != 0 || len(loaded) == 0 {
		t.Fatalf("honest clients under hostile load: %d errors, %d requests", errs, len(loaded))
	}
	ratio := float64(p99(loaded)) / float64(max(p99(quiet), time.Microsecond))
	t.Logf("honest p99: unloaded %v (%d requests), loaded %v (%d requests); ratio %.1f",
		p99(quiet), len(quiet), p99(loaded), len(loaded), ratio)
	if p99(loaded) > 5*time.Second {
		t.Errorf("honest p99 under hostile load is %v", p99(loaded))
	}
	if slowServed.Load() != 20 {
		t.Errorf("%d of 20 slow clients under the line timeout were served", slowServed.Load())
	}
	if stallDropped.Load() != 3 {
		t.Errorf("%d of 3 clients stalling past the line timeout were told why and dropped", stallDropped.Load())
	}
	stillServes(t, d, before)
}

// loadClients and loadGets size TestManyClientsGets. 50 x 10,000 runs in
// about 10s here, but reading back its 500,000 audit records under -race
// takes most of a minute, so the suite runs 50 x 2,000.
const (
	loadClients = 50
	loadGets    = 2_000
)

func TestManyClientsGets(t *testing.T) {
	raiseNoFile(t, 4096)
	d := daemontest.Start(t, daemontest.Options{})
	for i := 0; i < 10; i++ {
		m := exchange(t, d, fmt.Sprintf(`{"id":1,"op":"set","name":"load-%d","fields":{"value":"v%d"}}`, i, i))
		if m["ok"] != true {
			t.Fatalf("set load-%d: %v", i, m["error"])
		}
	}
	waitServed(t, d, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	pid := d.PID()
	baseThreads, baseFDs, baseRSS := procStatus(t, pid, "Threads"), fdCount(t, pid), procStatus(t, pid, "VmRSS")

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, loadClients)
	for i := 0; i < loadClients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = getLoop(d, i, loadGets)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	total := loadClients * loadGets
	t.Logf("%d clients x %d gets: %v, %.0f gets/s", loadClients, loadGets,
		elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	peakThreads := procStatus(t, pid, "Threads")

	// Every successful get is in the audit log exactly once, under this
	// process's pid.
	seen := make(map[string]int, total)
	for _, e := range d.Audit().Entries {
		if e.Event == "get" && e.Outcome == "granted" && e.Peer != nil && e.Peer.PID == os.Getpid() {
			seen[string(e.RequestID)]++
		}
	}
	missing, dup := 0, 0
	for i := 0; i < loadClients; i++ {
		for n := 0; n < loadGets; n++ {
			switch seen[strconv.Quote(fmt.Sprintf("c%d-%d", i, n))] {
			case 1:
			case 0:
				missing++
			default:
				dup++
			}
		}
	}
	if missing != 0 || dup != 0 || len(seen) != total {
		t.Errorf("audit log: %d gets missing, %d recorded twice, %d ids, want %d", missing, dup, len(seen), total)
	}

	// Back near the baseline once the clients are gone.
	var fds, threads, rss int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		fds, threads, rss = fdCount(t, pid), procStatus(t, pid, "Threads"), procStatus(t, pid, "VmRSS")
		if fds <= baseFDs+2 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("threads %d -> peak %d -> %d; descriptors %d -> %d; RSS %d kB -> %d kB",
		baseThreads, peakThreads, threads, baseFDs, fds, baseRSS, rss)
	if fds > baseFDs+2 {
		t.Errorf("daemon holds %d descriptors after the load, %d before", fds, baseFDs)
	}
	if threads > baseThreads+16 {
		t.Errorf("daemon has %d threads after the load, %d before", threads, baseThreads)
	}
	if rss > baseRSS+64<<10 {
		t.Errorf("daemon RSS %d kB after the load, %d kB before", rss, baseRSS)
	}
}

// getLoop does n gets on one connection with ids c<client>-<n>.
func getLoop(d *daemontest.Daemon, client, n int) error {
	c, err := net.Dial("unix", d.Socket)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var buf []byte
	for k := 0; k < n; k++ {
		buf = fmt.Appendf(buf[:0], `{"id":"c%d-%d","op":"get","name":"load-%d","field":"value"}`+"\n",
			client, k, (client+k)%10)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("get %d: %w", k, err)
		}
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("get %d: %w", k, err)
		}
		if !strings.Contains(string(line), `"ok":true`) {
			return fmt.Errorf("get %d failed: %.200s", k, line)
		}
	}
	return nil
}
