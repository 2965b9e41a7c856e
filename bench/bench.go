// Package bench measures credd against the floors and the alternatives a
// program has, side by side in one run on one machine:
//
//   - credd's get of a small generic credential, audit log on, over one
//     connection per client;
//   - the floor: a minimal newline-delimited JSON server on a Unix socket
//     answering a reply of the same size, in its own process, and the same
//     server inside the benchmark's process (the protocol code alone);
//   - OpenSSH's ssh-agent listing one key;
//   - a read of the same credential straight from the OS keyring through
//     go-keyring, on a private gnome-keyring;
//   - credctl get and credctl exec as whole processes, beside plain true;
//   - credd's resident memory with many credentials unlocked, and the time
//     to unlock credentials from gnome-keyring.
//
// Every loop is bounded by a count and by time, and everything listens
// only on Unix sockets in a private temporary folder. The values stored
// are random and never printed.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Config says what to measure and how long.
type Config struct {
	// Credd and Credctl are the binaries to run.
	Credd, Credctl string
	// Self is the credbench executable, re-run with --serve-echo for the
	// echo server's own process.
	Self string
	// Clients lists the concurrency levels for socket measurements.
	Clients []int
	// Socket bounds each socket measurement.
	Socket Limits
	// Procs bounds each whole-process measurement.
	Procs Limits
	// Keyring runs the sections that need a private gnome-keyring.
	Keyring bool
	// KeyringCalls bounds the go-keyring reads, warm-up included;
	// gnome-keyring slows down with every session it serves.
	KeyringCalls int
	// MemoryCounts lists the numbers of credentials to measure credd's
	// memory with.
	MemoryCounts []int
	// UnlockCredentials and UnlockRuns shape the gnome-keyring unlock
	// measurement.
	UnlockCredentials int
	UnlockRuns        int
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

// Results is everything one run measured.
type Results struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	// ReplyBytes is the size of credd's get reply line, which the echo
	// server matches.
	ReplyBytes int `json:"reply_bytes"`
	// ValueBytes is the size of the credential's value.
	ValueBytes int     `json:"value_bytes"`
	Rows       []Row   `json:"rows"`
	Ratios     []Ratio `json:"ratios"`
	// Memory is credd's resident memory by number of credentials.
	Memory []Memory `json:"memory"`
	// Unlock is the time to unlock credentials from gnome-keyring; nil
	// when skipped.
	Unlock *Unlock `json:"unlock,omitempty"`
	// Skipped names the sections that did not run, and why.
	Skipped []Skip `json:"skipped,omitempty"`
}

// Machine describes where the run took place.
type Machine struct {
	CPUs   int    `json:"cpus"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

// Ratio compares two rows against a target from the design notes.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
}

// Memory is credd's resident memory while locked and with Credentials
// unlocked.
type Memory struct {
	Credentials int `json:"credentials"`
	LockedKiB   int `json:"locked_kib"`
	UnlockedKiB int `json:"unlocked_kib"`
}

// Unlock is the time credd took to unlock Credentials from gnome-keyring,
// once per run.
type Unlock struct {
	Credentials int       `json:"credentials"`
	RunsMS      []float64 `json:"runs_ms"`
	P50MS       float64   `json:"p50_ms"`
}

// Skip names a section that did not run and why.
type Skip struct {
	Section string `json:"section"`
	Reason  string `json:"reason"`
}

// Sections produced by a run.
const (
	SecCredd        = "credd_get"
	SecEcho         = "echo_process"
	SecEchoInproc   = "echo_inprocess"
	SecSSHAgent     = "ssh_agent_list"
	SecKeyring      = "keyring_get"
	SecCredctlGet   = "credctl_get"
	SecCredctlExec  = "credctl_exec"
	SecTrue         = "true"
	SecMemory       = "memory"
	SecKeyringUnlck = "keyring_unlock"
)

// benchName is the credential every get reads.
const benchName = "bench"

// valueLen is the size of its value, like a typical API key.
const valueLen = 40

// run holds one run's state.
type run struct {
	cfg  Config
	root string
	res  *Results
	ctx  context.Context
}

// Run measures everything cfg asks for. Sections that cannot run on this
// machine are listed in Results.Skipped; any other failure stops the run.
func Run(cfg Config) (*Results, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	// Short paths: a Unix socket path is limited to about 107 bytes.
	root, err := os.MkdirTemp("", "credbench-")
	if err != nil {
		return nil, fmt.Errorf("create temporary folder: %w", err)
	}
	defer os.RemoveAll(root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	r := &run{cfg: cfg, root: root, ctx: ctx,
		res: &Results{Date: time.Now().UTC().Truncate(time.Second), Machine: machine(),
			ValueBytes: valueLen}}
	steps := []struct {
		section string
		fn      func() error
	}{
		{SecCredd, r.sockets},
		{SecKeyring, r.keyring},
		{SecMemory, r.memory},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			if why, ok := skipped(err); ok {
				r.skip(s.section, why)
				continue
			}
			return nil, err
		}
	}
	r.ratios()
	return r.res, nil
}

func (r *run) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "credbench: "+format+"\n", args...)
}

func (r *run) skip(section, why string) {
	r.progress("skipping %s: %s", section, why)
	r.res.Skipped = append(r.res.Skipped, Skip{Section: section, Reason: why})
}

func (r *run) add(row Row) {
	r.progress("%-15s %3d clients  p50 %9.1f µs  p99 %9.1f µs  %9.0f ops/s",
		row.Section, row.Clients, row.P50US, row.P99US, row.OpsPerSec)
	r.res.Rows = append(r.res.Rows, row)
}

// row returns the row of section at clients, or nil.
func (r *run) row(section string, clients int) *Row {
	for i := range r.res.Rows {
		if r.res.Rows[i].Section == section && r.res.Rows[i].Clients == clients {
			return &r.res.Rows[i]
		}
	}
	return nil
}

// randomText returns n random URL-safe characters, for values and
// passphrases that exist only for the run.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
