package state

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func hbBatch(hbs ...sources.Heartbeat) sources.Batch {
	last := hbs[len(hbs)-1].ReceivedAt
	return sources.Batch{Source: sources.NameHeartbeat, At: last, Health: sources.Health{OK: true}, Heartbeats: hbs}
}

func hb(host string, seq uint64, recv time.Time, procs ...sources.Process) sources.Heartbeat {
	return sources.Heartbeat{
		Host: host, BootID: "boot-1111-aaaa", Uptime: time.Hour, Seq: seq,
		SentAt: recv.Add(-2 * time.Second), ReceivedAt: recv, Interval: poll, AgentVersion: "1.0",
		Processes: procs,
	}
}

func proc(name string, pid int, startMin int) sources.Process {
	return sources.Process{Name: name, PID: pid, StartedAt: t0.Add(time.Duration(startMin) * time.Minute)}
}

func TestHeartbeats(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(hbBatch(hb("n2", 1, at(0)), hb("n1", 5, at(0))))
	snap := s.Apply(hbBatch(hb("n1", 6, at(1)), hb("n2", 4, at(1)), hb("n1", 6, at(1)))) // n2 missed 2; n1 duplicated
	if len(snap.Hosts) != 2 || snap.Hosts[0].Name != "n1" || snap.Hosts[1].Name != "n2" {
		t.Fatalf("hosts %+v", snap.Hosts)
	}
	n1, _ := snap.Host("n1")
	n2, _ := snap.Host("n2")
	if n1.Gaps != 0 || n1.Seq != 6 || n2.Gaps != 2 || n2.Seq != 4 {
		t.Errorf("gaps n1=%d seq %d, n2=%d seq %d; want 0 6, 2 4", n1.Gaps, n1.Seq, n2.Gaps, n2.Seq)
	}
	if n1.Skew != -2*time.Second || !n1.LastSeen.Equal(at(1)) || n1.Interval != poll || n1.AgentVersion != "1.0" {
		t.Errorf("n1 %+v", n1)
	}
	// The agent restarted (seq went down): not a gap.
	snap = s.Apply(hbBatch(hb("n2", 1, at(2))))
	if n2, _ = snap.Host("n2"); n2.Gaps != 2 || n2.Seq != 1 {
		t.Errorf("after agent restart gaps %d seq %d, want 2 1", n2.Gaps, n2.Seq)
	}
	if len(snap.Restarts) != 0 {
		t.Errorf("restarts %+v, want none", snap.Restarts)
	}
	// Reboot: boot id changes.
	r := hb("n2", 1, at(3))
	r.BootID, r.Uptime = "boot-2222-bbbb", 40*time.Second
	snap = s.Apply(hbBatch(r))
	if len(snap.Restarts) != 1 || snap.Restarts[0].Kind != RestartHost || snap.Restarts[0].Where != "n2" ||
		snap.Restarts[0].Evidence != "boot id changed from boot-111 to boot-222, up 40s" {
		t.Errorf("restarts %+v, want one host restart of n2", snap.Restarts)
	}
}

func TestProcessRestarts(t *testing.T) {
	cases := []struct {
		name     string
		polls    [][]sources.Process
		evidence []string // newest first
	}{
		{"steady", [][]sources.Process{
			{proc("nova-compute", 100, 0)},
			{proc("nova-compute", 100, 0)},
		}, nil},
		{"new pid", [][]sources.Process{
			{proc("nova-compute", 100, 0), proc("ovs-vswitchd", 50, 0)},
			{proc("nova-compute", 200, 7), proc("ovs-vswitchd", 50, 0)},
		}, []string{"pid 100 → 200, started 12:07:00"}},
		{"pid reused with a new start time", [][]sources.Process{
			{proc("nova-compute", 100, 0)},
			{proc("nova-compute", 100, 3)},
		}, []string{"pid 100 restarted: started 12:03:00, was 12:00:00"}},
		{"gone then back with another pid", [][]sources.Process{
			{proc("nova-compute", 100, 0)},
			{},
			{},
			{proc("nova-compute", 300, 9)},
		}, []string{"back after being gone: pid 100 → 300, started 12:09:00"}},
		{"missing from one heartbeat, same pid back", [][]sources.Process{
			{proc("nova-compute", 100, 0)},
			{},
			{proc("nova-compute", 100, 0)},
		}, nil},
		{"a newly installed process is not a restart", [][]sources.Process{
			{proc("nova-compute", 100, 0)},
			{proc("nova-compute", 100, 0), proc("neutron-ovs-agent", 400, 5)},
		}, nil},
		{"several workers of one name, one replaced", [][]sources.Process{
			{proc("nova-api", 10, 0), proc("nova-api", 11, 0), proc("nova-api", 12, 0)},
			{proc("nova-api", 10, 0), proc("nova-api", 13, 4), proc("nova-api", 12, 0)},
		}, []string{"pid 11 → 13, started 12:04:00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore(DefaultConfig())
			var snap *Snapshot
			for i, procs := range c.polls {
				snap = s.Apply(hbBatch(hb("c1", uint64(i+1), at(i), procs...)))
			}
			var got []string
			for _, r := range snap.Restarts {
				if r.Kind != RestartProcess || r.Where != "c1" || r.Source != sources.NameHeartbeat {
					t.Errorf("restart %+v", r)
				}
				got = append(got, r.Evidence)
			}
			if strings.Join(got, "\n") != strings.Join(c.evidence, "\n") {
				t.Errorf("evidence %q, want %q", got, c.evidence)
			}
		})
	}
}

