package state

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func TestSourceHealth(t *testing.T) {
	s := NewStore(DefaultConfig())
	ok := novaBatch(at(0), svc("nova-compute", "c1", sources.StateUp, at(0)))
	ok.Health.Latency, ok.Health.Target, ok.Health.Detail = 300*time.Millisecond, "prod", "microversion 2.69"
	s.Apply(ok)
	failed := sources.Batch{Source: sources.NameNova, At: at(1), Health: sources.Health{
		Err: fmt.Errorf("nova: list services: %w", errors.New("503")).Error(), Latency: 2 * time.Second, Interval: poll,
	}}
	s.Apply(failed)
	snap := s.Apply(func() sources.Batch { b := failed; b.At = at(2); return b }())

	h, found := snap.Source(sources.NameNova)
	if !found {
		t.Fatal("no nova source health")
	}
	if h.Polls != 3 || h.Failures != 2 || !h.LastAttempt.Equal(at(2)) || !h.LastSuccess.Equal(at(0)) ||
		h.LastErr != "nova: list services: 503" || h.Latency != 2*time.Second || h.Target != "prod" || h.Detail != "microversion 2.69" {
		t.Errorf("health %+v", h)
	}
	if len(snap.Services) != 1 {
		t.Errorf("a failed poll dropped the services: %d left", len(snap.Services))
	}
	s.Apply(sources.Batch{Source: sources.NameRabbitMQ, At: at(2), Health: sources.Health{OK: true}})
	snap = s.Apply(novaBatch(at(3), svc("nova-compute", "c1", sources.StateUp, at(3))))
	if h, _ = snap.Source(sources.NameNova); h.Failures != 0 || h.LastErr != "" || !h.LastSuccess.Equal(at(3)) {
		t.Errorf("after recovery %+v", h)
	}
	if len(snap.Sources) != 2 || snap.Sources[0].Name != sources.NameNova || snap.Sources[1].Name != sources.NameRabbitMQ {
		t.Errorf("sources not sorted by name: %+v", snap.Sources)
	}
}

func TestSourceStaleAndAge(t *testing.T) {
	cases := []struct {
		name      string
		h         SourceHealth
		now       time.Time
		wantStale bool
		wantAge   time.Duration
	}{
		{"never succeeded", SourceHealth{Interval: poll, LastAttempt: t0}, t0, true, 0},
		{"fresh", SourceHealth{Interval: poll, LastSuccess: t0}, t0.Add(15 * time.Second), false, 15 * time.Second},
		{"exactly 2× interval", SourceHealth{Interval: poll, LastSuccess: t0}, t0.Add(20 * time.Second), false, 20 * time.Second},
		{"older than 2× interval", SourceHealth{Interval: poll, LastSuccess: t0}, t0.Add(21 * time.Second), true, 21 * time.Second},
		{"unknown interval", SourceHealth{LastSuccess: t0}, t0.Add(time.Hour), false, time.Hour},
	}
	for _, c := range cases {
		if got := c.h.Stale(c.now); got != c.wantStale {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.wantStale)
		}
		if got := c.h.Age(c.now); got != c.wantAge {
			t.Errorf("%s: Age = %v, want %v", c.name, got, c.wantAge)
		}
	}
}

func TestSnapshotTimeAndSeq(t *testing.T) {
	s := NewStore(DefaultConfig())
	if snap := s.Snapshot(); snap == nil || snap.Seq != 0 || snap.Retention != time.Hour {
		t.Fatalf("initial snapshot %+v", snap)
	}
	a := s.Apply(novaBatch(at(5)))
	b := s.Apply(rabbitBatch(3)) // an older batch from another source
	if a.Seq != 1 || b.Seq != 2 || !b.At.Equal(at(5)) || s.Snapshot() != b {
		t.Errorf("seq %d %d, at %v; want 1 2 %v and the latest published", a.Seq, b.Seq, b.At, at(5))
	}
	if !a.At.Equal(at(5)) {
		t.Errorf("an older batch changed a published snapshot's At: %v", a.At)
	}
}

