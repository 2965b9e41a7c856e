package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/airtrain-ai/credd/audit"
	"github.com/airtrain-ai/credd/catalog"
	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/secret"
)

// serve runs a Server on the file backend in a temporary folder, unlocked,
// and returns it with a client of it.
func serve(t *testing.T) (*Server, *client.Client) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	be, _, err := keyring.Open("file", keyring.Options{File: filepath.Join(dir, "credentials.age"), WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	al, err := audit.Open(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Backend: be, Audit: al, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	c := client.New(client.Options{Socket: sock})
	t.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		al.Close()
	})
	if _, err := c.Unlock(ctxT(t), secret.FromString("a passphrase for this test"), 0); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func set(t *testing.T, c *client.Client, name, typ string, fields map[string]string) {
	t.Helper()
	m := map[string]*secret.Secret{}
	for k, v := range fields {
		m[k] = secret.FromString(v)
	}
	if _, err := c.Set(ctxT(t), name, typ, m, client.SetOptions{}); err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
}

// getValue reads the whole credential and returns its main value and the
// variable it goes under.
func getValue(t *testing.T, c *client.Client, name string) (value, env string) {
	t.Helper()
	cred, err := c.Get(ctxT(t), name)
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	defer cred.Wipe()
	return string(cred.Secret().Reveal()), cred.EnvNames[cred.Main]
}

// entry returns the members rendered for name, or nil.
func entry(s *Server, name string) *secret.Secret {
	s.render.mu.Lock()
	defer s.render.mu.Unlock()
	if en := s.render.entries[name]; en != nil {
		return en.members
	}
	return nil
}

// TestRenderedGetFollowsTheStore checks that a get answered from a rendered
// reply always shows what the store holds now, and that a rendered reply
// is wiped as soon as its record leaves memory.
func TestRenderedGetFollowsTheStore(t *testing.T) {
	s, c := serve(t)
	set(t, c, "tok", "generic", map[string]string{"value": "first-value"})
	if v, env := getValue(t, c, "tok"); v != "first-value" || env != "TOK" {
		t.Fatalf("get: %q under %s", v, env)
	}
	first := entry(s, "tok")
	if first.Len() == 0 {
		t.Fatal("a get rendered nothing")
	}

	set(t, c, "tok", "generic", map[string]string{"value": "second-value"})
	if first.Len() != 0 {
		t.Error("set left the old rendered reply unwiped")
	}
	if v, _ := getValue(t, c, "tok"); v != "second-value" {
		t.Fatalf("get after set: %q", v)
	}

	// A new type registry changes the variable names; the reply follows.
	reg, err := catalog.NewRegistry([]catalog.UserType{{Name: "acme",
		Fields: []catalog.UserField{{Name: "key", Secret: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetRules(&Rules{Types: reg})
	set(t, c, "a", "acme", map[string]string{"key": "acme-value"})
	if _, env := getValue(t, c, "a"); env != "KEY" {
		t.Fatalf("acme key under %q", env)
	}
	renamed, err := catalog.NewRegistry([]catalog.UserType{{Name: "acme",
		Fields: []catalog.UserField{{Name: "key", Secret: true, Env: "ACME_KEY"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetRules(&Rules{Types: renamed})
	if v, env := getValue(t, c, "a"); v != "acme-value" || env != "ACME_KEY" {
		t.Fatalf("after a reload: %q under %q", v, env)
	}

	held := entry(s, "tok")
	if err := c.Delete(ctxT(t), "tok"); err != nil {
		t.Fatal(err)
	}
	if held.Len() != 0 || entry(s, "tok") != nil {
		t.Error("delete left the rendered reply in memory")
	}
	if _, err := c.Get(ctxT(t), "tok"); err == nil {
		t.Error("get after delete succeeded")
	}

	held = entry(s, "a")
	if err := c.Lock(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if held.Len() != 0 || entry(s, "a") != nil {
		t.Error("lock left a rendered reply in memory")
	}
	if _, err := c.Get(ctxT(t), "a"); err == nil {
		t.Error("get after lock succeeded")
	}
}
