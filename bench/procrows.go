package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/airtrain-ai/credd/secret"
)

// processes times credctl get and credctl exec as whole processes against
// d, and plain true beside them.
func (r *run) processes(d *creddProc) error {
	trueBin, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("find true: %w", err)
	}
	rows := []struct {
		section, what string
		argv          []string
	}{
		{SecCredctlGet, "credctl get, whole process", []string{r.cfg.Credctl, "get", benchName}},
		{SecCredctlExec, "credctl exec --cred NAME -- true",
			[]string{r.cfg.Credctl, "exec", "--cred", benchName, "--", trueBin}},
		{SecTrue, "true, whole process", []string{trueBin}},
	}
	for _, x := range rows {
		op := func() error { return runQuiet(x.argv, d.env, x.section == SecCredctlGet) }
		row, err := sequential(x.section, x.what, r.cfg.Procs, op)
		if err != nil {
			return err
		}
		r.add(row)
	}
	return nil
}

// runQuiet runs argv and fails when it exits non-zero or, with wantOut,
// prints nothing. Its output is wiped, never shown: it is a value.
func runQuiet(argv, env []string, wantOut bool) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	got := out.Len()
	secret.Wipe(out.Bytes())
	if err != nil {
		// credctl's stderr never holds a value.
		return fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, bytes.TrimSpace(errb.Bytes()))
	}
	if wantOut && got == 0 {
		return fmt.Errorf("%s printed nothing", filepath.Base(argv[0]))
	}
	return nil
}

// memory measures credd's resident memory locked and with each count of
// credentials unlocked, one fresh credd per count.
func (r *run) memory() error {
	for _, n := range r.cfg.MemoryCounts {
		m, err := r.memoryOne(n)
		if err != nil {
			return err
		}
		r.progress("credd with %d credentials: %d KiB locked, %d KiB unlocked",
			n, m.LockedKiB, m.UnlockedKiB)
		r.res.Memory = append(r.res.Memory, m)
	}
	return nil
}

func (r *run) memoryOne(n int) (Memory, error) {
	m := Memory{Credentials: n}
	dir := filepath.Join(r.root, fmt.Sprintf("mem%d", n))
	file := filepath.Join(dir, "store", "credentials.age")
	pass := secret.FromString(randomText(32))
	defer pass.Wipe()
	if err := writeStore(file, pass, n); err != nil {
		return m, err
	}
	d, err := startCredd(r.cfg.Credd, dir, "file", nil, "--file", file)
	if err != nil {
		return m, err
	}
	defer d.stop()
	if m.LockedKiB, err = d.rssKiB(); err != nil {
		return m, err
	}

	c := d.client()
	defer c.Close()
	ctx, cancel := callCtx()
	defer cancel()
	res, err := c.Unlock(ctx, pass, 0)
	if err != nil {
		return m, fmt.Errorf("unlock credd with %d credentials: %w", n, err)
	}
	if res.Credentials != n {
		return m, fmt.Errorf("unlock credd: %d credentials, want %d", res.Credentials, n)
	}
	v, err := c.Value(ctx, storeName(n-1), "")
	if err != nil {
		return m, fmt.Errorf("read a credential after unlock: %w", err)
	}
	v.Wipe()
	m.UnlockedKiB, err = d.rssKiB()
	return m, err
}

// storeWorkFactor is the scrypt work factor of the store files written for
// the memory measurement. Unlock time is not measured from them, and a low
// factor keeps writing 10,000 credentials fast.
const storeWorkFactor = 10

func storeName(i int) string { return fmt.Sprintf("cred-%05d", i) }

// writeStore writes, in one pass, an encrypted file in credd's file
// backend format (an age file sealed with an scrypt recipient, holding a
// JSON document that lists the credentials) with n generic credentials of
// random values. credd's own reader then checks it at unlock.
func writeStore(path string, pass *secret.Secret, n int) error {
	type record struct {
		Name    string            `json:"name"`
		Type    string            `json:"type"`
		Fields  map[string]string `json:"fields"`
		Created time.Time         `json:"created"`
		Updated time.Time         `json:"updated"`
	}
	now := time.Now().UTC()
	doc := struct {
		Version     int      `json:"version"`
		Credentials []record `json:"credentials"`
	}{Version: 1}
	for i := range n {
		doc.Credentials = append(doc.Credentials, record{Name: storeName(i), Type: "generic",
			Fields: map[string]string{"value": randomText(valueLen)}, Created: now, Updated: now})
	}
	plain, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode the store: %w", err)
	}
	defer secret.Wipe(plain)

	rcpt, err := age.NewScryptRecipient(string(pass.Reveal()))
	if err != nil {
		return fmt.Errorf("encrypt the store: %w", err)
	}
	rcpt.SetWorkFactor(storeWorkFactor)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the store folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create the store: %w", err)
	}
	defer f.Close()
	w, err := age.Encrypt(f, rcpt)
	if err != nil {
		return fmt.Errorf("encrypt the store: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return fmt.Errorf("write the store: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write the store: %w", err)
	}
	return f.Close()
}
