package state_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock/clocktest"
	"github.com/stacktop/stacktop/sources/demo"
	"github.com/stacktop/stacktop/sources/nova"
	"github.com/stacktop/stacktop/sources/rabbitmq"
	"github.com/stacktop/stacktop/sources/rpcping"
	"github.com/stacktop/stacktop/state"
)

// demoRPCInterval is stacktop --demo's RPC ping interval (cmd/stacktop);
// its concurrency keeps a round near the interval, as this test assumes.
const demoRPCInterval = 10 * time.Second

// fakeClock is the demo's clock, advanced by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// once runs a source for one poll and returns its first batch: Run emits
// at once, and the cancel in emit ends it. A source whose step took longer
// than its interval (the demo heartbeat source's ticker, under -race on a
// loaded machine) may find its ticker and the cancel both ready and step
// once more; on the fake clock that step covers no time, and it is dropped
// (seen under go test -race on the shared machine: "heartbeat emitted 2
// batches").
func once(t *testing.T, src sources.Source) sources.Batch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got sources.Batch
	n := 0
	_ = src.Run(ctx, func(b sources.Batch) {
		if n == 0 {
			got = b
		}
		n++
		cancel()
	})
	if n == 0 {
		t.Fatalf("%s emitted no batch", src.Name())
	}
	return got
}