func TestProbes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ProbeHistory = 4
	cfg.RPCHistory = 2
	s := NewStore(cfg)
	s.Apply(novaBatch(at(0), svc("nova-compute", "c1", sources.StateUp, at(0)), svc("nova-compute", "c2", sources.StateUp, at(0))))
	results := []sources.ProbeResult{sources.ProbeOK, sources.ProbeTimeout, sources.ProbeOK, sources.ProbeBlocked, sources.ProbeOK, sources.ProbeOK}
	var snap, before *Snapshot
	for i, r := range results {
		snap = s.Apply(sources.Batch{Source: "probe", At: at(i + 1), Health: sources.Health{OK: true}, Probes: []sources.Probe{
			{Kind: sources.ProbeCanary, At: at(i + 1), RTT: time.Duration(i) * time.Millisecond, Result: r},
			{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: "c1", At: at(i + 1), Result: r},
			{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: "nowhere", At: at(i + 1), Result: r},
		}})
		if i == 1 {
			before = snap
		}
	}
	if len(snap.Canary.History) != 4 || snap.Canary.Failures != 1 || snap.Canary.History[3].RTT != 5*time.Millisecond {
		t.Errorf("canary %+v", snap.Canary)
	}
	c1, _ := snap.Service(ServiceKey{"nova-compute", "c1"})
	if c1.RPC == nil || !c1.RPC.At.Equal(at(6)) || len(c1.RPCHistory) != 2 || !c1.RPCHistory[0].At.Equal(at(5)) {
		t.Errorf("c1 rpc %+v history %+v", c1.RPC, c1.RPCHistory)
	}
	if c2, _ := snap.Service(ServiceKey{"nova-compute", "c2"}); c2.RPC != nil {
		t.Errorf("c2 got another service's ping")
	}
	if bc1, _ := before.Service(ServiceKey{"nova-compute", "c1"}); bc1.RPC.Result != sources.ProbeTimeout || before.Canary.Failures != 1 || len(before.Canary.History) != 2 {
		t.Errorf("older snapshot changed: rpc %+v canary %+v", bc1.RPC, before.Canary)
	}
	// An older ping arriving late does not replace the latest.
	snap = s.Apply(sources.Batch{Source: "probe", At: at(7), Probes: []sources.Probe{
		{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: "c1", At: at(2), Result: sources.ProbeError},
	}})
	if c1, _ = snap.Service(ServiceKey{"nova-compute", "c1"}); !c1.RPC.At.Equal(at(6)) {
		t.Errorf("late ping replaced the latest: %+v", c1.RPC)
	}
	// Services from Nova keep their RPC state.
	snap = s.Apply(novaBatch(at(8), svc("nova-compute", "c1", sources.StateUp, at(8))))
	if c1, _ = snap.Service(ServiceKey{"nova-compute", "c1"}); c1.RPC == nil || len(c1.RPCHistory) == 0 {
		t.Errorf("a Nova poll lost the RPC state")
	}
}

// TestRPCBatchSharesServices: a batch of RPC pings copies only the
// services it pings (each once, however many of its pings it holds); the
// others are shared with the previous snapshot, whose services stay as
// they were, also through the next Nova poll.
func TestRPCBatchSharesServices(t *testing.T) {
	s := NewStore(DefaultConfig())
	var svcs []sources.Service
	for i := range 100 {
		svcs = append(svcs, svc("nova-compute", fmt.Sprintf("c%03d", i), sources.StateUp, at(0)))
	}
	before := s.Apply(novaBatch(at(0), svcs...))
	ping := func(host string, k int, r sources.ProbeResult) sources.Probe {
		return sources.Probe{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: host, At: at(1).Add(time.Duration(k) * time.Millisecond), Result: r}
	}
	after := s.Apply(sources.Batch{Source: "rpcping", At: at(1), Health: sources.Health{OK: true}, Probes: []sources.Probe{
		ping("c007", 0, sources.ProbeOK), ping("c042", 1, sources.ProbeOK), ping("c042", 2, sources.ProbeTimeout),
	}})
	if len(after.Services) != 100 {
		t.Fatalf("%d services", len(after.Services))
	}
	for i, sv := range after.Services {
		changed := sv.Key.Host == "c007" || sv.Key.Host == "c042"
		if shared := sv == before.Services[i]; shared == changed {
			t.Errorf("%s: shared with the previous snapshot %v, pinged by the batch %v", sv.Key.Host, shared, changed)
		}
	}
	if sv, _ := before.Service(ServiceKey{"nova-compute", "c042"}); sv.RPC != nil || len(sv.RPCHistory) != 0 {
		t.Errorf("the previous snapshot's c042 changed: %+v, %d pings", sv.RPC, len(sv.RPCHistory))
	}
	if sv, _ := after.Service(ServiceKey{"nova-compute", "c042"}); sv.RPC == nil || sv.RPC.Result != sources.ProbeTimeout || len(sv.RPCHistory) != 2 {
		t.Errorf("c042: %+v, %d pings", sv.RPC, len(sv.RPCHistory))
	}
	for i := range svcs {
		svcs[i].UpdatedAt = at(2)
	}
	s.Apply(novaBatch(at(2), svcs...))
	for _, sv := range after.Services {
		if !sv.UpdatedAt.Equal(at(0)) {
			t.Fatalf("%s: a Nova poll wrote the previous snapshot's service (updated %v)", sv.Key.Host, sv.UpdatedAt)
		}
	}
}

func TestRestartsNewestFirstAndBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRestarts = 5
	cfg.Retention = 3 * time.Minute
	s := NewStore(cfg)
	var snap *Snapshot
	for i := range 30 {
		st := sources.StateUp
		if i%2 == 1 {
			st = sources.StateDown
		}
		snap = s.Apply(novaBatch(at(i), svc("nova-compute", "a", st, at(i)), svc("nova-compute", "b", st, at(i))))
		if len(snap.Restarts) > cfg.MaxRestarts {
			t.Fatalf("poll %d: %d restarts, bound %d", i, len(snap.Restarts), cfg.MaxRestarts)
		}
	}
	if len(snap.Restarts) != 5 || !snap.Restarts[0].At.Equal(at(28)) || !snap.Restarts[4].At.Equal(at(24)) {
		t.Errorf("restarts %+v", snap.Restarts)
	}
	for i := 1; i < len(snap.Restarts); i++ {
		if snap.Restarts[i].At.After(snap.Restarts[i-1].At) {
			t.Errorf("restarts not newest first at %d", i)
		}
	}
	// Time passes without restarts: they age out of the retention window.
	snap = s.Apply(rabbitBatch(28 + 18)) // cutoff: poll 28
	if len(snap.Restarts) != 2 || !snap.Restarts[1].At.Equal(at(28)) {
		t.Errorf("3 minutes on: %+v, want only the two of poll 28", snap.Restarts)
	}
}

func TestLookups(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(novaBatch(at(0),
		svc("nova-compute", "c2", sources.StateUp, at(0)),
		svc("nova-compute", "c1", sources.StateUp, at(0)),
		svc("nova-conductor", "ctl", sources.StateUp, at(0)),
		svc("nova-scheduler", "ctl", sources.StateUp, at(0)),
		svc("nova-api", "ctl", sources.StateUp, at(0)),
		svc("nova-compute", "d1", sources.StateUp, at(0)),
	))
	snap := s.Apply(rabbitBatch(1, queue("conductor", 1), queue("compute", 2)))
	cases := []struct {
		host string
		want []string
	}{
		{"ctl", []string{"nova-api", "nova-conductor", "nova-scheduler"}},
		{"c1", []string{"nova-compute"}},
		{"c", nil},
		{"zzz", nil},
	}
	for _, c := range cases {
		got := snap.ServicesOnHost(c.host)
		var names []string
		for _, sv := range got {
			names = append(names, sv.Key.Binary)
		}
		if fmt.Sprint(names) != fmt.Sprint(c.want) {
			t.Errorf("ServicesOnHost(%q) = %v, want %v", c.host, names, c.want)
		}
	}
	if on := snap.ServicesOnHost("c1"); len(on) == 1 {
		_ = append(on, &Service{}) // must not clobber the next service
		if sv, _ := snap.Service(ServiceKey{"nova-compute", "c2"}); sv.Key.Host != "c2" {
			t.Errorf("appending to ServicesOnHost overwrote the snapshot")
		}
	}
	if _, ok := snap.Service(ServiceKey{"nova-compute", "ctl"}); ok {
		t.Error("found a service that does not exist")
	}
	if q, ok := snap.Queue(QueueKey{"/", "compute"}); !ok || q.Messages != 2 {
		t.Errorf("Queue lookup %+v %v", q, ok)
	}
	if _, ok := snap.Queue(QueueKey{"other", "compute"}); ok {
		t.Error("found a queue in the wrong vhost")
	}
	if _, ok := snap.Host("c1"); ok {
		t.Error("found a host that never sent a heartbeat")
	}
	if _, ok := snap.Source("heartbeat"); ok {
		t.Error("found a source that never polled")
	}
	if h, ok := snap.Source(sources.NameRabbitMQ); !ok || h.Polls != 1 {
		t.Errorf("Source lookup %+v %v", h, ok)
	}
}

// TestConcurrentReaders reads snapshots and walks their histories while
// batches are folded; run with -race to check that snapshots are never written.
func TestConcurrentReaders(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueSamples = 8
	cfg.MaxTransitions = 4
	s := NewStore(cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var sum int64
		for {
			snap := s.Snapshot()
			for _, q := range snap.Queues {
				for _, smp := range q.History.Samples() {
					sum += smp.Messages
				}
			}
			for _, sv := range snap.Services {
				sum += int64(len(sv.History))
			}
			if snap.Seq >= 400 {
				_ = sum
				return
			}
		}
	}()
	for i := range 200 {
		st := sources.StateUp
		if i%3 == 0 {
			st = sources.StateDown
		}
		s.Apply(novaBatch(at(i), svc("nova-compute", "c1", st, at(i))))
		s.Apply(rabbitBatch(i, queue("conductor", int64(i)), queue("compute", int64(i))))
	}
	<-done
}
