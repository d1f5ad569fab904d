package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// world is a small cloud on an explicit timeline of 10 s polls: computes
// compute-01 … compute-NN run nova-compute, ctl-1 runs nova-conductor.
// Each hook says what happens at poll n; nil hooks mean "healthy".
type world struct {
	computes  int
	down      func(n int, binary, host string) bool                // Nova lists the service down
	silent    func(n int, host string) bool                        // the host's heartbeats stopped
	canary    func(n int) (sources.ProbeResult, time.Duration)     // "" for no canary
	rpc       func(n int, binary, host string) sources.ProbeResult // "" for no ping
	novaErr   func(n int) string                                   // the nova poll fails with this
	novaKind  sources.FailureKind                                  // … of this kind ("" for other)
	novaKinds func(n int) sources.FailureKind                      // … or of this kind at poll n, when set
	hbKind    sources.FailureKind                                  // the kind of hbErr ("" for refused)
	mgmtKind  sources.FailureKind                                  // the kind of mgmtErr ("" for refused)
	hbErr     func(n int) string                                   // the heartbeat source's connection fails
	mgmtErr   func(n int) string                                   // the rabbitmq source's poll fails
	nodes     func(n int) []sources.Node                           // broker nodes; nil: healthy
	backlog   func(n int) int64                                    // messages on the conductor queue
	stalled   func(n int) bool                                     // stacktop itself saw nothing at poll n (suspended, starved)
}

func (w world) hosts() []string {
	var hs []string
	for i := 1; i <= w.computes; i++ {
		hs = append(hs, fmt.Sprintf("compute-%02d", i))
	}
	return append(hs, "ctl-1")
}

func binaryOf(host string) string {
	if host == "ctl-1" {
		return "nova-conductor"
	}
	return "nova-compute"
}

// batches is what the sources emit at poll n: heartbeats (with the canary
// and RPC pings), then Nova, then RabbitMQ.
func (w world) batches(n int) []sources.Batch {
	now := at(n)
	var out []sources.Batch
	if w.stalled != nil && w.stalled(n) {
		return nil
	}

	hbb := sources.Batch{Source: sources.NameHeartbeat, At: now, Health: sources.Health{OK: true, Interval: poll}}
	if w.hbErr != nil && w.hbErr(n) != "" {
		hbb.Health = sources.Health{Err: w.hbErr(n), Kind: or(w.hbKind, sources.FailRefused), Interval: poll}
	} else {
		hbb.Heartbeats = []sources.Heartbeat{}
		for i, h := range w.hosts() {
			if w.silent != nil && w.silent(n, h) {
				continue
			}
			hbb.Heartbeats = append(hbb.Heartbeats, hb(h, uint64(n+1), now, proc(binaryOf(h), 100+i, 0)))
		}
		if w.canary != nil {
			if res, rtt := w.canary(n); res != "" {
				hbb.Probes = append(hbb.Probes, sources.Probe{Kind: sources.ProbeCanary, At: now.Add(-rtt), RTT: rtt, Result: res})
			}
		} else {
			hbb.Probes = append(hbb.Probes, sources.Probe{Kind: sources.ProbeCanary, At: now.Add(-2 * time.Millisecond), RTT: 2 * time.Millisecond, Result: sources.ProbeOK})
		}
		if w.rpc != nil {
			for _, h := range w.hosts() {
				if res := w.rpc(n, binaryOf(h), h); res != "" {
					hbb.Probes = append(hbb.Probes, sources.Probe{Kind: sources.ProbeRPC, Binary: binaryOf(h), Host: h, At: now.Add(-time.Second), RTT: time.Second, Result: res})
				}
			}
		}
	}
	out = append(out, hbb)

	if w.novaErr != nil && w.novaErr(n) != "" {
		kind := w.novaKind
		if w.novaKinds != nil {
			kind = w.novaKinds(n)
		}
		out = append(out, sources.Batch{Source: sources.NameNova, At: now, Health: sources.Health{Err: w.novaErr(n), Kind: or(kind, sources.FailOther), Interval: poll}})
	} else {
		var svcs []sources.Service
		for _, h := range w.hosts() {
			b := binaryOf(h)
			if w.down != nil && w.down(n, b, h) {
				svcs = append(svcs, svc(b, h, sources.StateDown, now.Add(-70*time.Second)))
			} else {
				svcs = append(svcs, svc(b, h, sources.StateUp, now.Add(-time.Second)))
			}
		}
		out = append(out, novaBatch(now, svcs...))
	}

	nodes := []sources.Node{node("rabbit@mq-1", time.Duration(n+100)*poll), node("rabbit@mq-2", time.Duration(n+100)*poll)}
	if w.nodes != nil {
		nodes = w.nodes(n)
	}
	depth := int64(0)
	if w.backlog != nil {
		depth = w.backlog(n)
	}
	rb := nodesBatch(n, &sources.Overview{ClusterName: "c"}, nodes...)
	rb.Queues = []sources.Queue{queue("conductor", depth), queue("reply_0123abcd", 0)}
	if w.mgmtErr != nil && w.mgmtErr(n) != "" {
		rb = sources.Batch{Source: sources.NameRabbitMQ, At: now, Health: sources.Health{Err: w.mgmtErr(n), Kind: or(w.mgmtKind, sources.FailRefused), Interval: poll}}
	}
	out = append(out, rb)
	return out
}

