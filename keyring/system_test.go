package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/airtrain-ai/credd/internal/testenv"
)

// openSystem returns a system backend under a service name of its own.
func openSystem(t *testing.T, timeout time.Duration) *systemBackend {
	t.Helper()
	b, _, err := Open("system", Options{
		Service: "credd-test-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Timeout: timeout,
		File:    t.TempDir() + "/unused.age",
	})
	if err != nil {
		t.Fatalf("Open(system): %v", err)
	}
	return b.(*systemBackend)
}

// waitErr runs f and returns its error, failing the test if it does not
// return within a generous bound.
func waitErr(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s did not return within a minute", what)
		return nil
	}
}

func TestSystemContract(t *testing.T) {
	testenv.StartSecretService(t)
	testBackend(t, openSystem(t, 30*time.Second), nil, runtime.GOOS == "darwin")
}

func TestSystemLocked(t *testing.T) {
	k := testenv.StartSecretService(t)
	b := openSystem(t, 30*time.Second)
	if _, err := b.Unlock(testCtx(t), nil); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := b.Put(testCtx(t), sample("a", map[string]string{"k": "v"})); err != nil {
		t.Fatalf("Put: %v", err)
	}

	k.Lock()
	b.Lock()
	err := waitErr(t, "Unlock of a locked keyring", func() error {
		_, err := b.Unlock(testCtx(t), nil)
		return err
	})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Unlock of a locked keyring = %v, want ErrUnavailable saying it is locked", err)
	}
}

func TestSystemHung(t *testing.T) {
	k := testenv.StartSecretService(t)
	b := openSystem(t, time.Second)
	if _, err := b.Unlock(testCtx(t), nil); err != nil {
		t.Fatalf("Unlock: %v", err)
	}

	k.Hang()
	for _, what := range []string{"first", "second"} {
		err := waitErr(t, "Put to a hung keyring", func() error {
			return b.Put(testCtx(t), sample("a", map[string]string{"k": "v"}))
		})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s Put to a hung keyring = %v, want ErrUnavailable", what, err)
		}
	}
	b.Lock()
	err := waitErr(t, "Unlock of a hung keyring", func() error {
		_, err := b.Unlock(testCtx(t), nil)
		return err
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Unlock of a hung keyring = %v, want ErrUnavailable", err)
	}

	// A deadline sooner than the backend's timeout wins.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err = waitErr(t, "Unlock with a short deadline", func() error {
		_, err := b.Unlock(ctx, nil)
		return err
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Unlock with a short deadline = %v, want ErrUnavailable", err)
	}

	// Once the keyring answers again, so does the backend.
	k.Resume()
	err = waitErr(t, "Unlock after resume", func() error {
		var err error
		for range 30 {
			if _, err = b.Unlock(testCtx(t), nil); err == nil {
				return nil
			}
			time.Sleep(time.Second)
		}
		return err
	})
	if err != nil {
		t.Fatalf("Unlock after the keyring resumed: %v", err)
	}
}

func TestSystemNoService(t *testing.T) {
	testenv.SessionBus(t)
	b := openSystem(t, 30*time.Second)
	_, err := b.Unlock(testCtx(t), nil)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no Secret Service") {
		t.Fatalf("Unlock with no Secret Service = %v, want ErrUnavailable naming it", err)
	}
}

// readIndexNames reads the index item directly.
func readIndexNames(t *testing.T, service string) []string {
	t.Helper()
	raw, err := gokeyring.Get(service, indexUser)
	if err != nil {
		t.Fatalf("read index: %v", err)
	}
	var idx indexDoc
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		t.Fatalf("decode index: %v", err)
	}
	return idx.Names
}

