package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/internal/daemontest"
)

// TestPanicsPrintNoSecret makes a credd built with the credd_crashtest tag
// panic with a credential as the panic value, once where the daemon
// recovers and once where the process dies, and searches everything it
// wrote for the value in plain, base64 and hex forms.
func TestPanicsPrintNoSecret(t *testing.T) {
	crashd := daemontest.BuildCredd(t, t.TempDir(), "credd_crashtest")
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	canary := "canary-" + hex.EncodeToString(random)
	forms := []string{canary, base64.StdEncoding.EncodeToString([]byte(canary)), hex.EncodeToString([]byte(canary))}

	d := daemontest.Start(t, daemontest.Options{Credd: crashd})
	d.MustRun(canary+"\n", "set", "victim")

	r := dialRaw(t, d)
	r.send(`{"id":1,"op":"panic_in_request","name":"victim"}` + "\n")
	if !r.closed() {
		t.Fatal("the connection that panicked was not closed")
	}
	// The daemon recovered and serves everyone else.
	if got := d.MustRun("", "get", "victim"); got != canary+"\n" {
		t.Fatalf("after a recovered panic, get = %q", got)
	}
	if !strings.Contains(d.Stderr(), "panic while serving a connection") {
		t.Fatalf("the recovered panic was not logged: %s", d.Stderr())
	}

	r2 := dialRaw(t, d)
	r2.send(`{"id":2,"op":"crash","name":"victim"}` + "\n")
	select {
	case <-d.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("credd did not die from the unrecovered panic")
	}
	stderr := d.Stderr()
	for i, f := range forms {
		if strings.Contains(stderr, f) {
			t.Fatalf("credd's stderr holds the value (form %d of plain, base64, hex)", i)
		}
	}
	if !strings.Contains(stderr, "panic: <redacted>") || !strings.Contains(stderr, "goroutine") {
		t.Fatalf("the crash report is not the one expected: %s", stderr)
	}
}
