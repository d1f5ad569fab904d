package state

// The correlation verdict: "is it the hosts or the broker?".
//
// After every batch, Apply folds what the sources said into a few counts
// and remembered signals (verdictState), computes the typed inputs of the
// rules (VerdictInputs, kept in Verdict.Inputs: the `v` screen shows
// exactly them) and evaluates the rules, in the order of the table below,
// at the snapshot's time (never the wall clock). The first rule that fires
// speaks; the findings of the others become its evidence.
//
// # Inputs
//
// Affected services (Nova, recomputed only when the service list or its RPC
// pings change): a service is affected when, at the last Nova poll, it is
// down, late (its UpdatedAt trails the freshest UpdatedAt in the list by
// more than lateFactor report intervals: Nova's own clock), or it went down
// within the evidence window (flapping services). Forced-down and UNKNOWN
// services do not count. "Many" is at least manyHostsMin hosts and at least
// 1/manyHostsDiv (20 %) of the hosts that run Nova services. The evidence
// window reaches verdictWindow (2 min) back, never before the moment the
// last verdict cleared.
//
// Broker signals (Signal, by SignalKind), each counted when seen within the
// evidence window, with Now telling whether the latest observation still
// shows it:
//   - canary: at least canaryFailMin of the last canaryLookback canaries
//     failed, or one was blocked (the broker itself says it is in alarm),
//     or at least canarySlowMin took canarySlowRTT or longer;
//   - AMQP: the heartbeat/canary source's connection fails;
//   - management API: the rabbitmq source fails (refused, reset, an HTTP
//     error at once; a timeout on mgmtRunMin polls in a row), is stale, or
//     is slow (mgmtSlow) on mgmtRunMin polls in a row: one slow or
//     timed-out poll on a busy machine is no incident;
//   - alarms: a node's memory or disk alarm, a partition, a node not running;
//   - backlog: reply and conductor queues with consumers hold backlogMin
//     messages and grow backlogGrowthMin a minute, or hold backlogStuck on
//     two polls a minute apart (ConductorOnly when the reply queues do not);
//   - RPC: pings of rpcFailMin services on two hosts, 20 % of those
//     pinged, fail (unless that is the conductor pattern);
//   - heartbeats: many hosts' heartbeats stopped at once (within
//     lossSpanBeats intervals of each other; only agents that had been
//     beating for lossMinBeating count), the heartbeat source itself
//     healthy.
//
// Each host with services down is judged by its heartbeats (Beat): fresh
// (one within freshBeats publish intervals plus the heartbeat source's
// flush, the source healthy), returned (fresh, but beating again only since
// after its services went down, within returnGrace: a host coming back, whose
// services have not reported yet; no rule fires on it, so the incident's
// verdict, host down, holds instead of turning into a process problem), stale (neither fresh nor lost: wait), lost
// (Host.Liveness, the source healthy, most hosts beating), or cannot tell
// (no agent, the source failing, many hosts lost); and by the RPC pings of
// its down services (PingState) and its agent's process list.
//
// Sources' failures are judged by their typed kind (sources.FailureKind),
// never by their text: Nova failing with kind auth or keystone-down is an
// auth failure; with kind keystone-timeout (Keystone did not answer in
// time) it is Keystone slow or down, which no rule calls an outage;
// "blind" is at least two sources, two thirds of them, Nova among them,
// failing with connection kinds (timeout, refused, unreachable, reset,
// TLS; for Nova also keystone-down and keystone-timeout). A recording made
// before kinds existed has kind unknown: never auth, never blind.
//
// # Rules, highest priority first (the rules table; the order is the priority)
//
//  1. Blind (CauseBlind): stacktop cannot see: "cannot see the cloud:
//     nova (refused), rabbitmq (refused), heartbeat (refused) failing to
//     connect". Never a broker verdict: the broker's own sources failing
//     while Nova answers is a broker outage, not blindness.
//  2. Broker-wide (CauseBroker): many services affected and at least one
//     broker signal.
//  3. Broker (CauseBroker): two or more broker signals, services affected
//     on fewer hosts than "many" (named) or none ("services not affected
//     yet", or "services up again" when they were affected earlier in the
//     episode).
//  4. Auth (CauseAuth): Nova fails with kind auth or keystone-down on
//     authFailMin polls or until its data is stale.
//  5. Keystone slow (CauseAuth, thin): Nova fails with kind
//     keystone-timeout: "Keystone slow or down", never "outage": a token
//     request not answered in time says no more (seen on a loaded dev
//     cloud whose Keystone took 1.3–10 s a token).
//  6. Conductor (CauseConductor): RPC pings of at least half the pinged
//     nova-conductor time out (with every service up, condTimeoutsMin
//     in a row: one late answer of a busy conductor on a healthy cloud is
//     no incident) while two thirds of the pinged nova-compute
//     answer, and the broker is healthy by every measure: no broker signal
//     but a backlog on the conductor queue alone, no source failing or
//     stale, and a canary (or, without one, a management poll) went
//     through after the earliest of those pings was sent.
//  7. Possible broker problem (CauseBroker, thin): exactly one broker
//     signal. Above every rule below: those infer from RPC pings and
//     heartbeats, which cross the broker.
//  8. Widespread (CauseWidespread, thin): many services affected, no
//     broker signal: "widespread service trouble, cause unclear".
//  9. Host down (CauseHostDown): a host with services down whose
//     heartbeats are lost.
//  10. Peers down (CauseServiceDown, thin): services down on every host
//     that runs them (two or more: "2/2 nova-compute"), their hosts'
//     heartbeats fresh, no process known gone: a shared dependency,
//     "services down, cause unclear". A process verdict needs the service
//     to be the exception among its peers.
//  11. Process (CauseProcess): a host with services down whose heartbeats
//     are fresh, confirmed by its RPC ping timing out or the process
//     missing from its process list. A ping the broker blocked, or that
//     could not be sent, never reached the process (PingUndelivered).
//     Not for hosts whose only down service is nova-conductor while the
//     conductor pattern holds: that is row 6's to name, once proven.
//  12. Process, thin: as 11 with no RPC data and the process listed; the
//     summary ends "(no RPC data)".
//  13. Service down (CauseServiceDown, thin): services down on a host that
//     cannot be judged (no agent, the heartbeat source failing, its pings
//     answered: its reports do not reach Nova; its pings undelivered; or
//     answered only before it was seen down: the next ping decides).
//
// Rules 9–13 apply while the hosts with services down are not many. Under
// a broker or blind verdict the evidence is the broker signals, the
// affected services and the sources, never per-host findings (which would
// point at restarting services, the mistake of the 2015 incident).
//
// # Hold and clearing
//
// A stall of stacktop itself (no batch from any source for longer than
// two intervals of the quickest healthy source: suspended, starved, a
// paused VM) makes every source look stale at once; the rules then wait
// for those sources to report again before judging (noteStall).
//
// A rule higher in the table replaces the current verdict at once. The
// same rule updates its text and keeps its Since. A lower rule never
// replaces it while the current rule still fires on the window's evidence,
// nor within verdictHold of its last firing: one incident keeps one cause.
// When no rule fires but a symptom lasts (Nova still failing, say, its
// failure now of another kind), the verdict holds as it was, its Summary
// saying when its rule last fired ("held, last confirmed 12:01:50").
// The verdict clears when nothing is wrong any more (every service up, no
// signal showing now, no RPC ping failing, Nova answering with fresh data,
// not blind: VerdictInputs.Quiet) continuously for verdictClear (20 s, so
// that it is gone within 30 s of the last symptom even through a poll's
// lag), whatever
// the window still holds; while that hold runs the verdict is told in the
// past tense (Verdict.Quiet, "recovered ..., clearing"). When a verdict
// clears the evidence window restarts, so the next verdict needs new
// evidence.
//
// # Cost
//
// Apply computes the service counts only when the service list (or an RPC
// ping) changed, the queue backlog only for a queue batch, and otherwise
// looks at the last canaries, the source healths and at most the hosts
// with down services; a batch of heartbeats alone is evaluated at most once
// a second. Each evaluation allocates its VerdictInputs (a few small
// slices: sources, signals, hosts with services down); with nothing wrong
// the Verdict is zero but for them.

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// Thresholds of the rules; see the package comment above.
const (
	verdictWindow    = 2 * time.Minute  // how far back evidence counts
	verdictHold      = 30 * time.Second // a lower rule waits this long after the current one last fired to step in
	verdictClear     = 20 * time.Second // quiet needed before a verdict clears: within 30 s of the symptoms going, with a poll of lag
	lossSpanBeats    = 2.0              // heartbeats that stopped within this many publish intervals of each other stopped together
	lossMinBeating   = time.Minute      // a host counts in a mass heartbeat loss only if its agent had been beating this long
	manyHostsMin     = 3                // "many hosts": at least this many …
	manyHostsDiv     = 5                // … and at least 1/manyHostsDiv of all (20 %)
	lateFactor       = 3                // late: UpdatedAt trails the freshest by this many report intervals
	canaryLookback   = 10               // canaries looked at
	canaryFailMin    = 2                // failed canaries among them that count
	canarySlowRTT    = time.Second      // a canary this slow counts as slow
	canarySlowMin    = 3                // slow canaries among them that count
	rpcFailMin       = 3                // failed RPC pings that count as "across services"
	backlogMin       = 100              // messages on reply/conductor queues before growth counts
	backlogGrowthMin = 60               // growth per minute that counts
	backlogStuck     = 1000             // a backlog this deep counts on two polls a minute apart
	backlogSpan      = time.Minute      // growth is measured over this span …
	backlogMinSpan   = 30 * time.Second // … or at least this much, when polls are fewer
	mgmtSlow         = 2 * time.Second  // a management API poll this slow counts …
	mgmtRunMin       = 2                // … as does a timed-out poll, on this many polls in a row
	condTimeoutsMin  = 3                // a conductor's pings timed out this many times in a row, with every service up
	authFailMin      = 1                // failed nova polls of kind auth, keystone-down or keystone-timeout before it counts
	freshBeats       = 1.5              // a host's heartbeats are fresh within this many publish intervals
	returnGrace      = 2 * time.Minute  // a host whose heartbeats came back after its services went down: no process verdict for this long
	maxNamed         = 3                // hosts or services named in a summary before "+N more"
	maxHostFindings  = 64               // hosts with down services examined one by one
)

