package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/airtrain-ai/credd/peer"
)

func TestConcurrentWritesAllLandOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 500
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := json.RawMessage(fmt.Sprintf(`"%d-%d"`, g, i))
				if err := l.Write(&Record{Event: EventGet, Outcome: Granted, Credential: "k", RequestID: id,
					Peer: &peer.Identity{PID: g + 1, Exe: "/bin/x"}, Agent: "a"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.Close()

	lg, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lg.TornTail || len(lg.Entries) != writers*each {
		t.Fatalf("read %d entries (torn %v), want %d", len(lg.Entries), lg.TornTail, writers*each)
	}
	seen := map[string]bool{}
	for _, e := range lg.Entries {
		if seen[string(e.RequestID)] {
			t.Fatalf("request %s recorded twice", e.RequestID)
		}
		seen[string(e.RequestID)] = true
		if e.Labels == nil || e.Labels.Agent != "a" || e.Peer == nil || e.Peer.Exe != "/bin/x" {
			t.Fatalf("entry lost its fields: %+v", e)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("audit log mode %v, want 0600", st.Mode().Perm())
	}
}

type failing struct{}

func (failing) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteFailureReachesEveryCaller(t *testing.T) {
	l := New(failing{}, "x")
	var wg sync.WaitGroup
	var failures sync.Map
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Write(&Record{Event: EventGet, Outcome: Granted}); err != nil {
				failures.Store(g, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	failures.Range(func(any, any) bool { n++; return true })
	if n != 8 {
		t.Fatalf("%d of 8 callers saw the write fail", n)
	}
}

func TestTornTailIsReported(t *testing.T) {
	in := `{"time":"t","event":"get","outcome":"granted"}` + "\n" + `{"time":"t","ev`
	lg, err := Read(strings.NewReader(in))
	if err != nil || !lg.TornTail || len(lg.Entries) != 1 {
		t.Fatalf("Read(torn) = %+v, %v; want one entry and a torn tail", lg, err)
	}
	bad := `{"x":` + "\n" + `{"time":"t","event":"get","outcome":"granted"}` + "\n"
	if _, err := Read(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a damaged line in the middle: %v, want an error naming line 1", err)
	}
}

func TestOpenRefusesAnOpenLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(path, nil, 0o644)
	if _, err := Open(path); err == nil {
		t.Fatal("Open accepted an audit log readable by others")
	}
}

func TestNoValueFieldExists(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "")
	l.Write(&Record{Event: EventSet, Outcome: Granted, Credential: "k", Detail: "d"})
	if strings.Contains(buf.String(), "value") {
		t.Fatalf("record has a value member: %s", buf.String())
	}
}