// or is k, or def when k is "".
func or(k, def sources.FailureKind) sources.FailureKind {
	if k == "" {
		return def
	}
	return k
}

// expect is what the verdict must be after poll n.
type expect struct {
	cause    Cause
	thin     bool
	contains []string
	lacks    []string // words this verdict must not say
}

// run folds polls 0..last and returns the verdict after each poll.
func (w world) run(last int) []Verdict {
	s := NewStore(DefaultConfig())
	var vs []Verdict
	for n := 0; n <= last; n++ {
		bs := w.batches(n)
		if len(bs) == 0 { // nothing folded: the verdict on screen stays
			vs = append(vs, vs[len(vs)-1])
			continue
		}
		var snap *Snapshot
		for _, b := range bs {
			snap = s.Apply(b)
		}
		vs = append(vs, snap.Verdict)
	}
	return vs
}

func between(n, from, to int) bool { return n >= from && n <= to }

// flapping: the nova-compute of compute-01 … compute-k go down on alternate
// polls, each host in its own phase, from poll from to poll to.
func flapping(k, from, to int) func(n int, binary, host string) bool {
	return func(n int, binary, host string) bool {
		var i int
		if _, err := fmt.Sscanf(host, "compute-%d", &i); err != nil || i > k || !between(n, from, to) {
			return false
		}
		return (n+i)%3 != 0
	}
}

