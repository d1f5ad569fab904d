package state

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func eventLines(es []Event) string {
	var lines []string
	for _, e := range es {
		lines = append(lines, e.What(0)+" — "+e.Evidence)
	}
	return strings.Join(lines, "\n")
}

// TestVerdictEvents diffs explicit snapshots: a verdict that only grows or
// ages, or is recovering, is not a change; a new cause, thin evidence
// turning firm, another host named, and its clearing are.
func TestVerdictEvents(t *testing.T) {
	var tl timelineState
	broker := func(sum string, ev ...string) Verdict {
		return Verdict{Cause: CauseBroker, Summary: sum, Evidence: ev}
	}
	host := func(h string) Verdict {
		return Verdict{Cause: CauseHostDown, Summary: "host down: " + h, Hosts: []string{h}}
	}
	vs := []Verdict{
		{},
		{Cause: CauseBroker, Thin: true, Summary: "possible broker problem (thin evidence: canary only): canary 2/3 failed"},
		broker("broker-wide problem suspected: 12 hosts since 22:30", "nova: 12 services down on 12 hosts", "heartbeat: canary timing out"),
		broker("broker-wide problem suspected: 13 hosts since 22:30, canary failing", "nova: 13 services down on 13 hosts"),
		{Cause: CauseBroker, Summary: "recovered at 22:31:00, clearing: was broker-wide problem suspected", Quiet: at(5)},
		{},
		host("compute-1"),
		host("compute-1"),
		host("compute-2"),
		{},
	}
	var got []Event
	prev := &Snapshot{}
	for n, v := range vs {
		s := &Snapshot{At: at(n), Verdict: v}
		got = append(got, tl.deriveEvents(&sources.Batch{}, prev, s, nil, nil, nil, time.Time{})...)
		prev = s
	}
	want := "verdict: possible broker problem (thin evidence: canary only): canary 2/3 failed — \n" +
		"verdict: broker-wide problem suspected: 12 hosts since 22:30 — nova: 12 services down on 12 hosts; heartbeat: canary timing out\n" +
		"verdict cleared — was: recovered at 22:31:00, clearing: was broker-wide problem suspected\n" +
		"verdict: host down: compute-1 — \n" +
		"verdict: host down: compute-2 — \n" +
		"verdict cleared — was: host down: compute-2"
	if g := eventLines(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
	if len(got) != 6 || got[0].Level != LevelProblem || got[2].Level != LevelRecovery {
		t.Fatalf("events %+v", got)
	}
}

func TestGroupEventsKeepsRepeatsApart(t *testing.T) {
	e := func(sec int, host, ev string) Event {
		return Event{At: t0.Add(time.Duration(sec) * time.Second), Kind: EventService, Subject: "nova-compute", Change: "down", Hosts: []string{host}, Evidence: ev, GroupEvidence: "Nova: state down", Source: "nova"}
	}
	got := GroupEvents([]Event{e(0, "c2", "a"), e(5, "c1", "b"), e(10, "c2", "c"), e(50, "c3", "d"), {At: t0.Add(51 * time.Second), Kind: EventVerdict, Subject: "verdict:", Change: "x"}}, 30*time.Second)
	want := "nova-compute down on 2 hosts: c1, c2 (over 5s) — Nova: state down\n" +
		"nova-compute down on c2 — c\n" +
		"nova-compute down on c3 — d\n" +
		"verdict: x — "
	if g := eventLines(got); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
}

// down returns a Nova poll at poll n of hosts c00..c(n-1), those in down down.
func downPoll(n, hosts int, down func(h int) bool) sources.Batch {
	now := at(n)
	var svcs []sources.Service
	for h := range hosts {
		st, upd := sources.StateUp, now
		if down(h) {
			st, upd = sources.StateDown, now.Add(-time.Minute)
		}
		svcs = append(svcs, svc("nova-compute", fmt.Sprintf("c%02d", h), st, upd))
	}
	return novaBatch(now, svcs...)
}

// TestTimelineGroupsLive: the store groups the same change on several
// hosts within TimelineGroup as the events arrive, across Applies, and
// keeps Changes one per host; the result is GroupEvents of all Changes.
func TestTimelineGroupsLive(t *testing.T) {
	s := NewStore(Config{})
	var all []Event
	apply := func(b sources.Batch) *Snapshot {
		snap := s.Apply(b)
		all = append(all, snap.Changes...)
		return snap
	}
	apply(downPoll(0, 6, func(int) bool { return false }))
	apply(downPoll(1, 6, func(h int) bool { return h < 2 }))          // c00, c01 down
	apply(downPoll(2, 6, func(h int) bool { return h < 4 }))          // c02, c03 down 10 s later: same group
	apply(downPoll(6, 6, func(h int) bool { return h < 5 }))          // c04 down 50 s after the first: a group of its own
	snap := apply(downPoll(7, 6, func(h int) bool { return h >= 5 })) // all up but c05, which goes down 10 s after c04

	tl := snap.Timeline
	got := eventLines(tl)
	for _, want := range []string{
		"nova-compute down on 4 hosts: c00, c01, c02, c03 (over 10s) — Nova: state down",
		"nova-compute down on 2 hosts: c04, c05 (over 10s) — Nova: state down",
		"nova-compute up on 5 hosts: c00, c01, c02, c03, c04 — Nova: state up again",
		"Nova lists 6 services: 6 up — all up",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("timeline lacks %q:\n%s", want, got)
		}
	}
	if !slices.IsSortedFunc(tl, func(a, b Event) int { return cmpNewest(&a, &b) }) {
		t.Errorf("not newest first:\n%s", got)
	}
	ids := map[uint64]bool{}
	for _, e := range tl {
		if e.ID == 0 || ids[e.ID] {
			t.Errorf("ID %d of %q not unique", e.ID, e.What(0))
		}
		ids[e.ID] = true
	}
	for _, e := range all {
		if len(e.Hosts) > 1 {
			t.Errorf("a change lists %d hosts: %q", len(e.Hosts), e.What(0))
		}
	}
	// The live timeline is the batch grouping of every change, newest first.
	batch := GroupEvents(all, s.Config().TimelineGroup)
	slices.Reverse(batch)
	if g, w := eventLines(tl), eventLines(batch); g != w {
		t.Errorf("live timeline\n%s\ndiffers from GroupEvents\n%s", g, w)
	}
}

