package heartbeat

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock/clocktest"
)

// guard bounds a wait for the code under test to reach a point it reaches
// at once when correct: a hang, not a timing.
const guard = 10 * time.Second

var t0 = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

// refused is a broker address nothing listens on.
var refused = ConnConfig{URL: "amqp://127.0.0.1:1/"}

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

// The consumer emits one batch per Flush of its clock, stamped with it,
// and says why it is not connected.
func TestRunFlushesOnItsClock(t *testing.T) {
	clk := clocktest.New(t0)
	s, err := NewSource(SourceConfig{Conn: refused, CanaryInterval: -1, Flush: 2 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan sources.Batch, 100)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(b sources.Batch) { batches <- b }) }()
	clk.Waiters(t, 2, guard) // the flush ticker and the reconnect backoff after the refused dial
	if n := len(batches); n != 0 {
		t.Fatalf("%d batches before the first flush", n)
	}
	for i := 1; i <= 3; i++ {
		next, _ := clk.Next()
		for ; next.Before(t0.Add(time.Duration(i) * 2 * time.Second)); next, _ = clk.Next() {
			clk.Advance(next.Sub(clk.Now())) // a backoff expires; the link dials again
			clk.Waiters(t, 2, guard)
		}
		clk.Advance(next.Sub(clk.Now()))
		b := recv(t, batches, "a batch")
		if want := t0.Add(time.Duration(i) * 2 * time.Second); !b.At.Equal(want) || b.Health.Interval != 2*time.Second {
			t.Errorf("batch %d at t0+%v every %v, want t0+%v every 2s", i, b.At.Sub(t0), b.Health.Interval, want.Sub(t0))
		}
		if b.Health.OK || !strings.Contains(b.Health.Err, "127.0.0.1:1") {
			t.Errorf("batch %d health %+v, want not connected, naming the broker", i, b.Health)
		}
		clk.Waiters(t, 2, guard)
	}
	cancel()
	if err := recv(t, done, "end of Run"); err != nil {
		t.Errorf("Run = %v", err)
	}
}

// The canary probes once per interval of its clock; without a connection
// each probe fails at once, stamped with the clock.
func TestCanaryProbesOnItsClock(t *testing.T) {
	clk := clocktest.New(t0)
	probes := make(chan sources.Probe, 100)
	c := newCanary(SourceConfig{Conn: refused, CanaryInterval: 5 * time.Second, CanaryTimeout: 5 * time.Second, Clock: clk, Logf: t.Logf},
		"test", func(p sources.Probe) { probes <- p })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.run(ctx) }()
	for i := 1; i <= 2; i++ {
		clk.Waiters(t, 2, guard) // the canary's ticker and the link's backoff
		want := t0.Add(time.Duration(i) * 5 * time.Second)
		for next, _ := clk.Next(); next.Before(want); next, _ = clk.Next() {
			clk.Advance(next.Sub(clk.Now()))
			clk.Waiters(t, 2, guard)
		}
		clk.Advance(want.Sub(clk.Now()))
		p := recv(t, probes, "a probe")
		if p.Kind != sources.ProbeCanary || p.Result != sources.ProbeError || !p.At.Equal(want) || !strings.HasPrefix(p.Detail, "not connected") {
			t.Errorf("probe %d: %+v, want a failed one at t0+%v", i, p, want.Sub(t0))
		}
	}
	cancel()
	recv(t, done, "end of the canary")
}

// A probe while the broker blocks the connection fails at once as
// blocked; its round trip is how long the block has lasted, up to the timeout.
func TestCanaryBlockedRoundTrip(t *testing.T) {
	clk := clocktest.New(t0)
	c := newCanary(SourceConfig{Conn: refused, CanaryInterval: 5 * time.Second, CanaryTimeout: 5 * time.Second, Clock: clk, Logf: t.Logf}, "test", nil)
	c.cur = &canarySession{blockedSince: t0, blockedReason: "low on memory"}
	for _, tc := range []struct {
		after, rtt time.Duration
	}{{0, time.Millisecond}, {2 * time.Second, 2 * time.Second}, {5 * time.Second, 5 * time.Second}, {time.Minute, 5 * time.Second}} {
		clk.Advance(tc.after - clk.Now().Sub(t0))
		p, ok := c.probe(context.Background())
		if !ok || p.Result != sources.ProbeBlocked || p.RTT != tc.rtt || !p.At.Equal(t0.Add(tc.after)) || p.Detail != "connection.blocked: low on memory" {
			t.Errorf("blocked for %v: %+v %v, want blocked, RTT %v", tc.after, p, ok, tc.rtt)
		}
	}
}
