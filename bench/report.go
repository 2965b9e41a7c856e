package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Targets from the design notes.
const (
	targetFloorLatency    = 1.5
	targetFloorThroughput = 0.8
	targetKeyring         = 100
)

// ratios compares the rows against the design's targets. A ratio whose
// rows are missing (a skipped section) is left out.
func (r *run) ratios() {
	add := func(name string, v float64, target string, met bool) {
		r.res.Ratios = append(r.res.Ratios, Ratio{Name: name, Value: v, Target: target, Met: met})
	}
	if len(r.cfg.Clients) == 0 {
		return
	}
	lo, hi := slices.Min(r.cfg.Clients), slices.Max(r.cfg.Clients)
	if c, e := r.row(SecCredd, lo), r.row(SecEcho, lo); c != nil && e != nil && e.P50US > 0 {
		v := c.P50US / e.P50US
		add(fmt.Sprintf("credd/floor p50 latency, %d client(s)", lo), v,
			fmt.Sprintf("<= %.1f", targetFloorLatency), v <= targetFloorLatency)
	}
	if c, e := r.row(SecCredd, hi), r.row(SecEcho, hi); c != nil && e != nil && e.OpsPerSec > 0 {
		v := c.OpsPerSec / e.OpsPerSec
		add(fmt.Sprintf("credd/floor throughput, %d clients", hi), v,
			fmt.Sprintf(">= %.1f", targetFloorThroughput), v >= targetFloorThroughput)
	}
	for _, n := range r.cfg.Clients {
		c, s := r.row(SecCredd, n), r.row(SecSSHAgent, n)
		if c == nil || s == nil || c.P50US == 0 || c.OpsPerSec == 0 {
			continue
		}
		v := s.P50US / c.P50US
		add(fmt.Sprintf("ssh-agent/credd p50 latency, %d client(s)", n), v, "> 1", v > 1)
		v = s.OpsPerSec / c.OpsPerSec
		add(fmt.Sprintf("ssh-agent/credd throughput, %d client(s)", n), v, "< 1", v < 1)
	}
	if c, k := r.row(SecCredd, 1), r.row(SecKeyring, 1); c != nil && k != nil && c.P50US > 0 {
		v := k.P50US / c.P50US
		add("keyring/credd p50 latency, 1 client", v,
			fmt.Sprintf("> %d", targetKeyring), v > targetKeyring)
	}
}

// WriteText writes res as a human-readable report.
func WriteText(w io.Writer, res *Results) error {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "credbench %s on %d CPUs (%s), Linux %s, %s\n",
		res.Date.Format("2006-01-02 15:04 MST"), m.CPUs, m.CPU, m.Kernel, m.Go)
	fmt.Fprintf(&b, "credential: generic, %d-byte value; get reply line %d bytes\n\n",
		res.ValueBytes, res.ReplyBytes)

	fmt.Fprintf(&b, "%-34s %7s %8s %10s %10s %10s\n",
		"what", "clients", "ops", "p50 µs", "p99 µs", "ops/s")
	for _, row := range res.Rows {
		fmt.Fprintf(&b, "%-34s %7d %8d %10.1f %10.1f %10.0f\n",
			row.What, row.Clients, row.Ops, row.P50US, row.P99US, row.OpsPerSec)
	}

	if len(res.Ratios) > 0 {
		fmt.Fprintf(&b, "\n%-44s %9s %8s  %s\n", "ratio", "value", "target", "met")
		for _, x := range res.Ratios {
			met := "yes"
			if !x.Met {
				met = "NO"
			}
			fmt.Fprintf(&b, "%-44s %9.2f %8s  %s\n", x.Name, x.Value, x.Target, met)
		}
	}

	if len(res.Memory) > 0 {
		fmt.Fprintf(&b, "\n%-34s %12s %14s\n", "credd resident memory (VmRSS)", "locked KiB",
			"unlocked KiB")
		for _, x := range res.Memory {
			fmt.Fprintf(&b, "%-34s %12d %14d\n",
				fmt.Sprintf("%d credentials", x.Credentials), x.LockedKiB, x.UnlockedKiB)
		}
	}
	if u := res.Unlock; u != nil {
		runs := make([]string, len(u.RunsMS))
		for i, v := range u.RunsMS {
			runs[i] = fmt.Sprintf("%.0f", v)
		}
		fmt.Fprintf(&b, "\nunlock of %d credentials from gnome-keyring: p50 %.0f ms (runs: %s ms)\n",
			u.Credentials, u.P50MS, strings.Join(runs, ", "))
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "\nskipped %s: %s", s.Section, s.Reason)
	}
	if len(res.Skipped) > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