// memberLines lists a grouped event's members, one "host at evidence" each.
func memberLines(e Event) string {
	var b strings.Builder
	for _, m := range e.Members {
		fmt.Fprintf(&b, "%s %s %s\n", m.Host, m.At.Sub(t0), m.Evidence)
	}
	return b.String()
}

// TestTimelineGroupMembers: a grouped event keeps each host with its own
// time and evidence, live as in GroupEvents; a snapshot already handed out
// keeps the members it had when a later Apply grows the group.
func TestTimelineGroupMembers(t *testing.T) {
	s := NewStore(Config{})
	var all []Event
	apply := func(b sources.Batch) *Snapshot {
		snap := s.Apply(b)
		all = append(all, snap.Changes...)
		return snap
	}
	apply(downPoll(0, 4, func(int) bool { return false }))
	first := apply(downPoll(1, 4, func(h int) bool { return h < 2 })) // c00, c01 down
	snap := apply(downPoll(2, 4, func(h int) bool { return h < 3 }))  // c02 down 10 s later
	var group Event
	for _, e := range snap.Timeline {
		if e.Change == "down" {
			group = e
		}
	}
	last := "Nova: state down, last report " // the evidence names the times
	got := memberLines(group)
	for _, want := range []string{"c00 " + at(1).Sub(t0).String() + " " + last, "c01 " + at(1).Sub(t0).String() + " " + last, "c02 " + at(2).Sub(t0).String() + " " + last} {
		if !strings.Contains(got, want) {
			t.Errorf("members lack %q:\n%s", want, got)
		}
	}
	if len(group.Members) != 3 {
		t.Errorf("%d members, want 3:\n%s", len(group.Members), got)
	}
	for _, e := range first.Timeline {
		if e.Change == "down" && len(e.Members) != 2 {
			t.Errorf("the earlier snapshot's group changed: %d members\n%s", len(e.Members), memberLines(e))
		}
	}
	batch := GroupEvents(all, s.Config().TimelineGroup)
	for _, e := range batch {
		if e.Change == "down" && memberLines(e) != got {
			t.Errorf("GroupEvents members\n%s\ndiffer from the live ones\n%s", memberLines(e), got)
		}
	}
}

// TestTimelineGroupMembersBounded: a group of more hosts than MaxMembers
// names them all in Hosts and keeps MaxMembers members.
func TestTimelineGroupMembersBounded(t *testing.T) {
	var in []Event
	for i := range MaxMembers + 10 {
		in = append(in, Event{At: t0.Add(time.Duration(i) * time.Millisecond), Kind: EventRestart, Subject: "nova-compute", Change: "restarted",
			Hosts: []string{fmt.Sprintf("c%05d", i)}, Evidence: "pid", Source: "heartbeat"})
	}
	got := GroupEvents(in, 30*time.Second)
	if len(got) != 1 || len(got[0].Hosts) != MaxMembers+10 || len(got[0].Members) != MaxMembers {
		t.Fatalf("%d events, %d hosts, %d members", len(got), len(got[0].Hosts), len(got[0].Members))
	}
}

