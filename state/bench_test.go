package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// shuffled returns a deterministic permutation of 0..n-1: sources do not
// deliver rows in the snapshot's order.
func shuffled(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	return r.Perm(n)
}

// BenchmarkApplyServices5000 folds full Nova polls of 5,000 services
// (2,500 hosts × 2 binaries, unsorted, 1 % changing state every poll).
func BenchmarkApplyServices5000(b *testing.B) {
	const n = 5000
	perm := shuffled(n)
	batch := func(p int) sources.Batch {
		now := at(p)
		svcs := make([]sources.Service, n)
		for i, k := range perm {
			st := sources.StateUp
			if k%100 == 0 && p%2 == 1 {
				st = sources.StateDown
			}
			svcs[i] = svc([]string{"nova-compute", "neutron-ovs-agent"}[k%2], fmt.Sprintf("compute-%05d", k/2), st, now)
		}
		return novaBatch(now, svcs...)
	}
	batches := []sources.Batch{batch(0), batch(1)}
	s := NewStore(DefaultConfig())
	s.Apply(batches[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		bt := batches[i%2]
		bt.At = at(i + 1)
		s.Apply(bt)
	}
}

// BenchmarkApplyQueues20000 folds full broker polls of 20,000 queues
// (unsorted, every depth changing every poll), histories at their bound.
func BenchmarkApplyQueues20000(b *testing.B) {
	const n = 20000
	perm := shuffled(n)
	qs := make([]sources.Queue, n)
	for i, k := range perm {
		name := fmt.Sprintf("reply_%032x", k)
		switch {
		case k%10 == 0:
			name = fmt.Sprintf("compute.compute-%05d", k)
		case k%10 == 1:
			name = fmt.Sprintf("compute_fanout_%032x", k)
		}
		qs[i] = sources.Queue{VHost: "/", Name: name, Consumers: 1}
	}
	s := NewStore(DefaultConfig())
	for p := range s.cfg.QueueSamples + 10 { // fill the histories
		s.Apply(rabbitBatch(p, qs...))
	}
	p := s.cfg.QueueSamples + 10
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range qs {
			qs[i].Messages = int64(p % 7)
		}
		s.Apply(rabbitBatch(p, qs...))
		p++
	}
}

// BenchmarkApplyHeartbeats folds batches of 100 heartbeats (4 processes
// each) from 1,000 hosts into a cloud that also has 20,000 queues and
// 5,000 services, which a heartbeat batch must not rebuild.
func BenchmarkApplyHeartbeats(b *testing.B) {
	const hosts, per = 1000, 100
	s := NewStore(DefaultConfig())
	qs := make([]sources.Queue, 20000)
	for i := range qs {
		qs[i] = queue(fmt.Sprintf("reply_%032x", i), 0)
	}
	s.Apply(rabbitBatch(0, qs...))
	svcs := make([]sources.Service, 5000)
	for i := range svcs {
		svcs[i] = svc("nova-compute", fmt.Sprintf("compute-%05d", i), sources.StateUp, t0)
	}
	s.Apply(novaBatch(t0, svcs...))

	procs := make([][]sources.Process, hosts)
	names := make([]string, hosts)
	for h := range hosts {
		names[h] = fmt.Sprintf("compute-%05d", h)
		procs[h] = []sources.Process{
			proc("nova-compute", 1000+h, 0), proc("neutron-ovs-agent", 2000+h, 0),
			proc("ovs-vswitchd", 3000+h, 0), proc("libvirtd", 4000+h, 0),
		}
	}
	perm := shuffled(hosts)
	seq := make([]uint64, hosts)
	batch := make([]sources.Heartbeat, per)
	start := t0.Add(time.Minute)
	next := 0
	fill := func(k int) {
		now := start.Add(time.Duration(k) * time.Millisecond)
		for i := range batch {
			h := perm[next%hosts]
			next++
			seq[h]++
			batch[i] = sources.Heartbeat{
				Host: names[h], BootID: "b", Uptime: time.Hour, Seq: seq[h], SentAt: now, ReceivedAt: now,
				Interval: 10 * time.Second, AgentVersion: "1", Processes: procs[h],
			}
		}
	}
	for k := range hosts / per { // every host known
		fill(k)
		s.Apply(sources.Batch{Source: sources.NameHeartbeat, At: batch[per-1].ReceivedAt, Health: sources.Health{OK: true}, Heartbeats: batch})
	}
	b.ReportAllocs()
	b.ResetTimer()
	k := hosts / per
	for b.Loop() {
		b.StopTimer()
		fill(k)
		k++
		b.StartTimer()
		s.Apply(sources.Batch{Source: sources.NameHeartbeat, At: batch[per-1].ReceivedAt, Health: sources.Health{OK: true}, Heartbeats: batch})
	}
	perHB := float64(b.Elapsed().Nanoseconds()) / float64(b.N*per)
	b.ReportMetric(perHB, "ns/heartbeat")
	b.ReportMetric(1e9/perHB, "heartbeats/s")
}

// BenchmarkApplyRPCPings folds a batch of RPC pings of a fifteenth of
// 5,000 services (what rpcping delivers each second at its default
// interval) into a cloud that also has 20,000 queues.
func BenchmarkApplyRPCPings(b *testing.B) {
	const services, per = 5000, 5000 / 15
	s := NewStore(DefaultConfig())
	qs := make([]sources.Queue, 20000)
	for i := range qs {
		qs[i] = queue(fmt.Sprintf("reply_%032x", i), 0)
	}
	s.Apply(rabbitBatch(0, qs...))
	svcs := make([]sources.Service, services)
	names := make([]string, services)
	for i := range svcs {
		names[i] = fmt.Sprintf("compute-%05d", i)
		svcs[i] = svc("nova-compute", names[i], sources.StateUp, t0)
	}
	s.Apply(novaBatch(t0, svcs...))
	batch := make([]sources.Probe, per)
	k := 0
	fill := func() {
		now := t0.Add(time.Duration(k+1) * time.Second)
		for i := range batch {
			batch[i] = sources.Probe{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: names[(k%15+15*i)%services], At: now, RTT: time.Millisecond, Result: sources.ProbeOK}
		}
		k++
	}
	for range 30 { // histories filling
		fill()
		s.Apply(sources.Batch{Source: "rpcping", At: batch[0].At, Health: sources.Health{OK: true}, Probes: batch})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		fill()
		b.StartTimer()
		s.Apply(sources.Batch{Source: "rpcping", At: batch[0].At, Health: sources.Health{OK: true}, Probes: batch})
	}
}
