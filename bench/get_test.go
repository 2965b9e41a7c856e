package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/daemon"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/secret"
)

// startServer runs a daemon.Server in this process on the file backend,
// unlocked and holding the benchmark credential, and returns its socket.
func startServer(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	be, _, err := keyring.Open("file", keyring.Options{
		File: filepath.Join(dir, "credentials.age"), WorkFactor: 10})
	if err != nil {
		tb.Fatal(err)
	}
	al, err := audit.Open(filepath.Join(dir, "audit.log"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { al.Close() })
	srv, err := daemon.New(daemon.Config{Backend: be, Audit: al, Log: zerolog.Nop()})
	if err != nil {
		tb.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := listenUnix(sock)
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() {
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})

	c := client.New(client.Options{Socket: sock, MaxIdle: 1})
	defer c.Close()
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := c.Unlock(ctx, secret.FromString(randomText(32)), 0); err != nil {
		tb.Fatalf("unlock: %v", err)
	}
	if err := setGeneric(c, benchName); err != nil {
		tb.Fatal(err)
	}
	return sock
}

// BenchmarkDaemonGet times a get against an in-process daemon.Server with
// its audit log on, one connection per goroutine; run it with
// -cpuprofile to see where credd's get path spends its time.
func BenchmarkDaemonGet(b *testing.B) { benchDaemonGet(b, 1) }

// BenchmarkDaemonGetMany is BenchmarkDaemonGet with 32 connections per
// CPU, where the grouped audit writes and the scheduler show.
func BenchmarkDaemonGetMany(b *testing.B) { benchDaemonGet(b, 32) }

func benchDaemonGet(b *testing.B, perCPU int) {
	sock := startServer(b)
	b.SetParallelism(perCPU)
	open := (&run{ctx: context.Background()}).getOpener(sock)
	b.RunParallel(func(pb *testing.PB) {
		op, closeFn, err := open()
		if err != nil {
			b.Error(err)
			return
		}
		defer closeFn()
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestDaemonGet checks the in-process server the benchmark uses answers.
func TestDaemonGet(t *testing.T) {
	sock := startServer(t)
	op, closeFn, err := (&run{ctx: context.Background()}).getOpener(sock)()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	for range 10 {
		if err := op(); err != nil {
			t.Fatalf("get: %v", err)
		}
	}
}