func TestRebootSuppressesProcessRestarts(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(hbBatch(hb("c1", 9, at(0), proc("nova-compute", 100, 0))))
	r := hb("c1", 1, at(1), proc("nova-compute", 200, 1))
	r.BootID, r.Uptime = "boot-new", 8*time.Second // up less than the 10 s since the old boot was heard
	snap := s.Apply(hbBatch(r))
	if len(snap.Restarts) != 1 || snap.Restarts[0].Kind != RestartHost {
		t.Errorf("restarts %+v, want only the host restart", snap.Restarts)
	}
	if h, _ := snap.Host("c1"); len(h.Processes) != 1 || h.Processes[0].PID != 200 {
		t.Errorf("processes %+v", h.Processes)
	}
}

func TestHeartbeatBatchNotRetained(t *testing.T) {
	s := NewStore(DefaultConfig())
	procs := []sources.Process{proc("nova-compute", 100, 0)}
	snap := s.Apply(hbBatch(hb("c1", 1, at(0), procs...)))
	procs[0].PID = 999
	if h, _ := snap.Host("c1"); h.Processes[0].PID != 100 {
		t.Errorf("snapshot shares the batch's process slice")
	}
}

func TestLiveness(t *testing.T) {
	cases := []struct {
		interval, age time.Duration
		want          Liveness
	}{
		{10 * time.Second, 0, LiveFresh},
		{10 * time.Second, 25 * time.Second, LiveFresh},
		{10 * time.Second, 26 * time.Second, LiveLate},
		{10 * time.Second, 50 * time.Second, LiveLate},
		{10 * time.Second, 51 * time.Second, LiveLost},
		{time.Minute, 2 * time.Minute, LiveFresh},
		{0, 30 * time.Second, LiveLate}, // unknown interval counts as 10 s
	}
	for _, c := range cases {
		h := Host{LastSeen: t0, Interval: c.interval}
		if got := h.Liveness(t0.Add(c.age)); got != c.want {
			t.Errorf("interval %v age %v: %v, want %v", c.interval, c.age, got, c.want)
		}
		if got := h.Age(t0.Add(c.age)); got != c.age {
			t.Errorf("Age = %v, want %v", got, c.age)
		}
	}
}

func TestSilentHostsExpire(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Retention = 5 * time.Minute
	s := NewStore(cfg)
	s.Apply(hbBatch(hb("quiet", 1, at(0)), hb("chatty", 1, at(0))))
	var snap *Snapshot
	for i := 1; i <= 40; i++ {
		snap = s.Apply(hbBatch(hb("chatty", uint64(i+1), at(i))))
	}
	if _, ok := snap.Host("quiet"); ok || len(snap.Hosts) != 1 {
		t.Errorf("host silent for 6m40s kept with 5m retention: %+v", snap.Hosts)
	}
}

