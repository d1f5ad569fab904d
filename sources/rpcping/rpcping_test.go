package rpcping

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock/clocktest"
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

// t0 is where the tests' hand-driven clocks start.
var t0 = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

// guard bounds a wait for the code under test to reach a point it reaches
// at once when correct: a hang, not a timing.
const guard = 10 * time.Second

// fakeSource is a Source on a hand-driven clock whose pings call ping
// instead of a broker.
func fakeSource(t *testing.T, cfg Config, ping func(ctx context.Context, tg Target) sources.Probe) (*Source, *clocktest.Clock) {
	t.Helper()
	clk := clocktest.New(t0)
	cfg.TransportURL = "rabbit://u:p@127.0.0.1:1/v"
	cfg.Clock = clk
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.broker = false
	s.ping = ping
	return s, clk
}

// running is a Source's Run in the background; its batches arrive on batches.
type running struct {
	batches chan sources.Batch
	cancel  context.CancelFunc
	done    chan error
}

func start(s *Source) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{batches: make(chan sources.Batch, 1000), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, func(b sources.Batch) { r.batches <- b }) }()
	return r
}

// stop ends Run and waits for it and every ping it started.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != context.Canceled {
			t.Errorf("Run = %v, want the context's error", err)
		}
	case <-time.After(guard):
		t.Fatal("Run did not return after its context ended")
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

func okProbe(tg Target, at time.Time) sources.Probe {
	return sources.Probe{Kind: sources.ProbeRPC, Binary: tg.Binary, Host: tg.Host, At: at, Result: sources.ProbeOK}
}

type sent struct {
	at time.Time
	tg Target
}

// scheduling is a Source's schedule run in the background, its probes
// handed to the test on out.
type scheduling struct {
	out    chan sources.Probe
	cancel context.CancelFunc
	done   chan struct{}
}

func startSchedule(s *Source) *scheduling {
	ctx, cancel := context.WithCancel(context.Background())
	sc := &scheduling{out: make(chan sources.Probe), cancel: cancel, done: make(chan struct{})}
	go func() { defer close(sc.done); s.schedule(ctx, sc.out) }()
	return sc
}

func (sc *scheduling) stop(t *testing.T) {
	t.Helper()
	sc.cancel()
	recv(t, sc.done, "end of the schedule")
}

// Pings of a round are spread evenly over the interval, each service once
// per round, in a stable order.
func TestScheduleSpreadsPings(t *testing.T) {
	const interval, rounds = 800 * time.Millisecond, 3
	pinged := make(chan sent, 100)
	var clk *clocktest.Clock
	s, clk := fakeSource(t, Config{Interval: interval, Targets: func() []Target { return targetsN(4) }},
		func(ctx context.Context, tg Target) sources.Probe {
			pinged <- sent{clk.Now(), tg}
			return okProbe(tg, clk.Now())
		})
	sc := startSchedule(s)
	step := interval / 4
	for i := range rounds * 4 {
		p := recv(t, pinged, fmt.Sprintf("ping %d", i))
		if want := t0.Add(time.Duration(i) * step); !p.at.Equal(want) {
			t.Errorf("ping %d at t0+%v, want t0+%v", i, p.at.Sub(t0), want.Sub(t0))
		}
		if want := targetsN(4)[i%4]; p.tg != want {
			t.Errorf("ping %d went to %s, want %s", i, p.tg.RoutingKey(), want.RoutingKey())
		}
		if pr := recv(t, sc.out, fmt.Sprintf("probe %d", i)); pr.Host != p.tg.Host {
			t.Errorf("probe %d is of %s, want %s", i, pr.Host, p.tg.Host)
		}
		clk.Waiters(t, 1, guard) // the scheduler's next slot
		next, _ := clk.Next()
		clk.Advance(next.Sub(clk.Now())) // to the slot's time exactly
	}
	sc.stop(t)
}

// Run emits the probes that ended, in batches stamped on the clock.
func TestRunEmitsEveryProbe(t *testing.T) {
	const interval = 2 * time.Second
	var clk *clocktest.Clock
	s, clk := fakeSource(t, Config{Interval: interval, Targets: func() []Target { return targetsN(2) }},
		func(ctx context.Context, tg Target) sources.Probe { return okProbe(tg, clk.Now()) })
	r := start(s)
	clk.Waiters(t, 2, guard) // the flush ticker and the second ping's slot
	clk.Advance(time.Second)
	clk.Waiters(t, 2, guard) // the flush ticker and the round's end
	got := map[string]bool{}
	// A probe handed over after a flush goes out with the next one.
	deadline := time.After(guard)
	for len(got) < 2 {
		clk.Advance(time.Second)
		select {
		case b := <-r.batches:
			if b.Source != Name || !b.Health.OK || b.Health.Interval != interval || !b.At.After(t0) || b.At.After(clk.Now()) {
				t.Errorf("batch at t0+%v: %+v", b.At.Sub(t0), b)
			}
			for _, p := range b.Probes {
				got[p.Host] = true
			}
		case <-deadline:
			t.Fatalf("probes emitted: %v, want c00 and c01 of the first round", got)
		}
	}
	r.stop(t)
}

