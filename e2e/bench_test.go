package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/airtrain-ai/credd/bench"
	"github.com/airtrain-ai/credd/internal/daemontest"
	"github.com/airtrain-ai/credd/internal/testenv"
)

// TestCredbenchQuick runs credbench --quick --json against freshly built
// binaries and checks that every section is there with sane numbers. It
// asserts nothing about speed.
func TestCredbenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the benchmark smoke test in -short mode")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/credd", "./cmd/credctl",
		"./cmd/credbench")
	build.Dir = daemontest.Root()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "credbench"), "--quick", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("credbench --quick --json: %v\n%s", err, stderr.String())
	}
	var res bench.Results
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("decode credbench's JSON: %v\n%s", err, stdout.String())
	}

	skipped := map[string]string{}
	for _, s := range res.Skipped {
		skipped[s.Section] = s.Reason
	}
	// Sections that may be skipped on a machine without the program;
	// under CI everything is installed.
	optional := map[string]bool{bench.SecSSHAgent: true, bench.SecKeyring: true}
	for sec, why := range skipped {
		if !optional[sec] {
			t.Errorf("section %s skipped: %s", sec, why)
		} else if testenv.InCI() {
			t.Errorf("section %s skipped under CI=true: %s", sec, why)
		}
	}

	want := map[string][]int{
		bench.SecCredd:       {1, 8, 64},
		bench.SecEcho:        {1, 8, 64},
		bench.SecEchoInproc:  {1, 8, 64},
		bench.SecSSHAgent:    {1, 8, 64},
		bench.SecKeyring:     {1, 8},
		bench.SecCredctlGet:  {1},
		bench.SecCredctlExec: {1},
		bench.SecTrue:        {1},
	}
	for sec, levels := range want {
		if _, ok := skipped[sec]; ok {
			continue
		}
		for _, n := range levels {
			row := findRow(res.Rows, sec, n)
			if row == nil {
				t.Errorf("no %s row at %d clients", sec, n)
				continue
			}
			if row.Ops <= 0 || row.P50US <= 0 || row.P50US > row.P99US || row.OpsPerSec <= 0 {
				t.Errorf("%s at %d clients: ops %d, p50 %.1f µs, p99 %.1f µs, %.0f ops/s",
					sec, n, row.Ops, row.P50US, row.P99US, row.OpsPerSec)
			}
		}
	}

	if res.ReplyBytes <= res.ValueBytes || res.ValueBytes <= 0 {
		t.Errorf("reply %d bytes for a %d-byte value", res.ReplyBytes, res.ValueBytes)
	}
	if len(res.Memory) != 2 {
		t.Errorf("memory rows: %+v, want 2 (10 and 100 credentials)", res.Memory)
	}
	for _, m := range res.Memory {
		if m.LockedKiB <= 0 || m.UnlockedKiB <= 0 {
			t.Errorf("memory with %d credentials: %+v", m.Credentials, m)
		}
	}
	if _, ok := skipped[bench.SecKeyring]; !ok {
		u := res.Unlock
		if u == nil || u.Credentials != 10 || len(u.RunsMS) != 1 || u.P50MS <= 0 {
			t.Errorf("keyring unlock: %+v", u)
		}
	}
	if len(res.Ratios) < 2 {
		t.Errorf("ratios: %+v, want at least the two floor ratios", res.Ratios)
	}
	for _, r := range res.Ratios {
		if !(r.Value > 0) {
			t.Errorf("ratio %q = %v", r.Name, r.Value)
		}
	}
	if res.Machine.CPUs <= 0 || res.Date.IsZero() {
		t.Errorf("machine %+v, date %v", res.Machine, res.Date)
	}
}

func findRow(rows []bench.Row, section string, clients int) *bench.Row {
	for i := range rows {
		if rows[i].Section == section && rows[i].Clients == clients {
			return &rows[i]
		}
	}
	return nil
}
