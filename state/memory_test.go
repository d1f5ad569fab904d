package state

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// TestMemoryBounded simulates six hours of 10 s polls of a sick cloud: one
// service flapping every poll, others up, reply queues churning, a broker
// node restarting every few minutes, hosts rebooting and processes
// restarting, canaries and RPC pings. Every history must stay within its
// bounds and the retention window, vanished items must be dropped, and the
// heap must not grow with running time.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("long simulation")
	}
	cfg := DefaultConfig()
	cfg.MaxTransitions = 50
	cfg.MaxRestarts = 300
	s := NewStore(cfg)
	const polls = 6 * 360
	var heapAt2h uint64
	var snap *Snapshot
	for i := range polls {
		now := at(i)
		flap := sources.StateUp
		if i%2 == 1 {
			flap = sources.StateDown
		}
		svcs := []sources.Service{svc("nova-compute", "flappy", flap, now), svc("nova-conductor", "ctl", sources.StateUp, now)}
		// A host whose service exists only for its first hour.
		if i < 360 {
			svcs = append(svcs, svc("nova-compute", "retired", sources.StateDown, now))
		}
		s.Apply(novaBatch(now, svcs...))

		// 50 live reply queues, 5 replaced per poll; a few long-lived ones.
		qs := []sources.Queue{queue("conductor", int64(i%100)), queue("compute.flappy", 1)}
		for k := range 50 {
			qs = append(qs, queue(fmt.Sprintf("reply_%032x", i/10*50+k+i%10*5), 0))
		}
		b := rabbitBatch(i, qs...)
		up := time.Duration(i%30) * poll // rabbit@a restarts every 5 minutes
		b.Nodes = []sources.Node{node("rabbit@a", up), node("rabbit@b", time.Duration(i)*poll)}
		if i >= 360 {
			b.Nodes = b.Nodes[:1] // rabbit@b leaves the cluster after an hour
		}
		b.Probes = []sources.Probe{
			{Kind: sources.ProbeCanary, At: now, Result: sources.ProbeOK},
			{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: "flappy", At: now, Result: sources.ProbeTimeout},
		}
		s.Apply(b)

		// Heartbeats: flappy's agent restarts its process every poll and the
		// host reboots every 10 minutes; host "ghost" goes silent after 30 min.
		hbs := []sources.Heartbeat{hb("flappy", uint64(i), now, proc("nova-compute", 1000+i, i))}
		hbs[0].BootID = fmt.Sprintf("boot-%d", i/60)
		if i < 180 {
			hbs = append(hbs, hb("ghost", uint64(i), now, proc(fmt.Sprintf("proc-%d", i), i, 0)))
		}
		snap = s.Apply(sources.Batch{Source: sources.NameHeartbeat, At: now, Health: sources.Health{OK: true}, Heartbeats: hbs})

		if i == 2*360 {
			heapAt2h = heapInUse()
		}
	}
	cutoff := snap.At.Add(-cfg.Retention)
	slack := func(bound int) int { return bound + max(bound/4, 8) }

	if len(snap.Services) != 2 || len(s.svcx) != len(snap.Services) {
		t.Errorf("%d services (%d folding states), want 2", len(snap.Services), len(s.svcx))
	}
	for _, sv := range snap.Services {
		if len(sv.History) > cfg.MaxTransitions || cap(sv.History) > slack(cfg.MaxTransitions) {
			t.Errorf("%v: %d transitions (cap %d), bound %d", sv.Key, len(sv.History), cap(sv.History), cfg.MaxTransitions)
		}
		if len(sv.History) > 0 && sv.History[0].At.Before(cutoff) {
			t.Errorf("%v: transition older than retention", sv.Key)
		}
		if len(sv.RPCHistory) > cfg.RPCHistory {
			t.Errorf("%v: %d RPC pings, bound %d", sv.Key, len(sv.RPCHistory), cfg.RPCHistory)
		}
	}
	if f, _ := snap.Service(ServiceKey{"nova-compute", "flappy"}); !f.Flapping || len(f.History) != cfg.MaxTransitions {
		t.Errorf("flappy: flapping %v with %d transitions; the simulation does not exercise the bounds", f.Flapping, len(f.History))
	}
	if len(snap.Queues) != 52 {
		t.Errorf("%d queues, want the 52 live ones", len(snap.Queues))
	}
	for _, q := range snap.Queues {
		if h := q.History; h.Len() > cfg.QueueSamples || cap(h.s) > slack(cfg.QueueSamples) || h.Sample(0).At.Before(cutoff) {
			t.Errorf("%v: %d samples (cap %d) from %v", q.Key, h.Len(), cap(h.s), h.Sample(0).At)
		}
	}
	if c, _ := snap.Queue(QueueKey{"/", "conductor"}); c.History.Len() != cfg.QueueSamples {
		t.Errorf("conductor has %d samples, want the bound %d", c.History.Len(), cfg.QueueSamples)
	}
	if len(snap.Nodes) != 1 || len(s.nodes) != 1 {
		t.Errorf("%d nodes, %d node states; want rabbit@a only", len(snap.Nodes), len(s.nodes))
	}
	if n := snap.Nodes[0]; n.Restarts != 12 {
		t.Errorf("rabbit@a: %d restarts within the hour, want 12", n.Restarts)
	}
	if len(snap.Hosts) != 1 || len(s.departed) > 1 {
		t.Errorf("%d hosts, %d departed maps; want only flappy", len(snap.Hosts), len(s.departed))
	}
	if len(snap.Canary.History) != cfg.ProbeHistory || cap(snap.Canary.History) > slack(cfg.ProbeHistory) {
		t.Errorf("canary %d probes (cap %d), bound %d", len(snap.Canary.History), cap(snap.Canary.History), cfg.ProbeHistory)
	}
	if len(snap.Restarts) != cfg.MaxRestarts || snap.Restarts[len(snap.Restarts)-1].At.Before(cutoff) {
		t.Errorf("%d restarts, bound %d", len(snap.Restarts), cfg.MaxRestarts)
	}

	heapAt6h := heapInUse()
	runtime.KeepAlive(s)
	if heapAt6h > 2*heapAt2h+1<<20 {
		t.Errorf("heap grew with running time: %d bytes at 2h, %d at 6h", heapAt2h, heapAt6h)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