// TestTimelineBounded: the timeline keeps at most MaxEvents events, none
// older than Retention, and an Apply that derives nothing shares it.
func TestTimelineBounded(t *testing.T) {
	s := NewStore(Config{Retention: 10 * time.Minute, MaxEvents: 20})
	var snap *Snapshot
	for i := range 200 { // c00 flaps every poll for 2000 s
		snap = s.Apply(downPoll(i, 2, func(h int) bool { return h == 0 && i%2 == 1 }))
		if len(snap.Timeline) > 20 {
			t.Fatalf("poll %d: %d events", i, len(snap.Timeline))
		}
		if n := len(snap.Timeline); n > 0 && snap.Timeline[n-1].At.Before(snap.At.Add(-10*time.Minute)) {
			t.Fatalf("poll %d: an event from %s, older than the retention", i, snap.Timeline[n-1].At)
		}
	}
	if len(snap.Timeline) != 20 {
		t.Errorf("%d events, want the 20 newest", len(snap.Timeline))
	}
	next := s.Apply(sources.Batch{At: snap.At})
	if len(next.Changes) != 0 || &next.Timeline[0] != &snap.Timeline[0] {
		t.Errorf("an Apply without changes rebuilt the timeline (%d changes)", len(next.Changes))
	}
	// Everything ages out.
	last := s.Apply(sources.Batch{At: snap.At.Add(11 * time.Minute)})
	if len(last.Timeline) != 0 {
		t.Errorf("%d events after the retention", len(last.Timeline))
	}
	if len(s.tl.open) != 0 {
		t.Errorf("%d open groups kept after the retention", len(s.tl.open))
	}
}

// TestHeartbeatEvents: lost after five intervals, back, a new host started;
// hosts dropped by the retention are forgotten.
func TestHeartbeatEvents(t *testing.T) {
	s := NewStore(Config{Retention: 10 * time.Minute})
	var all []Event
	ap := func(b sources.Batch) { all = append(all, s.Apply(b).Changes...) }
	ap(hbBatch(hb("a", 1, at(0)), hb("b", 1, at(0))))
	ap(hbBatch(hb("a", 2, at(6)))) // b silent for 60 s: lost (interval 10 s → 50 s)
	ap(hbBatch(hb("a", 3, at(7)), hb("b", 2, at(7)), hb("c", 1, at(7))))
	got := eventLines(all)
	for _, want := range []string{
		"heartbeats from 2 hosts — all fresh",
		"heartbeats lost on b — last heartbeat 12:00:00 (seq 1), none for 5 intervals of 10s",
		"heartbeats back on b — heartbeat seq 2;",
		"heartbeats started on c — first heartbeat, seq 1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q:\n%s", want, got)
		}
	}
	if len(s.tl.lost) != 0 {
		t.Errorf("lost hosts remembered: %v", s.tl.lost)
	}
}

// TestRPCEvents: a service's RPC ping going from answering to failing, on
// two hosts within the group window, is one grouped event; more failures
// add nothing; answering again is one event per host; a ping of a service
// Nova does not list, or that answers all along, is no event.
func TestRPCEvents(t *testing.T) {
	s := NewStore(Config{})
	var all []Event
	apply := func(b sources.Batch) { all = append(all, s.Apply(b).Changes...) }
	apply(downPoll(0, 3, func(int) bool { return false }))
	ping := func(n int, res map[string]sources.ProbeResult) sources.Batch {
		b := sources.Batch{Source: "rpcping", At: at(n), Health: sources.Health{OK: true}}
		for _, h := range []string{"c00", "c01", "c02", "gone"} {
			r, ok := res[h]
			if !ok {
				r = sources.ProbeOK
			}
			rtt := 3 * time.Millisecond
			if r == sources.ProbeTimeout {
				rtt = 2 * time.Second
			}
			b.Probes = append(b.Probes, sources.Probe{Kind: sources.ProbeRPC, Binary: "nova-compute", Host: h, At: at(n), RTT: rtt, Result: r, Detail: map[bool]string{true: "pong"}[r == sources.ProbeOK]})
		}
		return b
	}
	timeout := sources.ProbeTimeout
	apply(ping(1, nil))
	apply(ping(2, map[string]sources.ProbeResult{"c01": timeout, "gone": timeout}))
	apply(ping(3, map[string]sources.ProbeResult{"c01": timeout, "c02": timeout}))
	apply(ping(4, map[string]sources.ProbeResult{"c02": timeout}))
	apply(ping(5, nil))
	var rpc []Event
	for _, e := range all {
		if e.Kind == EventRPC {
			rpc = append(rpc, e)
		}
	}
	want := "nova-compute RPC ping failing on c01 — timeout after 2s\n" +
		"nova-compute RPC ping failing on c02 — timeout after 2s\n" +
		"nova-compute answering RPC again on c01 — round trip 3ms\n" +
		"nova-compute answering RPC again on c02 — round trip 3ms"
	if g := eventLines(rpc); g != want {
		t.Errorf("changes\n%s\nwant\n%s", g, want)
	}
	for i, e := range rpc {
		if wantLevel := []EventLevel{LevelProblem, LevelProblem, LevelRecovery, LevelRecovery}[i]; e.Level != wantLevel || e.Source != "rpcping" {
			t.Errorf("%s: level %v source %q", e.What(0), e.Level, e.Source)
		}
	}
	var grouped []string
	for _, e := range s.Snapshot().Timeline {
		if e.Kind == EventRPC {
			grouped = append(grouped, e.What(0)+" — "+e.Evidence)
		}
	}
	if g := strings.Join(grouped, "\n"); !strings.Contains(g, "nova-compute RPC ping failing on 2 hosts: c01, c02 (over 10s) — timeout") {
		t.Errorf("timeline does not group the failing pings:\n%s", g)
	}
}