// TestConflictingHeartbeats: two senders under one host name (a copied
// host name, or a forged heartbeat) alternate boot ids. That is counted and
// said once, never read as a reboot per heartbeat or as process restarts;
// a real reboot still is one.
func TestConflictingHeartbeats(t *testing.T) {
	type msg struct {
		boot    string
		uptime  time.Duration
		pid     int
		seqBase uint64
	}
	a := msg{"boot-aaaa-1111", 3 * time.Hour, 100, 0}
	b := msg{"boot-bbbb-2222", 9 * time.Hour, 200, 1000}
	bFake := msg{"boot-bbbb-2222", 5 * time.Second, 200, 1000} // claims to have just booted
	reboot := msg{"boot-cccc-3333", 5 * time.Second, 300, 0}
	alternate := func(x, y msg, n int) []msg {
		var out []msg
		for i := range n {
			out = append(out, []msg{x, y}[i%2])
		}
		return out
	}
	cases := []struct {
		name          string
		msgs          []msg
		restarts      int // host restarts
		events        int // "conflicting" events in the timeline
		conflicting   bool
		conflictCount int
	}{
		{"steady", alternate(a, a, 10), 0, 0, false, 0},
		{"a real reboot", []msg{a, a, reboot, reboot}, 1, 0, false, 0},
		{"two senders alternate", alternate(a, b, 20), 0, 1, true, 19},
		{"a sender posing as a reboot, then alternating", alternate(a, bFake, 20), 1, 1, true, 18},
		{"the other sender stops: the conflict ends", append(alternate(a, b, 4), alternate(a, a, 16)...), 0, 1, false, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore(DefaultConfig())
			var snap *Snapshot
			for i, m := range c.msgs {
				h := hb("compute-07", m.seqBase+uint64(i+1), at(i), proc("nova-compute", m.pid, 0))
				h.BootID, h.Uptime = m.boot, m.uptime
				snap = s.Apply(hbBatch(h))
			}
			host, _ := snap.Host("compute-07")
			restarts, procRestarts := 0, 0
			for _, r := range snap.Restarts {
				switch r.Kind {
				case RestartHost:
					restarts++
				case RestartProcess:
					procRestarts++
				}
			}
			events := 0
			for _, e := range snap.Timeline {
				if e.Kind == EventHeartbeat && e.Change == "conflicting" {
					events++
					if !strings.Contains(e.Evidence, "two senders claim this name") || len(e.Hosts) != 1 || e.Hosts[0] != "compute-07" {
						t.Errorf("event %+v", e)
					}
				}
			}
			if restarts != c.restarts || procRestarts != 0 {
				t.Errorf("host restarts %d, process restarts %d; want %d, 0: %+v", restarts, procRestarts, c.restarts, snap.Restarts)
			}
			if events != c.events {
				t.Errorf("conflict events %d, want %d", events, c.events)
			}
			if got := host.Conflicting(snap.At); got != c.conflicting || host.Conflicts != c.conflictCount {
				t.Errorf("conflicting %v with %d, want %v with %d", got, host.Conflicts, c.conflicting, c.conflictCount)
			}
			if host.Gaps != 0 {
				t.Errorf("gaps %d: the two senders' sequence numbers were compared", host.Gaps)
			}
		})
	}
}

// TestFloodIsNotABrokerFailure: a heartbeat feed failing because of a flood
// (a kind other than a connection's) says nothing about the broker.
func TestFloodIsNotABrokerFailure(t *testing.T) {
	for _, c := range []struct {
		kind     sources.FailureKind
		evidence bool
	}{{sources.FailBehind, false}, {sources.FailRefused, true}} {
		s := NewStore(DefaultConfig())
		s.Apply(hbBatch(hb("c1", 1, at(0))))
		var snap *Snapshot
		for i := 1; i < 4; i++ {
			snap = s.Apply(sources.Batch{Source: sources.NameHeartbeat, At: at(i), Health: sources.Health{
				Err: "heartbeat: flood from flooder (900 over 16 a batch): other hosts' silence proves nothing", Kind: c.kind}})
		}
		all := snap.Verdict.Summary
		for _, f := range snap.Verdict.Findings {
			all += " " + f.Text
		}
		if got := strings.Contains(all, "AMQP connection failing"); got != c.evidence {
			t.Errorf("kind %s: verdict %v %q, AMQP evidence %v, want %v", c.kind, snap.Verdict.Cause, all, got, c.evidence)
		}
	}
}