func TestVerdictTimelines(t *testing.T) {
	failing := func(from, to int) func(n int) (sources.ProbeResult, time.Duration) {
		return func(n int) (sources.ProbeResult, time.Duration) {
			if between(n, from, to) && n%2 == 0 { // every other canary: the verdict must not flicker
				return sources.ProbeTimeout, 5 * time.Second
			}
			return sources.ProbeOK, 2 * time.Millisecond
		}
	}
	compute07 := func(host string) bool { return host == "compute-07" }
	cases := []struct {
		name  string
		w     world
		last  int
		want  map[int]expect // checked after these polls
		hold  [2]int         // [from, to]: the verdict's Cause and Since must not change in between
		never []Cause        // causes that must never be reached
		zero  [2]int         // [from, to]: the verdict is zero throughout
		open  [2]int         // [from, to]: a verdict, not told as recovered, throughout
		// unsaid: words no verdict may say
		unsaid string
	}{
		{
			name: "healthy cloud: no verdict",
			w:    world{computes: 10},
			last: 30,
			zero: [2]int{0, 30},
		},
		{
			// Seen in the scenario matrix's healthy run: no batch from any
			// source for 17 s (the recorder starved on the loaded machine),
			// then "possible broker problem: no broker data since 05:26:05"
			// from the first batch after it, before the broker's own poll
			// had a chance to run.
			name:  "stacktop itself stalled: every source silent at once, then back",
			w:     world{computes: 10, stalled: func(n int) bool { return between(n, 10, 12) }},
			last:  30,
			zero:  [2]int{0, 30},
			never: []Cause{CauseBroker, CauseBlind, CauseAuth},
		},
		{
			// Seen in the scenario matrix: a memory alarm blocked every RPC
			// ping while nova-scheduler happened to be down, its host
			// beating; "service process problem" showed for a second.
			name: "pings the broker blocks prove nothing of a process",
			w: world{computes: 10, down: func(n int, _, h string) bool { return n >= 5 && h == "ctl-1" },
				rpc: func(n int, _, h string) sources.ProbeResult {
					if n >= 5 && h == "ctl-1" { // the first ping the alarm blocks
						return sources.ProbeBlocked
					}
					return sources.ProbeOK
				}},
			last:  12,
			never: []Cause{CauseProcess, CauseHostDown, CauseConductor},
		},
		{
			// Seen in the scenario matrix (conductor-stop, run 1): the
			// conductor's first ping timed out before the next canary proved
			// the broker, and for one snapshot the process rule named
			// "service process problem: nova-conductor" before the conductor
			// rule, higher in the table, replaced it: two causes in one
			// incident. The conductor pattern is the conductor rule's to name.
			name: "a conductor's timed-out ping before the broker is proven: wait for the conductor rule",
			w: world{computes: 10, down: func(n int, _, h string) bool { return n >= 5 && h == "ctl-1" },
				rpc: func(n int, _, h string) sources.ProbeResult {
					if n >= 5 && h == "ctl-1" {
						return sources.ProbeTimeout
					}
					return sources.ProbeOK
				},
				canary: func(n int) (sources.ProbeResult, time.Duration) {
					if n == 5 { // no canary yet since the ping timed out
						return "", 0
					}
					return sources.ProbeOK, 2 * time.Millisecond
				}},
			last:  12,
			want:  map[int]expect{6: {cause: CauseConductor, contains: []string{"conductor problem: RPC pings of 1/1 nova-conductor timing out while 10/10 nova-compute answer"}}},
			never: []Cause{CauseProcess, CauseHostDown, CauseBroker},
		},
		{
			name: "broker outage: services flap everywhere, canary fails, then recovery",
			w:    world{computes: 10, down: flapping(6, 6, 20), canary: failing(6, 20)},
			last: 40,
			want: map[int]expect{
				9:  {cause: CauseBroker, contains: []string{"broker-wide problem suspected: ", "services on ", "hosts down", "canary ", "failed"}},
				20: {cause: CauseBroker, contains: []string{"broker-wide problem suspected"}},
			},
			hold:  [2]int{9, 21},
			never: []Cause{CauseHostDown, CauseProcess},
			zero:  [2]int{28, 40},
		},
		{
			name:  "a single compute killed: host down, not the broker",
			w:     world{computes: 10, silent: func(n int, h string) bool { return n >= 5 && compute07(h) }, down: func(n int, _, h string) bool { return n >= 11 && compute07(h) }},
			last:  20,
			want:  map[int]expect{11: {cause: CauseHostDown, contains: []string{"host down: compute-07"}}, 20: {cause: CauseHostDown}},
			never: []Cause{CauseBroker, CauseWidespread},
			zero:  [2]int{0, 10},
		},
		{
			// Seen on the dev cloud (scenario host-down): the agent came back
			// before nova-compute had reported, and the verdict turned into
			// "service process problem" for 13 s. A host coming back is still
			// the host's incident: its services follow.
			name: "a host back before its services: host down holds, never a process problem",
			w: world{computes: 10,
				silent: func(n int, h string) bool { return between(n, 5, 19) && compute07(h) },
				down:   func(n int, _, h string) bool { return between(n, 11, 27) && compute07(h) },
				rpc: func(n int, b, h string) sources.ProbeResult {
					if between(n, 11, 27) && compute07(h) {
						return sources.ProbeTimeout
					}
					return sources.ProbeOK
				}},
			last:  60,
			want:  map[int]expect{12: {cause: CauseHostDown, contains: []string{"host down: compute-07"}}, 26: {cause: CauseHostDown}},
			hold:  [2]int{12, 27},
			never: []Cause{CauseProcess, CauseBroker, CauseWidespread, CauseServiceDown},
		},
		{
			name: "process problem: heartbeats continue, RPC ping of that service times out",
			w: world{computes: 10, down: func(n int, _, h string) bool { return n >= 5 && h == "compute-03" },
				rpc: func(n int, b, h string) sources.ProbeResult {
					if n >= 5 && h == "compute-03" {
						return sources.ProbeTimeout
					}
					return sources.ProbeOK
				}},
			last: 12,
			want: map[int]expect{5: {cause: CauseProcess, contains: []string{"service process problem: nova-compute on compute-03"}},
				12: {cause: CauseProcess}},
			never: []Cause{CauseBroker, CauseHostDown},
		},
		{
			name:  "process problem without RPC data says so",
			w:     world{computes: 10, down: func(n int, _, h string) bool { return n >= 5 && h == "compute-03" }},
			last:  8,
			want:  map[int]expect{6: {cause: CauseProcess, thin: true, contains: []string{"service process problem: nova-compute on compute-03 (no RPC data)"}}},
			never: []Cause{CauseBroker, CauseHostDown},
		},
		{
			// Seen on the dev cloud: a dashboard started after someone
			// else's broker outage, the broker healthy again, Nova still
			// listing both computes down, no RPC data, no history: it read
			// "service process problems: nova-compute on compute-1;
			// nova-compute on compute-2 (no RPC data)". Every compute down
			// at once while its host beats is a shared dependency's mark.
			name:  "fresh dashboard mid-recovery: every compute down at once, hosts beating: no process verdict",
			w:     world{computes: 2, down: func(n int, b, _ string) bool { return b == "nova-compute" && n <= 8 }},
			last:  14,
			want:  map[int]expect{1: {cause: CauseServiceDown, thin: true, contains: []string{"services down, cause unclear (thin evidence): 2/2 nova-compute down at once, their hosts beating", "nova-compute on compute-01; nova-compute on compute-02"}}},
			hold:  [2]int{0, 8},
			never: []Cause{CauseProcess, CauseHostDown, CauseBroker},
		},
		{
			name:  "one compute of two down, its host beating: the exception, a process verdict",
			w:     world{computes: 2, down: func(n int, b, h string) bool { return h == "compute-02" && n >= 5 }},
			last:  8,
			want:  map[int]expect{6: {cause: CauseProcess, thin: true, contains: []string{"service process problem: nova-compute on compute-02 (no RPC data)"}}},
			never: []Cause{CauseServiceDown, CauseHostDown, CauseBroker},
		},
		{
			name: "conductor problem: conductor pings fail while computes answer",
			w: world{computes: 10, rpc: func(n int, b, h string) sources.ProbeResult {
				if n >= 5 && b == "nova-conductor" {
					return sources.ProbeTimeout
				}
				return sources.ProbeOK
			}, down: flapping(5, 8, 30)},
			last:  12,
			want:  map[int]expect{7: {cause: CauseConductor, contains: []string{"conductor problem: RPC pings of 1/1 nova-conductor timing out while 10/10 nova-compute answer, the broker healthy"}}, 12: {cause: CauseConductor}}, // the third timeout: every service still up
			never: []Cause{CauseBroker},
		},
		{
			// Seen in the healthy runs of the scenario matrix on a loaded
			// machine: conductor pings timed out (once, and once for 8 s)
			// while Nova listed every service up, and the header said
			// "conductor problem".
			name: "a busy conductor on a healthy cloud: no verdict; three timeouts in a row: conductor",
			w: world{computes: 10, rpc: func(n int, b, h string) sources.ProbeResult {
				if b == "nova-conductor" && (n == 5 || between(n, 7, 8) || n >= 11) {
					return sources.ProbeTimeout
				}
				return sources.ProbeOK
			}},
			last: 13,
			zero: [2]int{0, 12},
			want: map[int]expect{13: {cause: CauseConductor}},
		},
		{
			// Seen likewise: one management poll timed out on the loaded
			// machine: "possible broker problem (thin evidence: management
			// API only)" for 4 s.
			name: "one timed-out management poll: no verdict; two in a row: possible broker problem",
			w: world{computes: 10, mgmtKind: sources.FailTimeout, mgmtErr: func(n int) string {
				if n == 5 || n >= 12 {
					return "rabbitmq: list queues: timed out"
				}
				return ""
			}},
			last: 13,
			zero: [2]int{0, 12},
			want: map[int]expect{13: {cause: CauseBroker, thin: true, contains: []string{"management API failing (2 polls"}}},
		},
		{
			name: "Keystone refuses: auth outage, data stale",
			w: world{computes: 10, novaErr: func(n int) string {
				if n >= 5 {
					return "nova: authenticate: credentials refused (401)"
				}
				return ""
			}, novaKind: sources.FailAuth},
			last:  10,
			want:  map[int]expect{6: {cause: CauseAuth, contains: []string{"auth outage, data stale: ", "credentials refused (401)", "Nova data from 12:00:40"}}},
			never: []Cause{CauseBroker},
			zero:  [2]int{0, 4},
		},
		{
			name: "Keystone stopped, short polls: Nova times out, the source finds Keystone unreachable",
			w: world{computes: 10, novaErr: func(n int) string {
				if n >= 5 {
					return "nova: list services: timed out; Keystone unreachable: connection refused"
				}
				return ""
			}, novaKind: sources.FailKeystone},
			last:  8,
			want:  map[int]expect{5: {cause: CauseAuth, contains: []string{"Keystone unreachable: connection refused"}}},
			never: []Cause{CauseBroker},
		},
		{
			// Seen on the dev cloud: Keystone up but slow (1.3–10 s a token)
			// behind a short poll. 14 token requests timed out, read as
			// "auth outage"; then a token came, the service list timed out
			// (kind timeout), and the verdict cleared with Nova still failing.
			name: "Keystone slow: never an outage, never cleared while Nova fails",
			w: world{computes: 10, novaErr: func(n int) string {
				switch {
				case between(n, 5, 11):
					return "nova: authenticate: timed out"
				case between(n, 12, 24):
					return "nova: list services: timed out"
				}
				return ""
			}, novaKinds: func(n int) sources.FailureKind {
				if n < 12 {
					return sources.FailKeystoneTimeout
				}
				return sources.FailTimeout
			}},
			last: 36,
			want: map[int]expect{
				5:  {cause: CauseAuth, thin: true, contains: []string{"Keystone slow or down, Nova data stale: nova polls failing, Keystone not answering in time (1 poll, keystone-timeout): nova: authenticate: timed out"}},
				11: {cause: CauseAuth, thin: true, contains: []string{"Keystone slow or down", "(7 polls, keystone-timeout)"}, lacks: []string{"held"}},
				// The list times out now (Keystone answers): the verdict holds,
				// and says its 7-poll count is as of 12:02:00 (poll 12's
				// heartbeats, before its Nova batch).
				24: {cause: CauseAuth, thin: true, contains: []string{"Keystone slow or down", "(7 polls, keystone-timeout)", " · held, last confirmed 12:02:00"}},
				26: {cause: CauseAuth, thin: true, contains: []string{"recovered at 12:04:10, clearing: was Keystone slow or down"}},
			},
			hold:   [2]int{5, 26},
			never:  []Cause{CauseBroker, CauseBlind},
			zero:   [2]int{0, 4},
			unsaid: "outage",
			open:   [2]int{5, 24},
		},
		{
			// Issue 11 item 7: the server's words do not decide the verdict.
			name: "a Nova 500 whose text speaks of tokens and Keystone is no auth outage",
			w: world{computes: 10, novaErr: func(n int) string {
				if n >= 5 {
					return "nova: list services: HTTP 500 from GET http://nova/os-services: token authenticate Keystone credentials 401"
				}
				return ""
			}, novaKind: sources.FailHTTP5xx},
			last:  10,
			never: []Cause{CauseAuth},
		},
		{
			name: "thin evidence: canary slow only",
			w: world{computes: 10, canary: func(n int) (sources.ProbeResult, time.Duration) {
				if n >= 5 {
					return sources.ProbeOK, 1500 * time.Millisecond
				}
				return sources.ProbeOK, 2 * time.Millisecond
			}},
			last: 10,
			want: map[int]expect{7: {cause: CauseBroker, thin: true, contains: []string{"possible broker problem (thin evidence: canary only): canary slow: 3/"}}},
			zero: [2]int{0, 6},
		},
		{
			name: "broker alarm and backlog, services still fine: broker problem, not thin",
			w: world{computes: 10,
				nodes: func(n int) []sources.Node {
					m := node("rabbit@mq-1", time.Hour)
					m.MemAlarm = n >= 5
					return []sources.Node{m, node("rabbit@mq-2", time.Hour)}
				},
				backlog: func(n int) int64 { return int64(max(0, n-4) * 80) }},
			last: 12,
			want: map[int]expect{12: {cause: CauseBroker, contains: []string{"broker problem, services not affected yet: ", "mem alarm on rabbit@mq-1", "reply/conductor queues +480/min"}}},
		},
		{
			name: "broker-wide beats host-specific: a lost host is listed in the evidence",
			w: world{computes: 10, canary: failing(6, 30),
				down:   func(n int, b, h string) bool { return flapping(6, 6, 30)(n, b, h) || n >= 11 && compute07(h) },
				silent: func(n int, h string) bool { return n >= 5 && compute07(h) }},
			last:  16,
			want:  map[int]expect{16: {cause: CauseBroker, contains: []string{"broker-wide problem suspected"}}},
			never: []Cause{CauseHostDown},
		},
		{
			name: "AMQP connection down and management API failing name the broker before Nova notices",
			w: world{computes: 10,
				hbErr: func(n int) string {
					if n >= 5 {
						return `Exception (320) Reason: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"`
					}
					return ""
				},
				nodes: func(n int) []sources.Node {
					m := node("rabbit@mq-1", time.Hour)
					m.Running = n < 5
					return []sources.Node{m, node("rabbit@mq-2", time.Hour)}
				}},
			last: 6,
			want: map[int]expect{5: {cause: CauseBroker, contains: []string{"broker problem, services not affected yet: AMQP connection failing", "rabbit@mq-1 not running"}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := tc.w.run(tc.last)
			for n, v := range vs {
				for _, c := range tc.never {
					if v.Cause == c {
						t.Errorf("poll %d: reached %v: %q", n, c, v.Summary)
					}
				}
				if tc.zero != [2]int{} && between(n, tc.zero[0], tc.zero[1]) && (v.Cause != CauseNone || v.Summary != "" || v.Headline != "" || v.Evidence != nil) {
					t.Errorf("poll %d: want no verdict, got %v %q", n, v.Cause, v.Summary)
				}
				if v.Cause != CauseNone && (v.Summary == "" || strings.Contains(v.Summary, "\n") || v.Headline == "" || len(v.Headline) > 100 || len(v.Evidence) != len(v.Findings) || v.Since.IsZero()) {
					t.Errorf("poll %d: malformed verdict %+v", n, v)
				}
				if tc.open != [2]int{} && between(n, tc.open[0], tc.open[1]) && (v.Cause == CauseNone || !v.Quiet.IsZero()) {
					t.Errorf("poll %d: want the verdict open, got %v %q", n, v.Cause, v.Summary)
				}
				if tc.unsaid != "" && (strings.Contains(v.Summary, tc.unsaid) || strings.Contains(v.Headline, tc.unsaid)) {
					t.Errorf("poll %d: says %q: %q / %q", n, tc.unsaid, v.Summary, v.Headline)
				}
				if tc.hold != [2]int{} && between(n, tc.hold[0]+1, tc.hold[1]) {
					if p := vs[n-1]; v.Cause != p.Cause || v.Thin != p.Thin || !v.Since.Equal(p.Since) {
						t.Errorf("poll %d: verdict flickered from %v %q to %v %q", n, p.Cause, p.Summary, v.Cause, v.Summary)
					}
				}
			}
			for n, e := range tc.want {
				v := vs[n]
				if v.Cause != e.cause || v.Thin != e.thin {
					t.Errorf("poll %d: cause %v thin %v, want %v thin %v: %q", n, v.Cause, v.Thin, e.cause, e.thin, v.Summary)
				}
				for _, s := range e.contains {
					if !strings.Contains(v.Summary, s) {
						t.Errorf("poll %d: summary %q lacks %q", n, v.Summary, s)
					}
				}
				for _, s := range e.lacks {
					if strings.Contains(v.Summary, s) {
						t.Errorf("poll %d: summary %q says %q", n, v.Summary, s)
					}
				}
			}
			if testing.Verbose() {
				for n, v := range vs {
					if n == 0 || v.Summary != vs[n-1].Summary {
						t.Logf("poll %2d: %-10v %q", n, v.Cause, v.Summary)
					}
				}
			}
		})
	}
}

// TestVerdictBrokerEvidence checks the broker verdict's evidence: the
// services and the signal, and no per-host finding (a lost host among
// forty flapping is part of the broker incident; naming it points the
// reader at restarting services).
func TestVerdictBrokerEvidence(t *testing.T) {
	w := world{computes: 10,
		canary: func(n int) (sources.ProbeResult, time.Duration) {
			if n >= 6 {
				return sources.ProbeBlocked, 5 * time.Second
			}
			return sources.ProbeOK, time.Millisecond
		},
		down:   func(n int, b, h string) bool { return flapping(6, 6, 30)(n, b, h) || n >= 11 && h == "compute-07" },
		silent: func(n int, h string) bool { return n >= 5 && h == "compute-07" },
	}
	vs := w.run(14)
	v := vs[14]
	if v.Cause != CauseBroker || v.Thin {
		t.Fatalf("verdict %v %q", v.Cause, v.Summary)
	}
	// The first blocked canary (sent 5 s before poll 6) is the first evidence.
	if want := at(6).Add(-5 * time.Second); !v.Started.Equal(want) {
		t.Errorf("started %v, want the first blocked canary at %v", v.Started, want)
	}
	all := strings.Join(v.Evidence, "\n")
	for _, s := range []string{
		"nova: ", "services on ", "first went down 12:01:00",
		"heartbeat: canary 9/10 failed (last blocked 5.0s)",
	} {
		if !strings.Contains(all, s) {
			t.Errorf("evidence lacks %q:\n%s", s, all)
		}
	}
	if strings.Contains(all, "host down: compute-07") || strings.Contains(all, "process") {
		t.Errorf("a per-host finding under a broker verdict:\n%s", all)
	}
	for i, f := range v.Findings {
		if v.Evidence[i] != f.Source+": "+f.Text {
			t.Errorf("evidence %d %q does not match finding %+v", i, v.Evidence[i], f)
		}
	}
	for _, f := range v.Findings {
		if f.Kind == FindHost || f.Host != "" {
			t.Errorf("host finding %+v under a broker verdict", f)
		}
	}
}

// TestVerdictSmallCloudBrokerStop replays what TestIntegrationVerdict saw
// on the dev cloud (two computes and a controller) when the broker's
// application stopped: the AMQP connection and the management API fail at
// once, Nova calls both computes down a poll later while the controller's
// services stay up. Two hosts of three are not "many", so the verdict is
// not "broker-wide"; it used to say "services not affected yet" with every
// compute down. It must name the broker and the services it took down, and
// clear after recovery.
func TestVerdictSmallCloudBrokerStop(t *testing.T) {
	stopped := func(n int) bool { return between(n, 5, 9) }
	w := world{computes: 2,
		hbErr: func(n int) string {
			if stopped(n) {
				return "heartbeat: connect amqp://127.0.0.1:5672/: dial tcp 127.0.0.1:5672: connect: connection refused"
			}
			return ""
		},
		mgmtErr: func(n int) string {
			if stopped(n) {
				return "rabbitmq: list nodes: broker unreachable: http://127.0.0.1:15672/api/nodes: connection refused"
			}
			return ""
		},
		down: func(n int, b, h string) bool { return b == "nova-compute" && between(n, 6, 10) },
	}
	vs := w.run(25)
	for n := 0; n < 5; n++ {
		if vs[n].Cause != CauseNone {
			t.Errorf("poll %d: %v %q before the broker stopped", n, vs[n].Cause, vs[n].Summary)
		}
	}
	if v := vs[5]; v.Cause != CauseBroker || v.Thin || !strings.HasPrefix(v.Summary, "broker problem, services not affected yet: AMQP connection failing: ") {
		t.Errorf("poll 5: %v thin=%v %q", v.Cause, v.Thin, v.Summary)
	}
	for n := 6; n <= 10; n++ {
		v := vs[n]
		want := "broker problem suspected: 2 services on 2 hosts down since 12:01:00, "
		if v.Cause != CauseBroker || v.Thin || !strings.HasPrefix(v.Summary, want) || strings.Contains(v.Summary, "not affected") ||
			!strings.Contains(v.Summary, "connect: connection refused") || !strings.Contains(v.Summary, "management API failing") {
			t.Errorf("poll %d: %v thin=%v %q, want the broker naming the services: %q…", n, v.Cause, v.Thin, v.Summary, want)
		}
		if !v.Started.Equal(at(5)) || !v.Since.Equal(vs[5].Since) {
			t.Errorf("poll %d: started %v since %v, want the broker's first signal %v and the verdict held since poll 5", n, v.Started, v.Since, at(5))
		}
		if len(v.Findings) == 0 || v.Findings[0].Source != sources.NameNova || !strings.Contains(v.Findings[0].Text, "2/3 services on 2/3 hosts affected") {
			t.Errorf("poll %d: first finding %+v, want the services", n, v.Findings)
		}
		// The evidence is the broker's signals and the services, no
		// per-host finding (the dev cloud's said "heartbeats continue" 5 s in).
		all := strings.Join(v.Evidence, "\n")
		if n <= 9 && (strings.Contains(all, "heartbeat source failing") || strings.Contains(all, "heartbeats") ||
			!strings.Contains(all, "down on compute-01, compute-02") || !strings.Contains(all, "AMQP connection failing") || !strings.Contains(all, "management API failing")) {
			t.Errorf("poll %d: evidence:\n%s", n, all)
		}
		for _, f := range v.Findings {
			if f.Kind == FindHost {
				t.Errorf("poll %d: host finding %q under a broker verdict", n, f.Text)
			}
		}
	}
	cleared := -1
	for n := 11; n < len(vs); n++ {
		if vs[n].Cause == CauseNone && cleared < 0 {
			cleared = n
		}
		if cleared >= 0 && vs[n].Cause != CauseNone {
			t.Errorf("poll %d: %v %q after the verdict cleared", n, vs[n].Cause, vs[n].Summary)
		}
	}
	// Quiet from poll 10 (the last failure at 9 leaves the 30 s window at 13), then the 30 s hold.
	if cleared < 0 || cleared > 17 {
		t.Errorf("cleared at poll %d, want by 17", cleared)
	}
	if testing.Verbose() {
		for n, v := range vs {
			if n == 0 || v.Summary != vs[n-1].Summary {
				t.Logf("poll %2d: %-10v %q", n, v.Cause, v.Summary)
			}
		}
	}
}

// TestVerdictRecoveryNeedsNewEvidence: once a broker verdict clears, the
// evidence from before the clear cannot bring it back.
func TestVerdictRecoveryNeedsNewEvidence(t *testing.T) {
	w := world{computes: 10, down: flapping(6, 6, 12), canary: func(n int) (sources.ProbeResult, time.Duration) {
		if between(n, 6, 12) || n == 40 {
			return sources.ProbeTimeout, 5 * time.Second
		}
		return sources.ProbeOK, time.Millisecond
	}}
	vs := w.run(45)
	if vs[10].Cause != CauseBroker {
		t.Fatalf("poll 10: %v %q", vs[10].Cause, vs[10].Summary)
	}
	cleared := -1
	for n := 13; n < len(vs); n++ {
		if vs[n].Cause == CauseNone {
			cleared = n
			break
		}
	}
	// Quiet from poll 13 (the last failed canary at 12): a 30 s window and a 30 s hold.
	if cleared < 0 || cleared > 20 {
		t.Fatalf("cleared at poll %d, want by 20", cleared)
	}
	for n := cleared; n < len(vs); n++ {
		if vs[n].Cause != CauseNone {
			t.Errorf("poll %d: old evidence brought back %v %q", n, vs[n].Cause, vs[n].Summary)
		}
	}
}

func TestVerdictHelpers(t *testing.T) {
	for _, c := range []struct {
		n, total int
		want     bool
	}{{2, 2, false}, {3, 15, true}, {3, 16, false}, {12, 40, true}, {7, 40, false}, {8, 40, true}} {
		if got := many(c.n, c.total); got != c.want {
			t.Errorf("many(%d, %d) = %v", c.n, c.total, got)
		}
	}
	if got := short80(strings.Repeat("é", 60)); len(got) > 80 || !strings.Contains(got, "...") || !utf8Valid(got) {
		t.Errorf("short80 = %q", got)
	}
	for n := 81; n < 240; n++ { // every length, words and multi-byte runes at every offset
		src := strings.Repeat("ab é cdéf  ghijklmnopqrstuvwxyzé ", 10)[:n]
		src = strings.ToValidUTF8(src, "x")
		if got := short80(src); len(got) > 80 || !utf8Valid(got) || !strings.Contains(got, "...") {
			t.Errorf("short80 of %d bytes = %q (%d bytes)", len(src), got, len(got))
		}
	}
	if got := short80("abc\ndef"); got != "abc" {
		t.Errorf("short80 of two lines = %q", got)
	}
	// Errors as the dev cloud's sources gave them (TestIntegrationVerdict):
	// the cause, at the end, must survive the URL in the middle.
	for _, c := range []struct{ err, want string }{
		{"nova: list services: HTTP 503 from GET http://127.0.0.1:8774/v2.1/os-services: The Keystone service is temporarily unavailable.",
			"nova: list services: HTTP 503...The Keystone service is temporarily unavailable."},
		{"heartbeat: connect amqp://127.0.0.1:5672/: dial tcp 127.0.0.1:5672: connect: connection refused",
			"heartbeat: connect ...tcp 127.0.0.1:5672: connect: connection refused"},
	} {
		got := short80(c.err)
		if got != c.want || len(got) > 80 {
			t.Errorf("short80(%q)\n = %q\nwant %q", c.err, got, c.want)
		}
	}
	for c := CauseNone; c <= CauseServiceDown+1; c++ {
		if c.String() == "" {
			t.Errorf("cause %d has no name", c)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestVerdictStartedHeldForTheEpisode: a broker incident that outlasts the
// evidence window, reached first on a thin signal (canary timeouts only),
// then on services going down, then on the canary alone again as the first
// evidence slides out of the window. "Trouble began" must stay at the first
// evidence for the whole episode, never move later, and never read later
// than when the verdict was reached; after it clears, a new episode starts
// afresh.
func TestVerdictStartedHeldForTheEpisode(t *testing.T) {
	w := world{computes: 10,
		canary: func(n int) (sources.ProbeResult, time.Duration) {
			if between(n, 5, 40) || between(n, 60, 70) {
				return sources.ProbeTimeout, 5 * time.Second
			}
			return sources.ProbeOK, 2 * time.Millisecond
		},
		down: func(n int, b, h string) bool { return b == "nova-compute" && h <= "compute-05" && between(n, 9, 20) },
	}
	vs := w.run(80)
	episode := 0
	var started time.Time
	for n, v := range vs {
		if v.Cause == CauseNone {
			started = time.Time{}
			continue
		}
		if started.IsZero() {
			episode++
			started = v.Started
		}
		if v.Started.IsZero() || v.Started.After(v.Since) || v.Started.After(at(n)) {
			t.Errorf("poll %d: started %v, since %v: trouble cannot begin after the verdict was reached", n, v.Started, v.Since)
		}
		if !v.Started.Equal(started) {
			t.Errorf("poll %d (%v %q): started %v, want it held at the episode's first evidence %v", n, v.Cause, v.Summary, v.Started, started)
		}
	}
	if episode != 2 {
		t.Fatalf("%d episodes, want 2 (canary failing at polls 5–40 and 60–70)", episode)
	}
	// The first episode's evidence began with the canaries failing from poll 5.
	if first := vs[6].Started; first.After(at(6)) || first.Before(at(4)) {
		t.Errorf("first episode started %v, want the first failed canaries around %v", first, at(5))
	}
	if v := vs[35]; v.Cause != CauseBroker || !v.Started.Equal(vs[6].Started) {
		t.Errorf("poll 35, long after the first evidence left the window: %v started %v, want broker started %v", v.Cause, v.Started, vs[6].Started)
	}
	if v := vs[65]; v.Started.Before(at(59)) {
		t.Errorf("second episode started %v: it must not inherit the first's %v", v.Started, vs[6].Started)
	}
}
