package rpcping

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func TestNewTarget(t *testing.T) {
	for _, c := range []struct {
		binary, host, key string
	}{
		{"nova-compute", "compute-1", "compute.compute-1"},
		{"nova-conductor", "ctl-1", "conductor.ctl-1"},
		{"nova-scheduler", "ctl-1", "scheduler.ctl-1"},
		{"nova-api", "ctl-1", ""},
		{"nova-consoleauth", "ctl-1", ""},
		{"nova-compute", "", ""},
	} {
		tg, ok := NewTarget(c.binary, c.host)
		if ok != (c.key != "") || (ok && (tg.RoutingKey() != c.key || tg.Binary != c.binary || tg.Host != c.host)) {
			t.Errorf("NewTarget(%q, %q) = %+v %v, want key %q", c.binary, c.host, tg, ok, c.key)
		}
	}
	ts := normalise([]Target{{"nova-scheduler", "b", "scheduler"}, {"nova-compute", "b", "compute"}, {"nova-compute", "a", "compute"}, {"nova-compute", "b", "compute"}})
	want := []Target{{"nova-compute", "a", "compute"}, {"nova-compute", "b", "compute"}, {"nova-scheduler", "b", "scheduler"}}
	if !slices.Equal(ts, want) {
		t.Errorf("normalise = %v, want %v", ts, want)
	}
}

func targetsN(n int) []Target {
	ts := make([]Target, n)
	for i := range ts {
		ts[i], _ = NewTarget("nova-compute", fmt.Sprintf("c%02d", i))
	}
	return ts
}

// fakeSource is a Source whose pings call ping instead of a broker.
func fakeSource(t *testing.T, cfg Config, ping func(ctx context.Context, tg Target) sources.Probe) *Source {
	t.Helper()
	cfg.TransportURL = "rabbit://u:p@127.0.0.1:1/v"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.broker = false
	s.ping = ping
	return s
}

func run(t *testing.T, s *Source, d time.Duration) []sources.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var out []sources.Batch
	if err := s.Run(ctx, func(b sources.Batch) { mu.Lock(); out = append(out, b); mu.Unlock() }); err != context.DeadlineExceeded {
		t.Fatalf("Run = %v, want the context's error", err)
	}
	return out
}

// Pings of a round are spread evenly over the interval, each service once
// per round, in a stable order.
func TestScheduleSpreadsPings(t *testing.T) {
	const interval = 800 * time.Millisecond
	var mu sync.Mutex
	type sent struct {
		at time.Time
		tg Target
	}
	var log []sent
	s := fakeSource(t, Config{Interval: interval, Targets: func() []Target { return targetsN(4) }},
		func(ctx context.Context, tg Target) sources.Probe {
			mu.Lock()
			log = append(log, sent{time.Now(), tg})
			mu.Unlock()
			return sources.Probe{Kind: sources.ProbeRPC, Binary: tg.Binary, Host: tg.Host, At: time.Now(), Result: sources.ProbeOK}
		})
	batches := run(t, s, 2*interval+interval/2)
	mu.Lock()
	defer mu.Unlock()
	if len(log) < 9 || len(log) > 12 {
		t.Fatalf("%d pings in 2.5 intervals of 4 services, want 9..12", len(log))
	}
	step := interval / 4
	for i := 1; i < len(log); i++ {
		gap := log[i].at.Sub(log[i-1].at)
		if gap < step/2 || gap > step*2 {
			t.Errorf("ping %d came %s after the previous, want about %s", i, gap, step)
		}
		if want := targetsN(4)[i%4]; log[i].tg != want {
			t.Errorf("ping %d went to %s, want %s", i, log[i].tg.RoutingKey(), want.RoutingKey())
		}
	}
	if d := log[4].at.Sub(log[0].at); d < interval*3/4 || d > interval*5/4 {
		t.Errorf("one service pinged again after %s, want about %s", d, interval)
	}
	var probes int
	for _, b := range batches {
		if b.Source != Name || !b.Health.OK || b.Health.Interval != interval {
			t.Errorf("batch %+v", b)
		}
		probes += len(b.Probes)
	}
	if probes < len(log)-4 { // the last second's probes may not be flushed
		t.Errorf("%d probes emitted of %d pings", probes, len(log))
	}
}

// At most Concurrency pings are in flight; when all slots wait, the round
// stretches instead of piling up, and one service is never pinged twice at
// once.
func TestScheduleBoundsConcurrency(t *testing.T) {
	var mu sync.Mutex
	inFlight, maxInFlight, pings := 0, 0, 0
	busy := map[Target]bool{}
	var overlap []Target
	s := fakeSource(t, Config{Interval: 100 * time.Millisecond, Concurrency: 3, Targets: func() []Target { return targetsN(10) }},
		func(ctx context.Context, tg Target) sources.Probe {
			mu.Lock()
			inFlight++
			pings++
			maxInFlight = max(maxInFlight, inFlight)
			if busy[tg] {
				overlap = append(overlap, tg)
			}
			busy[tg] = true
			mu.Unlock()
			select {
			case <-time.After(150 * time.Millisecond): // a slow reply: longer than the interval
			case <-ctx.Done():
			}
			mu.Lock()
			inFlight--
			busy[tg] = false
			mu.Unlock()
			return sources.Probe{Kind: sources.ProbeRPC, Binary: tg.Binary, Host: tg.Host, Result: sources.ProbeTimeout}
		})
	run(t, s, time.Second)
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight != 3 {
		t.Errorf("at most %d pings in flight, want exactly the bound 3", maxInFlight)
	}
	// 1 s / 150 ms per ping × 3 slots ≈ 20 pings, not the 100 the interval asks for.
	if pings < 12 || pings > 24 {
		t.Errorf("%d pings in 1s with 3 slots of 150ms each, want about 20", pings)
	}
	if len(overlap) > 0 {
		t.Errorf("services pinged while their previous ping was in flight: %v", overlap)
	}
}

func TestScheduleSkipsBusyService(t *testing.T) {
	var mu sync.Mutex
	inFlight, overlaps, pings := 0, 0, 0
	s := fakeSource(t, Config{Interval: 50 * time.Millisecond, Concurrency: 4, Targets: func() []Target { return targetsN(1) }},
		func(ctx context.Context, tg Target) sources.Probe {
			mu.Lock()
			if inFlight > 0 {
				overlaps++
			}
			inFlight++
			pings++
			mu.Unlock()
			time.Sleep(180 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			return sources.Probe{Kind: sources.ProbeRPC, Result: sources.ProbeOK}
		})
	run(t, s, 700*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if overlaps > 0 || pings < 3 || pings > 5 {
		t.Errorf("%d pings, %d overlapping, want about 4 (one per 180ms reply) and none overlapping", pings, overlaps)
	}
}

// With no targets yet (Nova not polled), the source still reports health,
// and asks again soon rather than after a whole interval.
func TestNoTargetsStillReportsHealth(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	targets := func() []Target {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < 2 {
			return nil
		}
		return targetsN(1)
	}
	pinged := make(chan struct{}, 16)
	s := fakeSource(t, Config{Interval: 2 * time.Second, Targets: targets}, func(ctx context.Context, tg Target) sources.Probe {
		pinged <- struct{}{}
		return sources.Probe{Kind: sources.ProbeRPC, Result: sources.ProbeOK}
	})
	batches := run(t, s, 3500*time.Millisecond)
	if len(batches) == 0 || !batches[0].Health.OK {
		t.Fatalf("batches %+v, want health batches", batches)
	}
	select {
	case <-pinged:
	default:
		t.Error("the target that appeared after the first round was not pinged within 3.5s")
	}
}