// At most Concurrency pings are in flight; when every slot waits, the
// round stretches instead of piling pings up.
func TestScheduleBoundsConcurrency(t *testing.T) {
	const interval = 100 * time.Millisecond
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	started := make(chan sent, 100)
	release := make(chan struct{})
	var clk *clocktest.Clock
	s, clk := fakeSource(t, Config{Interval: interval, Concurrency: 3, Targets: func() []Target { return targetsN(10) }},
		func(ctx context.Context, tg Target) sources.Probe {
			mu.Lock()
			inFlight++
			maxInFlight = max(maxInFlight, inFlight)
			mu.Unlock()
			started <- sent{clk.Now(), tg}
			select {
			case <-release: // the reply
			case <-ctx.Done():
			}
			mu.Lock()
			inFlight--
			mu.Unlock()
			return okProbe(tg, clk.Now())
		})
	r := start(s)
	ts, step := targetsN(10), interval/10
	for i := range 3 { // three slots fill on schedule
		p := recv(t, started, fmt.Sprintf("ping %d", i))
		if p.tg != ts[i] || !p.at.Equal(t0.Add(time.Duration(i)*step)) {
			t.Errorf("ping %d: %s at t0+%v, want %s at t0+%v", i, p.tg.RoutingKey(), p.at.Sub(t0), ts[i].RoutingKey(), time.Duration(i)*step)
		}
		clk.Waiters(t, 2, guard)
		clk.Advance(step)
	}
	// The fourth slot's time has come, but every slot waits on a reply: the
	// whole interval passes without a ping. Each reply then frees one slot.
	clk.Advance(interval)
	freed := t0.Add(3*step + interval)
	for i := 3; i < 6; i++ {
		release <- struct{}{}
		p := recv(t, started, fmt.Sprintf("ping %d", i))
		if p.tg != ts[i] || !p.at.Equal(freed) {
			t.Errorf("ping %d: %s at t0+%v, want %s when a slot freed (t0+%v)", i, p.tg.RoutingKey(), p.at.Sub(t0), ts[i].RoutingKey(), freed.Sub(t0))
		}
	}
	r.stop(t)
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight != 3 {
		t.Errorf("at most %d pings in flight, want exactly the bound 3", maxInFlight)
	}
}

// A service whose ping is still in flight is skipped, not pinged twice at
// once; once it answers, the next round pings it again.
func TestScheduleSkipsBusyService(t *testing.T) {
	const interval = 50 * time.Millisecond
	started := make(chan sent, 100)
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, overlaps := 0, 0
	var clk *clocktest.Clock
	s, clk := fakeSource(t, Config{Interval: interval, Concurrency: 4, Targets: func() []Target { return targetsN(1) }},
		func(ctx context.Context, tg Target) sources.Probe {
			mu.Lock()
			if inFlight > 0 {
				overlaps++
			}
			inFlight++
			mu.Unlock()
			started <- sent{clk.Now(), tg}
			select {
			case <-release:
			case <-ctx.Done():
			}
			mu.Lock()
			inFlight--
			mu.Unlock()
			return okProbe(tg, clk.Now())
		})
	sc := startSchedule(s)
	recv(t, started, "the first ping")
	for range 3 { // three rounds while it is in flight
		clk.Waiters(t, 1, guard)
		clk.Advance(interval)
	}
	clk.Waiters(t, 1, guard) // the third round skipped it too
	release <- struct{}{}
	recv(t, sc.out, "the first probe")
	clk.Advance(interval)
	if p := recv(t, started, "the ping after the reply"); !p.at.Equal(t0.Add(4 * interval)) {
		t.Errorf("pinged again at t0+%v, want the round after its reply (t0+%v)", p.at.Sub(t0), 4*interval)
	}
	release <- struct{}{}
	recv(t, sc.out, "the second probe")
	sc.stop(t)
	mu.Lock()
	defer mu.Unlock()
	if overlaps > 0 {
		t.Errorf("pinged %d times while its previous ping was in flight", overlaps)
	}
}

// With no targets yet (Nova not polled), the source still reports health,
// and asks again soon rather than after a whole interval.
func TestNoTargetsStillReportsHealth(t *testing.T) {
	const interval = 10 * time.Second
	var mu sync.Mutex
	calls := 0
	targets := func() []Target {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls < 2 {
			return nil
		}
		return targetsN(1)
	}
	started := make(chan sent, 16)
	var clk *clocktest.Clock
	s, clk := fakeSource(t, Config{Interval: interval, Targets: targets}, func(ctx context.Context, tg Target) sources.Probe {
		started <- sent{clk.Now(), tg}
		return okProbe(tg, clk.Now())
	})
	r := start(s)
	clk.Waiters(t, 2, guard) // the flush ticker and the scheduler's recheck
	clk.Advance(time.Second)
	if b := recv(t, r.batches, "a health batch"); !b.Health.OK || len(b.Probes) != 0 || !b.At.Equal(t0.Add(time.Second)) {
		t.Errorf("first batch %+v, want a health batch at t0+1s", b)
	}
	clk.Waiters(t, 2, guard)
	clk.Advance(idleRecheck - time.Second)
	if p := recv(t, started, "a ping of the target that appeared"); !p.at.Equal(t0.Add(idleRecheck)) {
		t.Errorf("the target that appeared was pinged at t0+%v, want after the recheck (t0+%v), not a whole interval", p.at.Sub(t0), idleRecheck)
	}
	r.stop(t)
}