// TestHeartbeatBatchSharesHosts: a heartbeat batch copies only the hosts
// it changes; the others are shared with the previous snapshot, whose
// hosts stay as they were.
func TestHeartbeatBatchSharesHosts(t *testing.T) {
	s := NewStore(DefaultConfig())
	var all []sources.Heartbeat
	for i := range 100 {
		all = append(all, hb(fmt.Sprintf("n%03d", i), 1, at(0)))
	}
	before := s.Apply(hbBatch(all...))
	after := s.Apply(hbBatch(hb("n007", 2, at(1)), hb("n042", 2, at(1)), hb("n042", 3, at(1))))
	if len(after.Hosts) != 100 {
		t.Fatalf("%d hosts", len(after.Hosts))
	}
	for i, h := range after.Hosts {
		changed := h.Name == "n007" || h.Name == "n042"
		if shared := h == before.Hosts[i]; shared == changed {
			t.Errorf("%s: shared with the previous snapshot %v, changed by the batch %v", h.Name, shared, changed)
		}
	}
	if h, _ := before.Host("n042"); h.Seq != 1 || !h.LastSeen.Equal(at(0)) {
		t.Errorf("the previous snapshot's n042 changed: seq %d, last seen %v", h.Seq, h.LastSeen)
	}
	if h, _ := after.Host("n042"); h.Seq != 3 || !h.LastSeen.Equal(at(1)) {
		t.Errorf("n042: seq %d, last seen %v", h.Seq, h.LastSeen)
	}
}

// TestLostAtOnce: only heartbeats that stopped together count as a mass
// loss. Hosts silent since earlier (agents stopped, hosts decommissioned)
// are no part of it, neither lost nor known: with them, one host down read
// as "heartbeats from 3/5 hosts stopped" and a broker suspicion.
func TestLostAtOnce(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 17, 30, 0, time.UTC)
	// agent is a host whose heartbeats stopped silent ago, after beating
	// for the given time as this receiver saw it, with the agent's seq.
	type agent struct {
		silent, beating time.Duration
		seq             uint64
	}
	steady := func(silent time.Duration) agent { return agent{silent, time.Hour, 1800} }
	tests := []struct {
		name              string
		hosts             []agent
		wantLost, wantAll int
	}{
		{"one host down, two departed before", []agent{steady(0), steady(time.Second), steady(12 * time.Second), steady(30 * time.Second), steady(45 * time.Second)}, 1, 3},
		{"broker outage: every heartbeat stopped within one interval", []agent{steady(11 * time.Second), steady(12 * time.Second), steady(12500 * time.Millisecond), steady(13 * time.Second)}, 4, 4},
		{"outage beside a host gone for ten minutes", []agent{steady(11 * time.Second), steady(12 * time.Second), steady(13 * time.Second), steady(10 * time.Minute), steady(0)}, 3, 4},
		{"none lost", []agent{steady(0), steady(time.Second)}, 0, 2},
		// Session 7: other tests' agents, run for seconds, stopped within
		// two intervals of the host-down fault.
		{"one host down beside brief agents stopped with it", []agent{steady(0), steady(12 * time.Second), {11 * time.Second, 8 * time.Second, 9}, {13 * time.Second, 20 * time.Second, 21}}, 1, 2},
		{"one heartbeat sent by hand", []agent{steady(0), steady(12 * time.Second), {12 * time.Second, 0, 1}}, 1, 2},
		{"stacktop just started: the agents' own count says they were running", []agent{
			{11 * time.Second, 4 * time.Second, 5000}, {12 * time.Second, 3 * time.Second, 5000}, {0, 15 * time.Second, 5000}}, 2, 3},
		{"a sequence number near the maximum does not overflow", []agent{steady(0), {12 * time.Second, 0, math.MaxUint64}}, 1, 2},
	}
	for _, tt := range tests {
		var hosts []*Host
		for _, a := range tt.hosts {
			last := now.Add(-a.silent)
			hosts = append(hosts, &Host{Name: "h", LastSeen: last, BeatingSince: last.Add(-a.beating), Seq: a.seq, Interval: 2 * time.Second})
		}
		lost, known := lostAtOnce(hosts, now)
		if lost != tt.wantLost || known != tt.wantAll {
			t.Errorf("%s: lostAtOnce = %d of %d, want %d of %d", tt.name, lost, known, tt.wantLost, tt.wantAll)
		}
	}
}
