package state

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Typed inputs for the rules, one piece at a time.
func sig(k SignalKind) Signal {
	return Signal{Kind: k, Source: "test", At: t0, Now: true, Text: k.String() + " text"}
}

func hostIn(host string, b Beat, p PingState, missing string) HostInput {
	return HostInput{Host: host, Down: "nova-compute", Since: t0, Beat: b, LastSeen: t0, Ping: p, PingText: "ping text", Missing: missing}
}

// peer is a host whose nova-compute is down, as on both hosts running one.
func peer(host string, b Beat, missing string) HostInput {
	h := hostIn(host, b, PingNone, missing)
	h.PeersDown = "2/2 nova-compute"
	return h
}

func healthySources() []SourceInput {
	return []SourceInput{{Name: "heartbeat"}, {Name: "nova"}, {Name: "rabbitmq"}, {Name: "rpcping"}}
}

// TestRulesAlone evaluates each rule of the table by itself on typed inputs.
func TestRulesAlone(t *testing.T) {
	refused := func(names ...string) []SourceInput {
		out := healthySources()
		for i := range out {
			if slices.Contains(names, out[i].Name) {
				out[i].Failing, out[i].Failures, out[i].Kind = true, 3, sources.FailRefused
			}
		}
		return out
	}
	tests := []struct {
		rule     string
		in       VerdictInputs
		fires    bool
		contains string
	}{
		{"blind", VerdictInputs{Blind: blind(refused("nova", "rabbitmq", "heartbeat", "rpcping")), Sources: refused("nova", "rabbitmq", "heartbeat", "rpcping")}, true, "cannot see the cloud: heartbeat (refused), nova (refused)"},
		{"blind", VerdictInputs{Blind: blind(refused("rabbitmq", "heartbeat", "rpcping"))}, false, ""}, // the broker's sources only: Nova answers
		{"broker-wide", VerdictInputs{ManyAffected: true, Affected: 8, AffectedHosts: 8, Down: 8, Signals: []Signal{sig(SigCanary)}}, true, "broker-wide problem suspected: 8 services on 8 hosts down, canary text"},
		{"broker-wide", VerdictInputs{ManyAffected: true, Affected: 8}, false, ""},
		{"broker", VerdictInputs{Affected: 2, AffectedHosts: 2, Down: 2, Signals: []Signal{sig(SigAMQP), sig(SigMgmt)}}, true, "broker problem suspected: 2 services on 2 hosts down"},
		{"broker", VerdictInputs{Signals: []Signal{sig(SigAMQP), sig(SigMgmt)}}, true, "broker problem, services not affected yet: "},
		{"broker", VerdictInputs{Episode: true, Signals: []Signal{sig(SigAMQP), sig(SigMgmt)}}, true, "broker problem, services up again: "},
		{"broker", VerdictInputs{Signals: []Signal{sig(SigAMQP)}}, false, ""},
		{"auth", VerdictInputs{Auth: true, AuthErr: "nova: list services: timed out; Keystone unreachable: connection refused"}, true, "auth outage, data stale: nova polls failing authenticating"},
		{"auth", VerdictInputs{}, false, ""},
		{"auth", VerdictInputs{KeystoneSlow: true, AuthErr: "nova: authenticate: timed out"}, false, ""}, // a timeout is no outage
		{"keystone slow", VerdictInputs{KeystoneSlow: true, AuthErr: "nova: authenticate: timed out"}, true, "Keystone slow or down, Nova data stale: nova polls failing, Keystone not answering in time: nova: authenticate: timed out"},
		{"keystone slow", VerdictInputs{Auth: true}, false, ""},
		{"conductor", VerdictInputs{CondPinged: 1, CondTimedOut: 1, CompPinged: 3, CompAnswered: 3, BrokerProven: true}, true, "conductor problem: RPC pings of 1/1 nova-conductor timing out while 3/3 nova-compute answer"},
		{"conductor", VerdictInputs{CondPinged: 1, CondTimedOut: 1, CompPinged: 3, CompAnswered: 3}, false, ""},                     // the broker not proven
		{"conductor", VerdictInputs{CondPinged: 2, CondTimedOut: 1, CompPinged: 3, CompAnswered: 1, BrokerProven: true}, false, ""}, // computes fail too
		{"possible broker", VerdictInputs{Signals: []Signal{sig(SigBacklog)}}, true, "possible broker problem (thin evidence: queue backlog only): queue backlog text"},
		{"possible broker", VerdictInputs{Signals: []Signal{sig(SigBacklog), sig(SigCanary)}}, false, ""},
		{"widespread", VerdictInputs{ManyAffected: true, Affected: 8, AffectedHosts: 8, Flapping: 8}, true, "widespread service trouble, cause unclear: 8 services on 8 hosts flapping; no broker signal"},
		{"host down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatLost, PingFailed, "")}}, true, "host down: c1"},
		{"host down", VerdictInputs{ManyDown: true, DownByHost: []HostInput{hostIn("c1", BeatLost, PingFailed, "")}}, false, ""},
		{"host down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatStale, PingFailed, "")}}, false, ""},
		{"process", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingFailed, "")}}, true, "service process problem: nova-compute on c1"},
		{"process", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingNone, "nova-compute")}}, true, "service process problem: nova-compute on c1"},
		{"process", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatStale, PingFailed, "")}}, false, ""},                   // not yet lost is not fresh
		{"process", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingUndelivered, "")}}, false, ""},              // a blocked ping proves nothing of the process
		{"process, no RPC data", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingUndelivered, "")}}, false, ""}, // nor is it "no data"
		{"service down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingUndelivered, "")}}, true, "service down, cause unclear (thin evidence): nova-compute on c1"},
		{"process, no RPC data", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingNone, "")}}, true, "service process problem: nova-compute on c1 (no RPC data)"},
		{"process", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatReturned, PingFailed, "")}}, false, ""},            // a host coming back: its services follow
		{"process, no RPC data", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatReturned, PingNone, "")}}, false, ""}, // likewise
		{"service down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatReturned, PingAnswered, "")}}, false, ""},     // the incident's own verdict holds
		{"process", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingPending, "")}}, false, ""},              // answered before it went down: not yet known
		{"process, no RPC data", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingPending, "")}}, false, ""}, // nor is it "no data"
		{"service down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingPending, "")}}, true, "service down, cause unclear (thin evidence): nova-compute on c1"},
		{"host down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatReturned, PingFailed, "")}}, false, ""},
		{"peers down", VerdictInputs{DownByHost: []HostInput{peer("c1", BeatFresh, ""), peer("c2", BeatFresh, "")}}, true, "services down, cause unclear (thin evidence): 2/2 nova-compute down at once, their hosts beating: a shared dependency (conductor, broker, database?) rather than separate process problems: nova-compute on c1; nova-compute on c2"},
		{"peers down", VerdictInputs{DownByHost: []HostInput{peer("c1", BeatFresh, ""), peer("c2", BeatFresh, "nova-compute")}}, false, ""}, // a peer's process gone: its own problem
		{"peers down", VerdictInputs{DownByHost: []HostInput{peer("c1", BeatStale, ""), peer("c2", BeatLost, "")}}, false, ""},
		{"peers down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingNone, "")}}, false, ""}, // the exception among its peers
		{"service down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatNone, PingNone, "")}}, true, "service down, cause unclear (thin evidence): nova-compute on c1"},
		{"service down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatFresh, PingAnswered, "")}}, true, "service down, cause unclear"},
		{"service down", VerdictInputs{DownByHost: []HostInput{hostIn("c1", BeatStale, PingNone, "")}}, false, ""},
	}
	for _, tt := range tests {
		k := slices.IndexFunc(rules, func(r rule) bool { return r.name == tt.rule })
		if k < 0 {
			t.Fatalf("no rule %q", tt.rule)
		}
		s, ok := rules[k].fire(&tt.in)
		if ok != tt.fires || !strings.Contains(s.summary, tt.contains) {
			t.Errorf("%s: fires %v %q, want %v %q", tt.rule, ok, s.summary, tt.fires, tt.contains)
		}
		if ok && (s.scope == "" || len(s.findings) == 0) {
			t.Errorf("%s: no scope or no findings: %+v", tt.rule, s)
		}
	}
}

// TestRuleOrder: the table's order, and what wins when several rules fire.
func TestRuleOrder(t *testing.T) {
	var names []string
	for _, r := range rules {
		names = append(names, r.name)
	}
	want := []string{"blind", "broker-wide", "broker", "auth", "keystone slow", "conductor", "possible broker", "widespread", "host down", "peers down", "process", "process, no RPC data", "service down"}
	if !slices.Equal(names, want) {
		t.Fatalf("rules %q\nwant %q", names, want)
	}
	lost := []HostInput{hostIn("c1", BeatLost, PingFailed, "")}
	procFail := []HostInput{hostIn("c1", BeatFresh, PingFailed, "")}
	conductor := VerdictInputs{CondPinged: 1, CondTimedOut: 1, CompPinged: 2, CompAnswered: 2, BrokerProven: true}
	blindSrc := []SourceInput{{Name: "nova", Failing: true, Kind: sources.FailTimeout}, {Name: "rabbitmq", Failing: true, Kind: sources.FailTimeout}, {Name: "heartbeat", Failing: true, Kind: sources.FailRefused}}
	for _, tt := range []struct {
		name string
		in   VerdictInputs
		want string
	}{
		{"blind beats the broker signals it causes", VerdictInputs{Blind: blind(blindSrc), Sources: blindSrc, Signals: []Signal{sig(SigAMQP), sig(SigMgmt)}}, "blind"},
		{"two broker signals beat auth", VerdictInputs{Auth: true, Signals: []Signal{sig(SigAMQP), sig(SigMgmt)}}, "broker"},
		{"auth beats one broker signal", VerdictInputs{Auth: true, Signals: []Signal{sig(SigCanary)}}, "auth"},
		{"one broker signal beats a host down (heartbeats cross the broker)", VerdictInputs{DownByHost: lost, Signals: []Signal{sig(SigCanary)}}, "possible broker"},
		{"one broker signal beats a process problem (RPC pings cross the broker)", VerdictInputs{DownByHost: procFail, Signals: []Signal{sig(SigCanary)}}, "possible broker"},
		{"the conductor pattern with a broker signal is no conductor verdict", func() VerdictInputs {
			in := conductor
			in.BrokerProven = false
			in.Signals = []Signal{sig(SigCanary)}
			return in
		}(), "possible broker"},
		{"conductor beats a host down", func() VerdictInputs { in := conductor; in.DownByHost = lost; return in }(), "conductor"},
		{"host down beats process on another host", VerdictInputs{DownByHost: []HostInput{hostIn("c2", BeatFresh, PingFailed, ""), lost[0]}}, "host down"},
		{"every compute down at once, hosts beating: peers down, no process verdict", VerdictInputs{DownByHost: []HostInput{peer("c1", BeatFresh, ""), peer("c2", BeatFresh, "")}}, "peers down"},
		{"a peer's process gone: process", VerdictInputs{DownByHost: []HostInput{peer("c1", BeatFresh, ""), peer("c2", BeatFresh, "nova-compute")}}, "process"},
		{"nothing", VerdictInputs{}, ""},
	} {
		i, _ := evaluate(&tt.in)
		got := ""
		if i >= 0 {
			got = rules[i].name
		}
		if got != tt.want {
			t.Errorf("%s: %q speaks, want %q", tt.name, got, tt.want)
		}
	}
}

// TestVerdictScenarios: whole timelines through the store, for what the
// rules must never say.
func TestVerdictScenarios(t *testing.T) {
	refused := func(from, to int) func(n int) string {
		return func(n int) string {
			if between(n, from, to) {
				return "connection refused"
			}
			return ""
		}
	}
	tests := []struct {
		name  string
		w     world
		last  int
		want  map[int]Cause
		never []Cause
	}{
		{
			// Issue 9: during a broker stop the conductor's pings cannot
			// even be sent while the computes' last answers stand.
			name: "broker stopped: conductor pings unsent, computes answered before",
			w: world{computes: 2, hbErr: refused(5, 12), mgmtErr: refused(5, 12),
				rpc: func(n int, b, h string) sources.ProbeResult {
					if b == "nova-conductor" && between(n, 5, 12) {
						return sources.ProbeError
					}
					return sources.ProbeOK
				}},
			last: 14, want: map[int]Cause{5: CauseBroker, 12: CauseBroker},
			never: []Cause{CauseConductor, CauseHostDown, CauseProcess, CauseBlind},
		},
		{
			name: "conductor pings time out while the canary fails: not the conductor",
			w: world{computes: 10, canary: func(n int) (sources.ProbeResult, time.Duration) {
				if n >= 5 {
					return sources.ProbeTimeout, 5 * time.Second
				}
				return sources.ProbeOK, time.Millisecond
			}, rpc: func(n int, b, h string) sources.ProbeResult {
				if b == "nova-conductor" && n >= 5 {
					return sources.ProbeTimeout
				}
				return sources.ProbeOK
			}},
			last: 10, want: map[int]Cause{6: CauseBroker}, never: []Cause{CauseConductor},
		},
		{
			// Issue 9: Nova's down time came before the heartbeat loss, and
			// silence so far counted as heartbeats continuing.
			name: "host down: Nova says down before the heartbeats are lost",
			w: world{computes: 10, silent: func(n int, h string) bool { return n >= 5 && h == "compute-02" },
				down: func(n int, _, h string) bool { return n >= 7 && h == "compute-02" }},
			last: 12, want: map[int]Cause{8: CauseNone, 10: CauseHostDown}, never: []Cause{CauseProcess, CauseServiceDown, CauseBroker},
		},
		{
			name: "every source refused: blind, never the broker",
			w:    world{computes: 10, novaErr: refused(5, 20), novaKind: sources.FailRefused, hbErr: refused(5, 20), mgmtErr: refused(5, 20)},
			last: 12, want: map[int]Cause{5: CauseBlind, 12: CauseBlind}, never: []Cause{CauseBroker, CauseAuth, CauseHostDown, CauseProcess},
		},
		{
			name: "the heartbeat source still connecting at start-up is no broker signal",
			w:    world{computes: 10, hbErr: refused(0, 3), hbKind: sources.FailPending},
			last: 6, never: []Cause{CauseBroker, CauseBlind},
		},
		{
			name: "a legacy recording's failures (kind unknown) are never blind",
			w:    world{computes: 10, novaErr: refused(5, 20), novaKind: sources.FailUnknown, hbErr: refused(5, 20), hbKind: sources.FailUnknown, mgmtErr: refused(5, 20), mgmtKind: sources.FailUnknown},
			last: 8, never: []Cause{CauseBlind, CauseAuth},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := tt.w.run(tt.last)
			for n, v := range vs {
				if slices.Contains(tt.never, v.Cause) {
					t.Errorf("poll %d: %v %q", n, v.Cause, v.Summary)
				}
			}
			for n, c := range tt.want {
				if vs[n].Cause != c {
					t.Errorf("poll %d: %v %q, want %v", n, vs[n].Cause, vs[n].Summary, c)
				}
			}
		})
	}
}

// TestVerdictClearing: after the last symptom the verdict is told in the
// past tense, keeps its cause, and clears within 30 s; never "not affected
// yet" after services were affected.
func TestVerdictClearing(t *testing.T) {
	failing := func(from, to int) func(n int) (sources.ProbeResult, time.Duration) {
		return func(n int) (sources.ProbeResult, time.Duration) {
			if between(n, from, to) {
				return sources.ProbeTimeout, 5 * time.Second
			}
			return sources.ProbeOK, 2 * time.Millisecond
		}
	}
	stop := func(n int) string {
		if between(n, 5, 9) {
			return "refused"
		}
		return ""
	}
	tests := []struct {
		name        string
		w           world
		lastSymptom int // the last poll with a symptom
		last        int
	}{
		{"broker outage, services flapping", world{computes: 10, down: flapping(6, 6, 14), canary: failing(6, 14)}, 14, 30},
		{"small-cloud broker stop", world{computes: 2, hbErr: stop, mgmtErr: stop, down: func(n int, b, _ string) bool { return b == "nova-compute" && between(n, 6, 11) }}, 11, 25},
		{"host down and back", world{computes: 10, silent: func(n int, h string) bool { return between(n, 3, 12) && h == "compute-03" }, down: func(n int, _, h string) bool { return between(n, 9, 13) && h == "compute-03" }}, 13, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := tt.w.run(tt.last)
			cause := vs[tt.lastSymptom].Cause
			if cause == CauseNone {
				t.Fatalf("no verdict at the last symptom")
			}
			for n := tt.lastSymptom + 1; n <= tt.last; n++ {
				v := vs[n]
				if v.Cause == CauseNone {
					if after := at(n).Sub(at(tt.lastSymptom)); after > 30*time.Second {
						t.Errorf("cleared %v after the last symptom", after)
					}
					for m := n; m <= tt.last; m++ {
						if vs[m].Cause != CauseNone {
							t.Errorf("poll %d: %q after clearing", m, vs[m].Summary)
						}
					}
					return
				}
				if v.Cause != cause || v.Quiet.IsZero() || !strings.HasPrefix(v.Summary, "recovered at ") || !strings.Contains(v.Headline, "recovered") ||
					strings.Contains(v.Summary, "not affected yet") {
					t.Errorf("poll %d: %v %q / %q, want %v in the past tense", n, v.Cause, v.Summary, v.Headline, cause)
				}
			}
			t.Errorf("never cleared; last %q", vs[tt.last].Summary)
		})
	}
}

// TestRPCOf: how a host's down services' last pings stand. A ping answered
// counts as "answers while down" only if it was sent once the service was
// seen down: one sent before is pending (the process may have died just
// after answering), and the finding then points nowhere (not at the
// conductor or the database, as "answers RPC" does).
func TestRPCOf(t *testing.T) {
	down := t0.Add(10 * time.Second) // when stacktop saw the service down
	ping := func(at time.Duration, r sources.ProbeResult) *RPCPing {
		return &RPCPing{At: down.Add(at), Result: r}
	}
	svc := func(binary string, p *RPCPing) *Service {
		return &Service{Key: ServiceKey{Binary: binary, Host: "c1"}, Cond: CondDown, Since: down, RPC: p}
	}
	cases := []struct {
		name string
		svcs []*Service
		want PingState
		text string
	}{
		{"no ping", []*Service{svc("nova-compute", nil)}, PingNone, "no RPC data"},
		{"answered after it was seen down", []*Service{svc("nova-compute", ping(time.Second, sources.ProbeOK))}, PingAnswered, "RPC pings answered (1)"},
		{"answered when it was seen down", []*Service{svc("nova-compute", ping(0, sources.ProbeOK))}, PingAnswered, "RPC pings answered (1)"},
		{"answered before it was seen down", []*Service{svc("nova-scheduler", ping(-5*time.Second, sources.ProbeOK))}, PingPending,
			"RPC ping answered at 12:00:05, before it was seen down: the next ping decides"},
		{"one answered after, one before", []*Service{svc("nova-compute", ping(time.Second, sources.ProbeOK)), svc("nova-network", ping(-time.Second, sources.ProbeOK))}, PingPending,
			"RPC ping answered at 12:00:09, before it was seen down: the next ping decides"},
		{"timed out after one answered before", []*Service{svc("nova-scheduler", ping(-3*time.Second, sources.ProbeTimeout))}, PingFailed, "RPC ping of nova-scheduler timeout at 12:00:07"},
		{"one timed out, one answered before", []*Service{svc("nova-compute", ping(-time.Second, sources.ProbeOK)), svc("nova-network", ping(time.Second, sources.ProbeTimeout))}, PingFailed,
			"RPC ping of nova-network timeout at 12:00:11"},
		{"blocked, one answered before", []*Service{svc("nova-compute", ping(-time.Second, sources.ProbeOK)), svc("nova-network", ping(time.Second, sources.ProbeBlocked))}, PingUndelivered,
			"RPC ping of nova-network blocked at 12:00:11: not delivered, says nothing of the process"},
		{"up services are not asked", []*Service{{Key: ServiceKey{Binary: "nova-compute", Host: "c1"}, Cond: CondUp, Since: down, RPC: ping(-time.Second, sources.ProbeOK)}}, PingNone, "no RPC data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, got := rpcOf(c.svcs)
			if got != c.want || text != c.text {
				t.Errorf("rpcOf = %d %q, want %d %q", got, text, c.want, c.text)
			}
		})
	}
	// The finding for a host whose pings are pending names no cause.
	h := HostInput{Host: "vm", Down: "nova-scheduler", Since: down, Beat: BeatFresh, LastSeen: down, Ping: PingPending, PingText: "RPC ping answered at 12:00:05, before it was seen down: the next ping decides"}
	if f := hostFinding(&h, down.Add(time.Second)); strings.Contains(f.Text, "answers RPC") || strings.Contains(f.Text, "conductor") || !strings.Contains(f.Text, "the next ping decides") {
		t.Errorf("finding %q", f.Text)
	}
}
