package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/airtrain-ai/credd/client"
	"github.com/airtrain-ai/credd/keyring"
	"github.com/airtrain-ai/credd/secret"
)

// keyringCallTimeout bounds one go-keyring call, which has no deadline of
// its own.
const keyringCallTimeout = 30 * time.Second

// keyring measures, on a private gnome-keyring, a go-keyring read of the
// credential credd stored there, and the time credd takes to unlock
// UnlockCredentials credentials from it.
func (r *run) keyring() error {
	if !r.cfg.Keyring {
		return &errSkip{"turned off with --keyring=false"}
	}
	ss, err := startSecretService(filepath.Join(r.root, "ss"))
	if err != nil {
		return err
	}
	defer ss.stop()
	env := []string{"DBUS_SESSION_BUS_ADDRESS=" + ss.addr}
	d, err := startCredd(r.cfg.Credd, filepath.Join(r.root, "sys"), "system", env)
	if err != nil {
		return err
	}
	defer d.stop()
	c := d.client()
	defer c.Close()

	ctx, cancel := callCtx()
	defer cancel()
	if _, err := c.Unlock(ctx, nil, 0); err != nil {
		return fmt.Errorf("unlock credd on gnome-keyring: %w", err)
	}
	if err := setGeneric(c, benchName); err != nil {
		return err
	}

	// go-keyring connects to the session bus named by the environment,
	// once per process.
	if err := os.Setenv("DBUS_SESSION_BUS_ADDRESS", ss.addr); err != nil {
		return fmt.Errorf("point go-keyring at the private bus: %w", err)
	}
	if err := r.keyringReads(); err != nil {
		return err
	}
	u, err := r.keyringUnlock(c)
	if err != nil {
		return err
	}
	r.res.Unlock = u
	return nil
}

// keyringReads times go-keyring reads at one and at eight clients, with
// KeyringCalls calls in all.
func (r *run) keyringReads() error {
	half := max(r.cfg.KeyringCalls/2, 10)
	open := func() (func() error, func(), error) {
		return readKeyring, func() {}, nil
	}
	for _, n := range []int{1, 8} {
		warm := max(5/n, 1)
		lim := Limits{Warmup: warm, MaxOps: max(half-warm*n, n), Duration: r.cfg.Socket.Duration}
		row, err := measure(SecKeyring, "go-keyring read, gnome-keyring", n, lim, open)
		if err != nil {
			return err
		}
		r.add(row)
	}
	return nil
}

// readKeyring reads the benchmark credential's item the way credd's
// system backend stored it, under a deadline.
func readKeyring() error {
	done := make(chan error, 1)
	go func() {
		v, err := gokeyring.Get(keyring.DefaultService, benchName)
		if err == nil && v == "" {
			err = fmt.Errorf("empty item")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("go-keyring read: %w", err)
		}
		return nil
	case <-time.After(keyringCallTimeout):
		return fmt.Errorf("go-keyring read: no answer within %v", keyringCallTimeout)
	}
}

// keyringUnlock stores credentials up to UnlockCredentials, then locks
// credd and times its unlock UnlockRuns times.
func (r *run) keyringUnlock(c *client.Client) (*Unlock, error) {
	n := max(r.cfg.UnlockCredentials, 1)
	r.progress("storing %d credentials in gnome-keyring", n)
	for i := 1; i < n; i++ {
		if err := setGeneric(c, "cred-"+strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	u := &Unlock{Credentials: n}
	for range max(r.cfg.UnlockRuns, 1) {
		ctx, cancel := callCtx()
		if err := c.Lock(ctx); err != nil {
			cancel()
			return nil, fmt.Errorf("lock credd: %w", err)
		}
		t0 := time.Now()
		res, err := c.Unlock(ctx, nil, 0)
		took := time.Since(t0)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("unlock credd from gnome-keyring: %w", err)
		}
		if res.Credentials != n {
			return nil, fmt.Errorf("unlock credd from gnome-keyring: %d credentials, want %d",
				res.Credentials, n)
		}
		u.RunsMS = append(u.RunsMS, float64(took.Microseconds())/1e3)
		r.progress("unlocked %d credentials from gnome-keyring in %v", n, took.Round(time.Millisecond))
	}
	sorted := slices.Clone(u.RunsMS)
	slices.Sort(sorted)
	u.P50MS = sorted[(len(sorted)-1)/2]
	return u, nil
}

// setGeneric stores a generic credential with a random value of valueLen.
func setGeneric(c *client.Client, name string) error {
	ctx, cancel := callCtx()
	defer cancel()
	val := secret.FromString(randomText(valueLen))
	defer val.Wipe()
	_, err := c.Set(ctx, name, "generic", map[string]*secret.Secret{"value": val},
		client.SetOptions{})
	if err != nil {
		return fmt.Errorf("store credential %s: %w", name, err)
	}
	return nil
}