// TestVerdictDemoScenario runs the demo's incident (the 2015-08-12 replay)
// through the real nova and rabbitmq (prometheus path) sources and the demo's heartbeat
// source at the intervals `stacktop --demo` uses (heartbeats 1 s, Nova 2 s,
// RabbitMQ 4 s) on a fake clock, folds every batch into a Store, and checks
// that the broker verdict is reached during the incident and clears after
// recovery, before the next loop's incident.
func TestVerdictDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole scenario loop over loopback HTTP")
	}
	clk := &fakeClock{t: time.Date(2015, 8, 12, 22, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cloud, err := demo.Start(ctx, demo.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	cr := cloud.Credentials()
	nv, err := nova.New(nova.Config{Auth: &nova.Auth{URL: cr.AuthURL, Username: cr.Username, Password: cr.Password,
		UserDomainName: cr.UserDomainName, ProjectName: cr.ProjectName, ProjectDomainName: cr.ProjectDomainName},
		Region: cr.Region, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := rabbitmq.New(rabbitmq.Config{URL: cr.RabbitURL, User: cr.RabbitUser, Password: cr.RabbitPassword,
		PrometheusURLs: cr.PrometheusURLs, Interval: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hb := cloud.HeartbeatSource()
	tl := cloud.Timeline()
	store := state.NewStore(state.DefaultConfig())
	// RPC pings as stacktop --demo makes them: the real rpcping source on the
	// demo's simulated broker, every service once per interval, spread over
	// it. The instant clock lets a ping return at once with its simulated
	// round trip; the probe is held until that round trip is over.
	rp, err := rpcping.New(rpcping.Config{TransportURL: demo.RPCTransportURL, Interval: demoRPCInterval,
		Targets: func() []rpcping.Target { return nil }, Simulator: cloud.RPCSimulator(), Clock: clocktest.Instant(clk.Now)})
	if err != nil {
		t.Fatal(err)
	}
	var targets []rpcping.Target
	var roundStart time.Duration
	var inFlight []sources.Probe
	pings := map[sources.ProbeResult]int{}

	type change struct {
		off     time.Duration
		phase   demo.Phase
		cause   state.Cause
		thin    bool
		summary string
	}
	var changes []change
	var prev state.Verdict
	// The most services state saw flapping at once during the first incident.
	peakFlapping := 0
	end := tl.Loop + tl.Flap + 30*time.Second // into the next loop's incident
	for off := time.Duration(0); off <= end; off += time.Second {
		now := clk.Now()
		batches := []sources.Batch{once(t, hb)}
		if off%(2*time.Second) == 0 {
			b := once(t, nv)
			b.At = now // poll.Run stamps the wall clock; the scenario runs on the fake one
			batches = append(batches, b)
		}
		if off%(4*time.Second) == 0 {
			pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
			b, err := rb.Poll(pctx)
			pcancel()
			b.Source, b.At, b.Health.Interval, b.Health.OK = sources.NameRabbitMQ, now, 4*time.Second, err == nil
			if err != nil {
				b.Health.Err, b.Health.Kind = err.Error(), sources.KindOf(err)
			} else if b.Overview.Via != "prometheus" {
				t.Errorf("t+%v: RabbitMQ read via %q, want the demo's prometheus path", off, b.Overview.Via)
			}
			batches = append(batches, b)
		}
		// This second's share of the round of RPC pings, and the probes
		// whose round trip has ended by now.
		if off >= roundStart+demoRPCInterval || targets == nil {
			targets, roundStart = nil, off
			for _, sv := range store.Snapshot().Services {
				if tg, ok := rpcping.NewTarget(sv.Key.Binary, sv.Key.Host); ok {
					targets = append(targets, tg)
				}
			}
		}
		for i, tg := range targets {
			if slot := roundStart + time.Duration(i)*demoRPCInterval/time.Duration(len(targets)); slot >= off && slot < off+time.Second {
				inFlight = append(inFlight, rp.Ping(ctx, tg))
			}
		}
		var ended []sources.Probe
		kept := inFlight[:0]
		for _, p := range inFlight {
			if p.At.Add(p.RTT).After(now) {
				kept = append(kept, p)
			} else {
				ended = append(ended, p)
			}
		}
		inFlight = kept
		for _, p := range ended {
			pings[p.Result]++
		}
		rb := rp.Batch(ended)
		rb.At = now
		batches = append(batches, rb)
		var snap *state.Snapshot
		for _, b := range batches {
			snap = store.Apply(b)
		}
		// Nothing but the broker is ever named, at any second: not a
		// conductor, a host, a process (issue 9).
		if v := snap.Verdict; v.Cause != state.CauseNone && v.Cause != state.CauseBroker {
			t.Errorf("t+%v (%s): %v verdict %q", off, cloud.Phase(now), v.Cause, v.Summary)
		}
		if off < tl.Loop {
			n := 0
			for _, sv := range snap.Services {
				if sv.Flapping {
					n++
				}
			}
			peakFlapping = max(peakFlapping, n)
		}
		v := snap.Verdict
		// "Trouble began" never reads later than "reached", and holds for
		// the episode (the demo's verdict detail once read "reached
		// 06:14:07 · trouble began 06:14:14").
		if v.Cause != state.CauseNone && (v.Started.IsZero() || v.Started.After(v.Since) ||
			prev.Cause != state.CauseNone && !v.Started.Equal(prev.Started)) {
			t.Errorf("t+%v: started %v, reached %v (before: started %v): %s", off, v.Started.Format(time.TimeOnly), v.Since.Format(time.TimeOnly), prev.Started.Format(time.TimeOnly), v.Summary)
		}
		if off%(30*time.Second) == 0 && v.Cause != state.CauseNone {
			t.Logf("t+%3.0fs %-14s %s", off.Seconds(), cloud.Phase(now), v.Summary)
		}
		if v.Cause != prev.Cause || v.Thin != prev.Thin {
			changes = append(changes, change{off, cloud.Phase(now), v.Cause, v.Thin, v.Summary})
		}
		prev = v
		clk.Add(time.Second)
	}
	for _, c := range changes {
		t.Logf("t+%3.0fs %-14s %-10v thin=%-5v %s", c.off.Seconds(), c.phase, c.cause, c.thin, c.summary)
	}

	// The pings answered, and failed in every way the incident makes them fail.
	t.Logf("RPC pings: %v", pings)
	for _, r := range []sources.ProbeResult{sources.ProbeOK, sources.ProbeTimeout, sources.ProbeBlocked, sources.ProbeError} {
		if pings[r] == 0 {
			t.Errorf("no RPC ping ended %s: %v", r, pings)
		}
	}
	// The demo's flapping reaches state's flap detector (issue 10: it once
	// read "flapping 0 on 0 hosts").
	if peakFlapping < 10 {
		t.Errorf("at most %d services flapping at once during the incident, want many", peakFlapping)
	}
	// The broker verdict (not thin) is reached during the incident …
	reached, cleared := time.Duration(-1), time.Duration(-1)
	for _, c := range changes {
		switch {
		case reached < 0 && c.cause == state.CauseBroker && !c.thin:
			reached = c.off
			if !strings.HasPrefix(c.summary, "broker") {
				t.Errorf("broker verdict reads %q", c.summary)
			}
		case reached >= 0 && cleared < 0 && c.cause == state.CauseNone:
			cleared = c.off
		}
	}
	if reached < tl.Degrade || reached > tl.Flap+30*time.Second {
		t.Errorf("broker verdict at t+%v, want between the broker degrading (t+%v) and 30 s into the flapping (t+%v)", reached, tl.Degrade, tl.Flap+30*time.Second)
	}
	// … and clears after recovery, before the next loop's incident.
	if cleared < tl.Healthy || cleared > tl.Loop+tl.Degrade {
		t.Errorf("verdict cleared at t+%v, want after the cloud is healthy again (t+%v) and before the next incident (t+%v)", cleared, tl.Healthy, tl.Loop+tl.Degrade)
	}
	// The next loop's incident reaches it again.
	again := false
	for _, c := range changes {
		again = again || c.off > tl.Loop && c.cause == state.CauseBroker
	}
	if !again {
		t.Errorf("the next loop's incident did not bring the broker verdict back")
	}
}