func TestSystemCrashBetweenWrites(t *testing.T) {
	testenv.StartSecretService(t)
	b := openSystem(t, 30*time.Second)
	svc := b.opts.Service
	ctx := testCtx(t)

	// A crash after the item and before the index: the item is there, the
	// index does not name it.
	orphan, err := json.Marshal(docOf(sample("orphan", map[string]string{"k": "old"})))
	if err != nil {
		t.Fatal(err)
	}
	if err := gokeyring.Set(svc, "orphan", string(orphan)); err != nil {
		t.Fatalf("write orphan item: %v", err)
	}
	// A crash after the index and before the item delete is the same
	// state from the other side; so is an index naming an item that was
	// never written.
	real := sample("real", map[string]string{"k": "v"})
	realDoc, _ := json.Marshal(docOf(real))
	if err := gokeyring.Set(svc, "real", string(realDoc)); err != nil {
		t.Fatal(err)
	}
	if err := gokeyring.Set(svc, "damaged", "not json"); err != nil {
		t.Fatal(err)
	}
	idx, _ := json.Marshal(indexDoc{Version: 1, Names: []string{"damaged", "ghost", "real"}})
	if err := gokeyring.Set(svc, indexUser, string(idx)); err != nil {
		t.Fatal(err)
	}

	recs, err := b.Unlock(ctx, nil)
	if err != nil {
		t.Fatalf("Unlock with a ghost in the index: %v", err)
	}
	if len(recs) != 1 || recs[0].Name != "real" {
		t.Fatalf("Unlock returned %d records, want only real", len(recs))
	}
	checkSame(t, recs[0], real)

	// The next write drops the ghost and keeps the damaged item named.
	if err := b.Put(ctx, sample("new", map[string]string{"k": "v"})); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, want := readIndexNames(t, svc), []string{"damaged", "new", "real"}
	if !slices.Equal(got, want) {
		t.Fatalf("index after Put = %v, want %v", got, want)
	}

	// A Put of the orphan's name replaces it and indexes it.
	fresh := sample("orphan", map[string]string{"k": "new"})
	if err := b.Put(ctx, fresh); err != nil {
		t.Fatalf("Put(orphan): %v", err)
	}
	recsByName := unlockAll(t, b, nil)
	if recsByName["orphan"] == nil {
		t.Fatalf("orphan not visible after Put")
	}
	checkSame(t, recsByName["orphan"], fresh)

	// A Delete removes an item the index does not name.
	if err := gokeyring.Set(svc, "stray", string(orphan)); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "stray"); err != nil {
		t.Fatalf("Delete(stray): %v", err)
	}
	if _, err := gokeyring.Get(svc, "stray"); !errors.Is(err, gokeyring.ErrNotFound) {
		t.Fatalf("stray item after Delete: Get = %v, want not found", err)
	}
}

func TestOpenAuto(t *testing.T) {
	file := t.TempDir() + "/c.age"
	t.Run("keyring", func(t *testing.T) {
		testenv.StartSecretService(t)
		b, reason, err := Open("auto", Options{File: file, Service: "credd-test-auto"})
		if err != nil || b.Kind() != "system" {
			t.Fatalf("Open(auto) with a keyring = %v, %v; want system", b, err)
		}
		if !strings.Contains(reason, "answered") {
			t.Errorf("reason %q does not say the keyring answered", reason)
		}
	})
	t.Run("no service", func(t *testing.T) {
		testenv.SessionBus(t)
		b, reason, err := Open("auto", Options{File: file, Timeout: 30 * time.Second})
		if err != nil || b.Kind() != "file" {
			t.Fatalf("Open(auto) without a keyring = %v, %v; want file", b, err)
		}
		if !strings.Contains(reason, "did not answer") || !strings.Contains(reason, file) {
			t.Errorf("reason %q does not say why the file was chosen", reason)
		}
	})
	t.Run("no bus", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+t.TempDir()+"/none")
		b, _, err := Open("auto", Options{File: file, Timeout: 30 * time.Second})
		if err != nil || b.Kind() != "file" {
			t.Fatalf("Open(auto) without a bus = %v, %v; want file", b, err)
		}
	})
	if _, _, err := Open("vault", Options{}); err == nil {
		t.Errorf("Open(vault) succeeded")
	}
}