// Cause is the kind of problem a Verdict names.
type Cause uint8

// Causes, see the rules above.
const (
	CauseNone        Cause = iota
	CauseBroker            // broker-wide problem (Thin: possible broker problem)
	CauseAuth              // Keystone/auth outage, Nova data stale
	CauseConductor         // nova-conductor not answering RPC while computes do
	CauseWidespread        // many services in trouble, no broker signal
	CauseHostDown          // a host is down: services down, heartbeats lost
	CauseProcess           // a service process problem: services down, host alive
	CauseServiceDown       // services down on a few hosts, no data to tell why
	CauseBlind             // stacktop cannot see: most sources fail to connect
)

func (c Cause) String() string {
	switch c {
	case CauseNone:
		return "none"
	case CauseBroker:
		return "broker"
	case CauseAuth:
		return "auth"
	case CauseConductor:
		return "conductor"
	case CauseWidespread:
		return "widespread"
	case CauseHostDown:
		return "host-down"
	case CauseProcess:
		return "process"
	case CauseServiceDown:
		return "service-down"
	case CauseBlind:
		return "blind"
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// FindingKind says what a piece of evidence is about.
type FindingKind uint8

// Finding kinds.
const (
	FindServices  FindingKind = iota // the affected Nova services, counted
	FindSignal                       // a broker signal (Finding.Signal says which)
	FindHost                         // one host with services down (Finding.Beat, Finding.Ping say how it stands)
	FindConductor                    // the conductor's RPC pings
	FindAuth                         // Nova failing for authentication
	FindStale                        // Nova data stale
	FindRestart                      // a broker node restarted
	FindSource                       // a source failing to connect (blind)
)

// Finding is one piece of evidence.
type Finding struct {
	Kind   FindingKind
	Signal SignalKind // for FindSignal
	Source string     // which source saw it: "nova", "rabbitmq", "heartbeat" (heartbeats and canary), "rpcping": the sources' names
	Text   string     // what it saw, with counts and times
	At     time.Time  // when it was last seen; zero for a count over the current state
	Host   string     // the host it is about, "" when cloud-wide
	Beat   Beat       // for FindHost
	Ping   PingState  // for FindHost
	Now    bool       // the latest observation still shows it
}

// rule is one row of the rules table: the cause it names, whether its
// evidence is thin, and when it fires. Its position in the table is its
// priority: earlier wins.
type rule struct {
	name  string
	cause Cause
	thin  bool
	fire  func(in *VerdictInputs) (said, bool)
}

// said is what a rule says when it fires.
type said struct {
	summary  string    // the full line
	scope    string    // for the Headline: hosts, services or signals, briefly
	hosts    []string  // the hosts it names (host, process, service-down rules)
	started  time.Time // when the trouble began as far as its evidence shows; zero if unknown
	findings []Finding // its own evidence
}

// rules is the rules table, highest priority first; see the package comment.
var rules = []rule{
	{"blind", CauseBlind, false, ruleBlind},
	{"broker-wide", CauseBroker, false, ruleBrokerWide},
	{"broker", CauseBroker, false, ruleBroker},
	{"auth", CauseAuth, false, ruleAuth},
	{"keystone slow", CauseAuth, true, ruleKeystoneSlow},
	{"conductor", CauseConductor, false, ruleConductor},
	{"possible broker", CauseBroker, true, ruleBrokerThin},
	{"widespread", CauseWidespread, true, ruleWidespread},
	{"host down", CauseHostDown, false, ruleHostDown},
	{"peers down", CauseServiceDown, true, rulePeersDown},
	{"process", CauseProcess, false, ruleProcess},
	{"process, no RPC data", CauseProcess, true, ruleProcessThin},
	{"service down", CauseServiceDown, true, ruleServiceDown},
}

// many reports whether n of total hosts are "many".
func many(n, total int) bool { return n >= manyHostsMin && manyHostsDiv*n >= total }

func ruleBlind(in *VerdictInputs) (said, bool) {
	if len(in.Blind) == 0 {
		return said{}, false
	}
	s := said{summary: "cannot see the cloud: " + strings.Join(in.Blind, ", ") + " failing to connect; what is shown is old",
		scope: shortList(in.Blind)}
	for _, si := range in.Sources {
		if si.Failing {
			s.findings = append(s.findings, Finding{Kind: FindSource, Source: si.Name, At: si.LastSuccess, Now: true,
				Text: fmt.Sprintf("%s (%s) for %s; data from %s", si.Err, si.Kind, plural(si.Failures, "poll"), format.ClockOr(si.LastSuccess, "never"))})
		}
	}
	return s, true
}

func ruleBrokerWide(in *VerdictInputs) (said, bool) {
	if !in.ManyAffected || len(in.Signals) == 0 {
		return said{}, false
	}
	return said{summary: "broker-wide problem suspected: " + in.affectedPhrase() + ", " + joinSignals(in.Signals, maxNamed+1),
		scope: in.scope(), started: in.started(), findings: append([]Finding{in.svcFinding()}, signalFindings(in.Signals)...)}, true
}

func ruleBroker(in *VerdictInputs) (said, bool) {
	if len(in.Signals) < 2 {
		return said{}, false
	}
	if in.Affected > 0 {
		// Services affected on too few hosts to be "many": a small cloud,
		// or the first victims. They are named; "broker-wide" stays for many hosts.
		s := said{summary: "broker problem suspected: " + in.affectedPhrase() + ", " + joinSignals(in.Signals, maxNamed+1),
			scope: in.scope(), started: earliestSignal(in.Signals), findings: append([]Finding{in.svcFinding()}, signalFindings(in.Signals)...)}
		if st := in.started(); !st.IsZero() && (s.started.IsZero() || st.Before(s.started)) {
			s.started = st
		}
		return s, true
	}
	what := "services not affected yet"
	if in.Episode {
		what = "services up again"
	}
	return said{summary: "broker problem, " + what + ": " + joinSignals(in.Signals, maxNamed+1),
		scope: signalNames(in.Signals), started: earliestSignal(in.Signals), findings: signalFindings(in.Signals)}, true
}

func ruleAuth(in *VerdictInputs) (said, bool) {
	if !in.Auth {
		return said{}, false
	}
	f := in.authFinding()
	return said{summary: "auth outage, data stale: " + f.Text, scope: "Nova polls failing", findings: []Finding{f}}, true
}

// ruleKeystoneSlow: Keystone did not answer Nova's token request (or the
// check after a failed Nova call) in time. That is what is known: slow or
// down, never called an outage.
func ruleKeystoneSlow(in *VerdictInputs) (said, bool) {
	if !in.KeystoneSlow {
		return said{}, false
	}
	f := in.authFinding()
	return said{summary: "Keystone slow or down, Nova data stale: " + f.Text, scope: "Keystone not answering in time", findings: []Finding{f}}, true
}

func ruleConductor(in *VerdictInputs) (said, bool) {
	if !in.conductorPattern() || !in.BrokerProven {
		return said{}, false
	}
	what := fmt.Sprintf("RPC pings of %d/%d nova-conductor timing out while %d/%d nova-compute answer, the broker healthy",
		in.CondTimedOut, in.CondPinged, in.CompAnswered, in.CompPinged)
	s := said{summary: "conductor problem: " + what, scope: fmt.Sprintf("%d/%d nova-conductor not answering RPC", in.CondTimedOut, in.CondPinged),
		started: in.started(), findings: []Finding{{Kind: FindConductor, Source: sources.NameRPCPing, Text: what, Now: true}}}
	if in.Affected > 0 {
		s.findings = append(s.findings, in.svcFinding())
	}
	return s, true
}

func ruleBrokerThin(in *VerdictInputs) (said, bool) {
	if len(in.Signals) != 1 {
		return said{}, false
	}
	sg := in.Signals[0]
	return said{summary: fmt.Sprintf("possible broker problem (thin evidence: %s only): %s", sg.Kind, sg.Text),
		scope: sg.Kind.String(), started: sg.At, findings: signalFindings(in.Signals)}, true
}

func ruleWidespread(in *VerdictInputs) (said, bool) {
	if !in.ManyAffected {
		return said{}, false
	}
	return said{summary: "widespread service trouble, cause unclear: " + in.affectedPhrase() + "; no broker signal",
		scope: in.scope(), started: in.started(), findings: []Finding{in.svcFinding()}}, true
}

func ruleHostDown(in *VerdictInputs) (said, bool) {
	return hostRule(in, "host down: ", "hosts down: ", func(h *HostInput) bool { return h.Beat == BeatLost })
}

// rulePeersDown: a service down on every host that runs it (two or more),
// their hosts beating, no process known gone: the signature of a shared
// dependency (conductor, broker, database), not of N process problems. Seen
// on the dev cloud: a dashboard started after someone else's broker outage,
// both computes still listed down, read "service process problems" on
// thin evidence. A process verdict needs the service to be the exception
// among its peers; this row stands above the process rows.
func rulePeersDown(in *VerdictInputs) (said, bool) {
	var peers []string
	for i := range in.DownByHost {
		h := &in.DownByHost[i]
		if h.PeersDown != "" && h.Missing != "" {
			return said{}, false // a peer's process is gone: that host's own problem, the process rows tell
		}
		if h.PeersDown != "" && !slices.Contains(peers, h.PeersDown) {
			peers = append(peers, h.PeersDown)
		}
	}
	s, ok := hostRule(in, "", "", func(h *HostInput) bool { return h.Beat == BeatFresh && h.PeersDown != "" })
	if !ok {
		return said{}, false
	}
	p := strings.Join(peers, ", ")
	s.summary = "services down, cause unclear (thin evidence): " + p + " down at once, their hosts beating: a shared dependency (conductor, broker, database?) rather than separate process problems: " + s.summary
	s.scope = p + " down at once"
	return s, true
}

func ruleProcess(in *VerdictInputs) (said, bool) {
	// The conductor pattern (conductors timing out, computes answering) is
	// the conductor row's to name once the broker is proven; naming the
	// conductor's host here before that would be a second cause for one
	// incident.
	condPattern := in.conductorPattern()
	return hostRule(in, "service process problem: ", "service process problems: ", func(h *HostInput) bool {
		if condPattern && h.Down == "nova-conductor" {
			return false
		}
		return h.Beat == BeatFresh && (h.Ping == PingFailed || h.Missing != "")
	})
}

func ruleProcessThin(in *VerdictInputs) (said, bool) {
	s, ok := hostRule(in, "service process problem: ", "service process problems: ", func(h *HostInput) bool {
		return h.Beat == BeatFresh && h.Ping == PingNone && h.Missing == ""
	})
	if ok {
		s.summary += " (no RPC data)"
	}
	return s, ok
}

func ruleServiceDown(in *VerdictInputs) (said, bool) {
	return hostRule(in, "service down, cause unclear (thin evidence): ", "services down, cause unclear (thin evidence): ", func(h *HostInput) bool {
		return h.Beat == BeatNone || h.Beat == BeatUnheard || h.Beat == BeatMassLost ||
			(h.Beat == BeatFresh && (h.Ping == PingAnswered || h.Ping == PingUndelivered || h.Ping == PingPending))
	})
}

// hostRule fires for the hosts with services down that match, while those
// hosts are not many; host down names the host, the others "service on host".
func hostRule(in *VerdictInputs, one, several string, match func(*HostInput) bool) (said, bool) {
	if in.ManyDown {
		return said{}, false
	}
	var s said
	var names []string
	for i := range in.DownByHost {
		h := &in.DownByHost[i]
		if !match(h) {
			continue
		}
		s.hosts = append(s.hosts, h.Host)
		if one == "host down: " {
			names = append(names, h.Host)
		} else {
			names = append(names, h.Down+" on "+h.Host)
		}
		s.findings = append(s.findings, hostFinding(h, in.At))
		if s.started.IsZero() || h.Since.Before(s.started) {
			s.started = h.Since
		}
	}
	if len(names) == 0 {
		return said{}, false
	}
	s.summary = namedList(one, several, names)
	s.scope = shortList(names)
	return s, true
}

// hostFinding describes one host with services down.
func hostFinding(h *HostInput, now time.Time) Finding {
	f := Finding{Kind: FindHost, Source: sources.NameNova, Host: h.Host, At: h.LastSeen, Beat: h.Beat, Ping: h.Ping, Now: true}
	down := fmt.Sprintf("%s on %s down since %s", h.Down, h.Host, format.Clock(h.Since))
	detail := h.PingText
	if h.Missing != "" {
		detail = h.Missing + " not running; " + detail
	}
	switch h.Beat {
	case BeatLost:
		f.Source = sources.NameHeartbeat
		f.Text = fmt.Sprintf("host down: %s: %s, no heartbeat since %s", h.Host, down, format.Clock(h.LastSeen))
	case BeatFresh:
		f.Source = sources.NameHeartbeat
		f.Text = fmt.Sprintf("%s, host heartbeats fresh (last %s ago); %s", down, format.RTT(now.Sub(h.LastSeen)), detail)
		if h.PeersDown != "" {
			f.Text += "; " + h.PeersDown + " down at once"
		}
		if h.Ping == PingAnswered {
			f.Source = sources.NameRPCPing
			f.Text = fmt.Sprintf("%s but answers RPC (%s): its reports do not reach Nova (conductor or database?)", down, h.PingText)
		}
	case BeatStale:
		f.Text = fmt.Sprintf("%s; heartbeats late (last %s), not yet lost: host or process not told yet; %s", down, format.Clock(h.LastSeen), detail)
	case BeatUnheard:
		f.Text = fmt.Sprintf("%s; heartbeat source failing (host last heard %s); %s", down, format.Clock(h.LastSeen), detail)
	case BeatMassLost:
		f.Text = fmt.Sprintf("%s; heartbeats lost (last %s) with many hosts silent; %s", down, format.Clock(h.LastSeen), detail)
	default:
		f.Text = fmt.Sprintf("%s; no heartbeats from the host; %s", down, detail)
	}
	return f
}

// verdictState is the Store's memory for the rules, owned by the Apply goroutine.
type verdictState struct {
	svc svcSummary

	backlog     [backlogRing]backlogSample
	nb, nextB   int
	backlogSeen seen

	alarm, mgmtFail, mgmtSlow, amqpFail seen
	slowRun                             int // management polls in a row at least mgmtSlow

	cur             Verdict
	curRule         int       // cur's row in rules; -1 for none
	lastFired       time.Time // when cur's rule last fired
	quietSince      time.Time // when every symptom went away (zero while any lasts)
	clearedAt       time.Time // when the last verdict cleared
	lastEval        time.Time // when the rules last ran
	lastApply       time.Time // the previous batch's time
	resumedAt       time.Time // when stacktop resumed after a stall of its own; zero when not waiting
	awaitUntil      time.Time // the longest the rules wait after a stall
	awaited         []string  // the sources, healthy before the stall, whose next report the rules wait for
	episodeAffected bool      // services were affected during the current verdict
	last            Verdict   // the verdict last returned
}

// hostDown is one host with services down at the last Nova poll.
type hostDown struct {
	host       string
	first, end int32     // its services' range in the summarised Services
	down       int       // how many of them are down
	since      time.Time // the earliest of their Since
}

// svcSummary is what the rules need from the service list, recomputed when it changes.
type svcSummary struct {
	arr     **Service // identity of the summarised Services (its first element)
	n       int       // its length
	hosts   int       // hosts running Nova services
	started time.Time // earliest down transition of an affected service in the window

	affected, affectedHosts  int
	down, late, flapping     int
	recentDown               int // up again, but went down within the window
	downHosts                int // hosts with a service down now
	byHost                   []hostDown
	rpcPinged, rpcFailed     int // services with a ping in the window, and whose last one failed
	rpcFailedHosts           int
	condPinged, condTimedOut int
	compPinged, compAnswered int
	binaries                 []binaryCount // per binary: hosts running it, and on how many it is down (forced-down and UNKNOWN not counted)
}

// binaryCount is how many hosts run one binary, and on how many it is down.
type binaryCount struct {
	binary      string
	hosts, down int
}

// backlogSample is the reply and conductor depths at one queue poll.
type backlogSample struct {
	at          time.Time
	reply, cond int64
}

const backlogRing = 32

// seen remembers when a broker signal was last observed, and how it read.
type seen struct {
	at       time.Time
	now      bool // the latest observation showed it
	text     string
	condOnly bool // backlog: the conductor queue alone
}

// computeVerdict updates the rules' memory with the batch just folded and
// returns the snapshot's verdict.
func (s *Store) computeVerdict(f *fold, next *Snapshot) Verdict {
	v := &s.vx
	now := next.At
	b := &f.b
	hbWasOK := !v.amqpFail.now
	v.noteStall(next, now)
	v.observe(f, next)
	if v.awaiting(next, now) {
		return v.last
	}
	// Heartbeats alone (no probes, the source as healthy as before) change
	// only host ages: evaluate them at most once per second of snapshot time.
	if b.Source == sources.NameHeartbeat && b.Health.OK && hbWasOK && len(b.Probes) == 0 &&
		b.Services == nil && b.Queues == nil && b.Nodes == nil &&
		!v.lastEval.IsZero() && now.Sub(v.lastEval) < time.Second {
		return v.last
	}
	v.lastEval = now

	ws := v.windowStart(now)
	var first **Service
	if len(next.Services) > 0 {
		first = &next.Services[0]
	}
	if first != v.svc.arr || len(next.Services) != v.svc.n {
		v.summarise(next, ws)
	}
	in := v.inputs(next, now, ws)
	return v.settle(next, now, in)
}

// noteStall notices a stall of stacktop itself: no batch from any source
// for longer than two intervals (plus a second) of the quickest source that
// was polling on schedule. Suspended with ^Z, starved by a loaded machine,
// a paused VM: every source falls silent at once, and what then looks stale
// is stale by stacktop's own gap, not the cloud's. The rules then wait for
// each source that was healthy to report again (at most two of the longest
// such interval, plus a second) before they judge anything.
func (v *verdictState) noteStall(next *Snapshot, now time.Time) {
	prev := v.lastApply
	v.lastApply = now
	healthy := func(h *SourceHealth) bool { return h.Failures == 0 && h.Interval > 0 }
	var quickest, longest time.Duration
	for i := range next.Sources {
		if h := &next.Sources[i]; healthy(h) {
			if quickest == 0 || h.Interval < quickest {
				quickest = h.Interval
			}
			longest = max(longest, h.Interval)
		}
	}
	if quickest == 0 || prev.IsZero() || now.Sub(prev) <= 2*quickest+time.Second {
		return
	}
	// A stall: only now are the names worth collecting (Apply runs per batch).
	v.resumedAt, v.awaited, v.awaitUntil = now, nil, now.Add(2*longest+time.Second)
	for i := range next.Sources {
		if h := &next.Sources[i]; healthy(h) {
			v.awaited = append(v.awaited, h.Name)
		}
	}
}

// awaiting reports whether the rules still wait for the sources after a
// stall of stacktop's own (see noteStall).
func (v *verdictState) awaiting(next *Snapshot, now time.Time) bool {
	if v.resumedAt.IsZero() {
		return false
	}
	if now.Before(v.awaitUntil) {
		for _, name := range v.awaited {
			if h, ok := next.Source(name); ok && h.LastAttempt.Before(v.resumedAt) {
				return true
			}
		}
	}
	v.resumedAt, v.awaited = time.Time{}, nil
	return false
}

func (v *verdictState) windowStart(now time.Time) time.Time {
	ws := now.Add(-verdictWindow)
	if v.clearedAt.After(ws) {
		ws = v.clearedAt
	}
	return ws
}

// evaluate runs the rules table on in: the first rule that fires, or -1.
func evaluate(in *VerdictInputs) (int, said) {
	for i := range rules {
		if s, ok := rules[i].fire(in); ok {
			return i, s
		}
	}
	return -1, said{}
}

// settle applies the hold: it decides between the current verdict and
// what the rules say now.
func (v *verdictState) settle(next *Snapshot, now time.Time, in *VerdictInputs) Verdict {
	if in.symptomNow() {
		v.quietSince = time.Time{}
	} else if v.quietSince.IsZero() {
		v.quietSince = now
	}
	in.Quiet = !v.quietSince.IsZero()
	if v.cur.Cause != CauseNone && in.Quiet && now.Sub(v.quietSince) >= verdictClear {
		return v.clear(next, now)
	}
	i, s := evaluate(in)
	sameCause := i >= 0 && rules[i].cause == v.cur.Cause && rules[i].thin == v.cur.Thin
	switch {
	case v.cur.Cause == CauseNone && (i < 0 || in.Quiet):
		// Nothing fires, or only on evidence of trouble already over.
		return Verdict{Inputs: in}
	case v.cur.Cause == CauseNone:
		v.adopt(i, s, in, now, time.Time{})
	case in.Quiet:
		// Recovered: the verdict holds as it was until it clears.
	case sameCause:
		v.adopt(i, s, in, now, v.cur.Since) // the same cause: its text follows the evidence
	case i >= 0 && i < v.curRule:
		v.adopt(i, s, in, now, time.Time{}) // a rule higher in the table: at once
	case i >= 0 && now.Sub(v.lastFired) >= verdictHold:
		v.adopt(i, s, in, now, time.Time{}) // the current cause stopped firing long ago: another incident
	}
	out := v.cur
	out.Inputs = in
	out.Confirmed = v.lastFired
	if !in.Quiet && v.lastFired.Before(now) {
		// A symptom lasts but the rule no longer fires on it: the text is
		// the rule's as it last fired, and says so.
		out.Summary = v.cur.Summary + " · held, last confirmed " + format.Clock(v.lastFired)
		out.base = v.cur.Summary
	}
	if in.Quiet {
		out.Quiet = v.quietSince
		out.Summary = "recovered at " + format.Clock(v.quietSince) + ", clearing: was " + v.cur.Summary
		out.base = v.cur.Summary
		out.Headline = headline(out.Cause, out.Thin, v.curScope(), out.Started) + " · recovered " + format.Clock(v.quietSince)
	}
	v.last = out
	return out
}

// curScope is the current verdict's scope, as its headline shows it.
func (v *verdictState) curScope() string { return v.cur.scope }

// adopt makes rule i's verdict current; since zero means "reached now".
// Started is held for the whole episode (until the verdict clears).
func (v *verdictState) adopt(i int, s said, in *VerdictInputs, now, since time.Time) {
	if since.IsZero() {
		since = now
	}
	started := s.started
	if started.IsZero() || started.After(now) {
		started = now
	}
	if prev := v.cur.Started; prev.Before(started) && v.cur.Cause != CauseNone && !prev.IsZero() {
		started = prev
	}
	r := rules[i]
	fs := append(s.findings, otherFindings(r.cause, s, in)...)
	ev := make([]string, len(fs))
	for k, f := range fs {
		ev[k] = f.Source + ": " + f.Text
	}
	v.cur = Verdict{Summary: s.summary, Headline: headline(r.cause, r.thin, s.scope, started), Evidence: ev, Cause: r.cause, Thin: r.thin,
		Since: since, Started: started, Findings: fs, Hosts: s.hosts, Rule: r.name, scope: s.scope}
	v.curRule = i
	v.lastFired = now
	if in.Affected > 0 {
		v.episodeAffected = true
	}
}

// otherFindings are the evidence beyond what the speaking rule said: under
// a broker or blind verdict the signals, the services, the auth and stale
// findings and broker restarts, never per-host findings; under the others
// also the hosts with services down that the rule did not name.
func otherFindings(c Cause, s said, in *VerdictInputs) []Finding {
	var out []Finding
	has := func(k FindingKind) bool {
		for _, f := range s.findings {
			if f.Kind == k {
				return true
			}
		}
		return false
	}
	if !has(FindSignal) {
		out = append(out, signalFindings(in.Signals)...)
	}
	if (c == CauseBroker || c == CauseBlind) && in.Affected > 0 && !has(FindServices) {
		out = append(out, in.svcFinding())
	}
	if c != CauseBroker && c != CauseBlind {
		named := map[string]bool{}
		for _, h := range s.hosts {
			named[h] = true
		}
		for i := range in.DownByHost {
			if h := &in.DownByHost[i]; !named[h.Host] {
				out = append(out, hostFinding(h, in.At))
			}
		}
		if in.DownHosts > len(in.DownByHost) {
			out = append(out, Finding{Kind: FindHost, Source: sources.NameNova, Text: fmt.Sprintf("and %s with services down not examined", plural(in.DownHosts-len(in.DownByHost), "more host"))})
		}
	}
	for _, r := range in.BrokerRestarts {
		out = append(out, Finding{Kind: FindRestart, Source: r.Source, At: r.At, Host: r.Where, Text: fmt.Sprintf("broker node %s restarted at %s: %s", r.Where, format.Clock(r.At), r.Evidence)})
	}
	if (in.Auth || in.KeystoneSlow) && c != CauseAuth {
		out = append(out, in.authFinding())
	} else if c != CauseAuth {
		for _, si := range in.Sources {
			if si.Name == sources.NameNova && si.Stale && c != CauseBlind {
				out = append(out, Finding{Kind: FindStale, Source: sources.NameNova, At: si.LastSuccess, Text: "Nova data stale: last success " + format.ClockOr(si.LastSuccess, "never")})
			}
		}
	}
	return out
}

// clear ends the current verdict and restarts the evidence window at now.
func (v *verdictState) clear(next *Snapshot, now time.Time) Verdict {
	v.cur = Verdict{}
	v.curRule = -1
	v.clearedAt = now
	v.quietSince = time.Time{}
	v.episodeAffected = false
	v.summarise(next, now)
	v.last = Verdict{Inputs: v.inputs(next, now, now)}
	return v.last
}

// causeLabels name each cause in a Headline; thin ones their own.
var causeLabels = [...][2]string{
	CauseBroker:      {"broker problem", "possible broker problem"},
	CauseAuth:        {"auth outage", "Keystone slow or down"},
	CauseConductor:   {"conductor problem", "conductor problem"},
	CauseWidespread:  {"widespread trouble", "widespread trouble, cause unclear"},
	CauseHostDown:    {"host down", "host down"},
	CauseProcess:     {"service process problem", "service process problem?"},
	CauseServiceDown: {"service down", "service down, cause unclear"},
	CauseBlind:       {"cannot see the cloud", "cannot see the cloud"},
}

// headline is Verdict.Headline: "cause: scope · since 15:04:05".
func headline(c Cause, thin bool, scope string, since time.Time) string {
	if c == CauseNone || int(c) >= len(causeLabels) {
		return ""
	}
	t := causeLabels[c][0]
	if thin {
		t = causeLabels[c][1]
	}
	if scope != "" {
		t += ": " + scope
	}
	if !since.IsZero() {
		t += " · since " + format.Clock(since)
	}
	return t
}

// svcFinding is the service finding: counts by kind and since when.
func (in *VerdictInputs) svcFinding() Finding {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{in.Down, "down"}, {in.Flapping, "flapping"}, {in.Late, "late"}, {in.RecentDown, "up again after going down"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	t := fmt.Sprintf("%d/%d services on %d/%d hosts affected", in.Affected, in.Services, in.AffectedHosts, in.NovaHosts)
	if len(parts) > 0 {
		t += ": " + strings.Join(parts, ", ")
	}
	if st := in.started(); !st.IsZero() {
		t += "; first went down " + format.Clock(st)
	}
	if len(in.DownByHost) > 0 {
		hosts := make([]string, 0, min(len(in.DownByHost), maxNamed))
		for i := range in.DownByHost[:min(len(in.DownByHost), maxNamed)] {
			hosts = append(hosts, in.DownByHost[i].Host)
		}
		t += "; down on " + strings.Join(hosts, ", ")
		if in.DownHosts > len(hosts) {
			t += fmt.Sprintf(" +%d more", in.DownHosts-len(hosts))
		}
	}
	return Finding{Kind: FindServices, Source: sources.NameNova, Text: t, Now: in.Down > 0 || in.Late > 0}
}

// authFinding is Nova failing for authentication, or for want of an
// answer from Keystone in time.
func (in *VerdictInputs) authFinding() Finding {
	what := "nova polls failing authenticating"
	if in.KeystoneSlow {
		what = "nova polls failing, Keystone not answering in time"
	}
	f := Finding{Kind: FindAuth, Source: sources.NameNova, Text: what + ": " + in.AuthErr, Now: in.Auth || in.KeystoneSlow}
	for _, si := range in.Sources {
		if si.Name == sources.NameNova {
			f.At = si.LastSuccess
			f.Text = fmt.Sprintf("%s (%s%s): %s; Nova data from %s", what, plural(si.Failures, "poll"), kindNote(si.Kind), short80(in.AuthErr), format.ClockOr(si.LastSuccess, "never"))
		}
	}
	return f
}

// started is when the first affected service went down within the window.
func (in *VerdictInputs) started() time.Time { return in.FirstDown }

// affectedPhrase is the summary's service part: "14 services on 12 hosts down/flapping since 03:58:10".
func (in *VerdictInputs) affectedPhrase() string {
	var kinds []string
	switch {
	case in.Down > 0:
		kinds = append(kinds, "down")
	case in.RecentDown > 0:
		kinds = append(kinds, "up again after going down")
	}
	if in.Flapping > 0 {
		kinds = append(kinds, "flapping")
	}
	if in.Late > 0 {
		kinds = append(kinds, "late")
	}
	t := fmt.Sprintf("%s on %s %s", plural(in.Affected, "service"), plural(in.AffectedHosts, "host"), strings.Join(kinds, "/"))
	if st := in.started(); !st.IsZero() {
		t += " since " + format.Clock(st)
	}
	return t
}

// scope is the headline's service part: "14 services on 12 hosts".
func (in *VerdictInputs) scope() string {
	return plural(in.Affected, "service") + " on " + plural(in.AffectedHosts, "host")
}

// signalFindings are the signals as evidence.
func signalFindings(sigs []Signal) []Finding {
	out := make([]Finding, len(sigs))
	for i, s := range sigs {
		out[i] = Finding{Kind: FindSignal, Signal: s.Kind, Source: s.Source, Text: s.Text, At: s.At, Now: s.Now}
	}
	return out
}

// earliestSignal is the earliest non-zero At of sigs.
func earliestSignal(sigs []Signal) time.Time {
	var t time.Time
	for _, s := range sigs {
		if !s.At.IsZero() && (t.IsZero() || s.At.Before(t)) {
			t = s.At
		}
	}
	return t
}

// signalNames names the signals briefly: "canary, AMQP connection +1".
func signalNames(sigs []Signal) string {
	names := make([]string, len(sigs))
	for i := range sigs {
		names[i] = sigs[i].Kind.String()
	}
	return shortList(names)
}

// shortList is the first two names, then "+N".
func shortList(names []string) string {
	if len(names) <= 2 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:2], ", ") + fmt.Sprintf(" +%d", len(names)-2)
}

// joinSignals joins the first n signals' texts, noting how many more there are.
func joinSignals(sigs []Signal, n int) string {
	var b strings.Builder
	for i, s := range sigs {
		if i == n {
			fmt.Fprintf(&b, ", +%d more", len(sigs)-n)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.Text)
	}
	return b.String()
}

// namedList is prefix1+name for one name, else prefixN+the first maxNamed names and "+N more".
func namedList(prefix1, prefixN string, names []string) string {
	if len(names) == 1 {
		return prefix1 + names[0]
	}
	t := prefixN + strings.Join(names[:min(len(names), maxNamed)], "; ")
	if len(names) > maxNamed {
		t += fmt.Sprintf(" +%d more", len(names)-maxNamed)
	}
	return t
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// short80 keeps the first line of an error, at most 80 bytes. A longer
// one keeps its start (what failed) and its end (why: a wrapped error ends
// with its cause) around "...", so that a URL in the middle does not push
// out the cause; measured on the dev cloud, "nova: list services: HTTP 503
// from GET http://…/os-services: The Keystone service is temporarily
// unavailable." lost everything after the URL.
func short80(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) <= 80 {
		return s
	}
	const keep, tail, near = 77, 45, 12 // 77 bytes + "..."; the end part about 45 of them
	t := len(s) - tail
	for t < len(s) && !utf8.RuneStart(s[t]) {
		t++
	}
	// Both parts break at a word when one is near.
	if j := strings.LastIndexByte(s[t-near:t], ' '); j >= 0 && s[t-1] != ' ' {
		t = t - near + j + 1
	}
	h := keep - (len(s) - t)
	for h > 0 && !utf8.RuneStart(s[h]) {
		h--
	}
	if j := strings.LastIndexByte(s[h-near:h], ' '); j >= 0 && s[h] != ' ' {
		h = h - near + j + 1
	}
	return s[:h] + "..." + s[t:]
}
