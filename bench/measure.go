package bench

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Row is one measured line of the report: an operation at a number of
// concurrent clients.
type Row struct {
	// Section names what was measured, such as "credd_get".
	Section string `json:"section"`
	// What describes the row in words.
	What string `json:"what"`
	// Clients is the number of concurrent clients, each with its own
	// connection.
	Clients int `json:"clients"`
	// Ops is how many operations were timed, warm-up excluded.
	Ops int `json:"ops"`
	// P50US and P99US are latency percentiles in microseconds.
	P50US float64 `json:"p50_us"`
	P99US float64 `json:"p99_us"`
	// OpsPerSec is the throughput over the timed window, all clients
	// together.
	OpsPerSec float64 `json:"ops_per_s"`
}

// Limits bound one measurement by count and by time; whichever ends first
// stops it.
type Limits struct {
	// Warmup is how many operations each client runs before timing.
	Warmup int
	// MaxOps is the most timed operations, all clients together.
	MaxOps int
	// Duration is the longest timed window.
	Duration time.Duration
}

// opener opens one client (its own connection) and returns the operation to
// time and a function that closes the client.
type opener func() (op func() error, closeFn func(), err error)

// measure runs clients concurrent clients, each opened by open, warms each
// up, and then times operations until lim ends the window.
func measure(section, what string, clients int, lim Limits, open opener) (Row, error) {
	row := Row{Section: section, What: what, Clients: clients}
	ops := make([]func() error, clients)
	for i := range clients {
		op, closeFn, err := open()
		if err != nil {
			return row, fmt.Errorf("%s: open client %d: %w", section, i+1, err)
		}
		defer closeFn()
		ops[i] = op
	}

	// Every client gets an equal share of the operations, at least one.
	perClient := max(lim.MaxOps/clients, 1)
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var ready, done sync.WaitGroup
	startGate := make(chan struct{})
	var deadline time.Time
	ready.Add(clients)
	done.Add(clients)
	for i := range clients {
		go func() {
			defer done.Done()
			for range lim.Warmup {
				if err := ops[i](); err != nil {
					errs[i] = fmt.Errorf("warm-up: %w", err)
					break
				}
			}
			ready.Done()
			<-startGate
			if errs[i] != nil {
				return
			}
			l := make([]time.Duration, 0, min(perClient, 1<<16))
			for len(l) < perClient {
				t0 := time.Now()
				if err := ops[i](); err != nil {
					errs[i] = err
					return
				}
				t1 := time.Now()
				l = append(l, t1.Sub(t0))
				if t1.After(deadline) {
					break
				}
			}
			lat[i] = l
		}()
	}
	ready.Wait()
	start := time.Now()
	deadline = start.Add(lim.Duration)
	close(startGate)
	done.Wait()
	elapsed := time.Since(start)

	for i, err := range errs {
		if err != nil {
			return row, fmt.Errorf("%s: client %d of %d: %w", section, i+1, clients, err)
		}
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	fill(&row, all, elapsed)
	return row, nil
}

// fill sets row's count, percentiles and throughput from latencies taken
// over elapsed.
func fill(row *Row, all []time.Duration, elapsed time.Duration) {
	row.Ops = len(all)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	row.P50US = micros(percentile(all, 0.50))
	row.P99US = micros(percentile(all, 0.99))
	if elapsed > 0 {
		row.OpsPerSec = float64(len(all)) / elapsed.Seconds()
	}
}

// percentile returns the q-quantile of sorted, by the nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// sequential times op run one after another, after warm-up runs: for
// whole processes, where one run at a time is what a script pays.
func sequential(section, what string, lim Limits, op func() error) (Row, error) {
	row := Row{Section: section, What: what, Clients: 1}
	for range lim.Warmup {
		if err := op(); err != nil {
			return row, fmt.Errorf("%s: warm-up: %w", section, err)
		}
	}
	var all []time.Duration
	start := time.Now()
	deadline := start.Add(lim.Duration)
	for len(all) < max(lim.MaxOps, 1) {
		t0 := time.Now()
		if err := op(); err != nil {
			return row, fmt.Errorf("%s: %w", section, err)
		}
		t1 := time.Now()
		all = append(all, t1.Sub(t0))
		if t1.After(deadline) {
			break
		}
	}
	fill(&row, all, time.Since(start))
	return row, nil
}
