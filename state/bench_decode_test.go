package state_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/heartbeat"
	"github.com/stacktop/stacktop/state"
)

// BenchmarkDecodeAndApplyHeartbeats measures the whole receive path the
// 50,000 heartbeats/s target is about: decoding each payload with
// heartbeat.Decode and folding batches of 100 from 1,000 hosts.
func BenchmarkDecodeAndApplyHeartbeats(b *testing.B) {
	const hosts, per = 1000, 100
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	payloads := make([][][]byte, 0, 16) // rounds of payloads, seq advancing
	for r := range 16 {
		var round [][]byte
		for h := range hosts {
			m := heartbeat.Message{
				Host: fmt.Sprintf("compute-%05d", h), BootID: "8d1c7f0e-boot", UptimeSec: 3600, Seq: uint64(r + 1),
				SentAt: t0.Add(time.Duration(r) * 10 * time.Second), IntervalMS: 10000, Agent: "1.0.0",
				Processes: []heartbeat.Proc{
					{Name: "nova-compute", PID: 1000 + h, Start: t0}, {Name: "neutron-ovs-agent", PID: 2000 + h, Start: t0},
					{Name: "ovs-vswitchd", PID: 3000 + h, Start: t0}, {Name: "libvirtd", PID: 4000 + h, Start: t0},
				},
			}
			p, err := heartbeat.Encode(m)
			if err != nil {
				b.Fatal(err)
			}
			round = append(round, p)
		}
		payloads = append(payloads, round)
	}
	s := state.NewStore(state.DefaultConfig())
	batch := make([]sources.Heartbeat, 0, per)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		r, h := (n/hosts)%len(payloads), n%hosts
		recv := t0.Add(time.Duration(n) * time.Millisecond)
		batch = batch[:0]
		for i := range per {
			hb, err := heartbeat.Decode(payloads[r][h+i], recv)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, hb)
		}
		n += per
		s.Apply(sources.Batch{Source: sources.NameHeartbeat, At: recv, Health: sources.Health{OK: true}, Heartbeats: batch})
	}
	perHB := float64(b.Elapsed().Nanoseconds()) / float64(b.N*per)
	b.ReportMetric(perHB, "ns/heartbeat")
	b.ReportMetric(1e9/perHB, "heartbeats/s")
}
