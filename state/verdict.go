package state

// The correlation verdict: "is it the hosts or the broker?".
//
// After every batch, Apply folds what the sources said into a few
// counts and remembered signals (verdictState) and evaluates the rules
// below on them, at the snapshot's time (never the wall clock).
//
// # Inputs
//
// Affected services (Nova, recomputed only when the service list or its RPC
// pings change, in O(services)): a service is affected when, at the last
// Nova poll, it is down, late (its UpdatedAt trails the freshest UpdatedAt
// in the list by more than lateFactor report intervals: measured against
// Nova's own clock, so immune to skew between Nova and stacktop), or it went
// down within the evidence window; the last covers flapping services, which
// go down again and again. Service.Flapping alone does not count: its
// hysteresis keeps it set for a flap window after a service settles, and
// the verdict must clear after recovery. Forced-down
// services (an operator's decision) and UNKNOWN ones (a down cell) do not
// count. "Many" is at least manyHostsMin hosts and at least 1/manyHostsDiv
// (20 %) of the hosts that run Nova services.
//
// The evidence window reaches verdictWindow (2 min) back, but never before
// the moment the last verdict cleared, so evidence that was already
// explained and recovered from cannot start a new verdict.
//
// Broker signals, each counted when seen within the evidence window:
//   - canary: at least canaryFailMin of the last canaryLookback canaries
//     failed (timeout, blocked, error), or at least canarySlowMin took
//     canarySlowRTT or longer;
//   - AMQP: the heartbeat/canary source's connection fails;
//   - management API: the rabbitmq source fails, is stale (no success for
//     two intervals) or takes mgmtSlow or longer per poll;
//   - alarms: a node's memory or disk alarm, a partition, a node not running;
//   - backlog: the reply_* and conductor queues that have consumers hold at
//     least backlogMin messages and grew by backlogGrowthMin per minute or
//     more over the last minute, or hold backlogStuck or more on two polls
//     a minute apart;
//   - RPC: pings of at least rpcFailMin services on at least two hosts, and
//     of at least 20 % of the services pinged, time out or fail (unless
//     that is the conductor pattern below);
//   - heartbeats: heartbeats from many hosts stopped at once (they cross
//     the broker), while the heartbeat source itself reports no error.
//
// # Rules, highest priority first
//
//  1. Broker (CauseBroker): many services affected and at least one broker
//     signal: "broker-wide problem suspected: 14 services on 12 hosts
//     down/flapping since 03:58:10, canary 7/10 failed (…), mem alarm on
//     rabbit@mq-1, reply/conductor queues +2.9k/min". With two or more
//     broker signals and services affected on fewer hosts than "many" (a
//     small cloud, or the first victims) it says "broker problem
//     suspected: 2 services on 2 hosts down since 05:02:36, …"; with none
//     affected, "broker problem, services not affected yet: …". Host
//     findings go to the evidence: forty hosts flapping with a sick broker
//     are one broker incident.
//  2. Auth (CauseAuth): the nova source fails with an authentication error
//     (Keystone refusing credentials or tokens, or unreachable while
//     authenticating) on authFailMin polls in a row or until its data is
//     stale: "auth outage, data stale: …".
//  3. Conductor (CauseConductor): RPC pings of at least half the pinged
//     nova-conductor services fail while at least two thirds of the pinged
//     nova-compute services answer.
//  4. Widespread (CauseWidespread, thin): many services affected but no
//     broker signal at all: "widespread service trouble, cause unclear".
//  5. Host down (CauseHostDown): a host whose services are down now and whose
//     heartbeats are lost (Host.Liveness), while the heartbeat source is
//     healthy and most hosts still beat: "host down: compute-07".
//  6. Process (CauseProcess): services down while their host's heartbeats
//     continue (the heartbeat source healthy), confirmed by the RPC ping timing out or the process missing
//     from the host's process list: "service process problem: nova-compute
//     on compute-07".
//  7. Possible broker problem (CauseBroker, thin): exactly one broker signal
//     and services not broadly affected: "possible broker problem (thin
//     evidence: canary only): …".
//  8. Process, thin: as 6 with no RPC data and the process listed as
//     running; the summary ends "(no RPC data)". Below 7: with a broker
//     signal about, a few services down are likelier its first victims.
//  9. Service down (CauseServiceDown, thin): services down on a few hosts
//     with neither heartbeats nor RPC pings to tell host from process.
//
// Rules 5, 6, 8 and 9 apply only while the hosts with down services are not
// many; with many, rules 1 or 4 speak.
//
// # Hold and clearing
//
// A higher-priority verdict replaces a lower one at once. A verdict is not
// replaced by a lower one, nor cleared, while it might still hold:
//   - a broker verdict stays until the broker is quiet (no broker signal
//     within the last verdictHold) and the hosts with down services are not
//     many, continuously for verdictHold; so a broker incident whose
//     symptoms come and go between polls keeps one verdict;
//   - any other verdict stays until its rule has not fired for verdictHold.
//
// When a verdict clears, the evidence window restarts, so the next verdict
// needs new evidence. Verdict.Since is when the current verdict was reached;
// Verdict.Started is when the trouble began as far as the evidence shows.
//
// # Cost
//
// Apply computes the service counts only when the service list (or an RPC
// ping) changed, the queue backlog only for a queue batch (one pass over the
// queues), and otherwise looks at the last canaries, the source healths and
// at most the hosts with down services. With nothing wrong it allocates
// nothing and returns the zero Verdict.

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// Thresholds of the rules; see the package comment above.
const (
	verdictWindow    = 2 * time.Minute  // how far back evidence counts
	verdictHold      = 30 * time.Second // quiet needed before a verdict clears or steps down
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
	mgmtSlow         = 2 * time.Second  // a management API poll this slow counts
	authFailMin      = 1                // failed nova polls of kind auth or keystone-down before it counts
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
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// Finding is one piece of evidence.
type Finding struct {
	Source string    // which source saw it: "nova", "rabbitmq", "heartbeat" (heartbeats and canary), "rpc-ping"
	Text   string    // what it saw, with counts and times
	At     time.Time // when it was last seen; zero for a count over the current state
	Host   string    // the host it is about, "" when cloud-wide
}

// priority orders verdicts: a higher one replaces a lower one at once.
func priority(c Cause, thin bool) int {
	switch c {
	case CauseBroker:
		if thin {
			return 3
		}
		return 9
	case CauseAuth:
		return 8
	case CauseConductor:
		return 7
	case CauseWidespread:
		return 6
	case CauseHostDown:
		return 5
	case CauseProcess:
		if thin {
			return 2
		}
		return 4
	case CauseServiceDown:
		return 1
	}
	return 0
}

// many reports whether n of total hosts are "many".
func many(n, total int) bool { return n >= manyHostsMin && manyHostsDiv*n >= total }

// hostDown is one host with services down at the last Nova poll.
type hostDown struct {
	host       string
	first, end int32     // its services' range in the summarised Services
	down       int       // how many of them are down
	since      time.Time // the earliest of their Since
}

// svcSummary is what the rules need from the service list, recomputed when it changes.
type svcSummary struct {
	arr     *Service  // identity of the summarised Services (its first element)
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
	condPinged, condFailed   int
	compPinged, compAnswered int
}

// backlogSample is the reply/conductor depth at one queue poll.
type backlogSample struct {
	at    time.Time
	depth int64
}

const backlogRing = 32

// seen remembers when a broker signal was last observed, and how it read.
type seen struct {
	at   time.Time
	now  bool // the latest observation showed it
	text string
}

// verdictState is the Store's memory for the rules, owned by the Apply goroutine.
type verdictState struct {
	svc svcSummary

	backlog     [backlogRing]backlogSample
	nb, nextB   int
	backlogSeen seen

	alarm, mgmtFail, mgmtSlow, amqpFail seen

	cur          Verdict
	lastFired    time.Time // when cur's rule last fired
	healthySince time.Time // broker verdict: quiet since (zero when not quiet)
	clearedAt    time.Time // when the last verdict cleared
	lastEval     time.Time // when the rules last ran

	sigs []Finding // scratch
}

// computeVerdict updates the rules' memory with the batch just folded and
// returns the snapshot's verdict.
func (s *Store) computeVerdict(f *fold, next *Snapshot) Verdict {
	v := &s.vx
	now := next.At
	b := &f.b
	hbWasOK := !v.amqpFail.now
	v.observe(f, next)
	// Heartbeats alone (no probes, the source as healthy as before) change
	// only host ages: evaluate them at most once per second of snapshot time.
	if b.Source == sources.NameHeartbeat && b.Health.OK && hbWasOK && len(b.Probes) == 0 &&
		b.Services == nil && b.Queues == nil && b.Nodes == nil &&
		!v.lastEval.IsZero() && now.Sub(v.lastEval) < time.Second {
		return v.cur
	}
	v.lastEval = now

	ws := now.Add(-verdictWindow)
	if v.clearedAt.After(ws) {
		ws = v.clearedAt
	}
	var first *Service
	if len(next.Services) > 0 {
		first = &next.Services[0]
	}
	if first != v.svc.arr || len(next.Services) != v.svc.n {
		v.summarise(next, ws)
	}
	c := v.evaluate(next, now, ws)
	if c.cause == CauseNone && v.cur.Cause == CauseNone {
		return Verdict{}
	}
	return v.settle(next, now, c)
}

// evaluate returns what the rules say at now on evidence since ws.
func (v *verdictState) evaluate(next *Snapshot, now, ws time.Time) candidate {
	sigs := v.brokerSignals(next, ws, now, v.sigs[:0])
	v.sigs = sigs[:0]
	sum := &v.svc
	authErr, authBad := authFailing(next, now)
	if len(sigs) == 0 && sum.affected == 0 && sum.downHosts == 0 && sum.rpcFailed == 0 && !authBad {
		return candidate{}
	}
	return v.candidate(next, now, ws, sigs, authErr, authBad)
}

// observe records the broker signals the batch carries.
func (v *verdictState) observe(f *fold, next *Snapshot) {
	b := &f.b
	at := f.at
	switch b.Source {
	case sources.NameRabbitMQ:
		if !b.Health.OK {
			h, _ := next.Source(sources.NameRabbitMQ)
			v.mgmtFail = seen{at: at, now: true, text: fmt.Sprintf("management API failing (%s): %s", plural(h.Failures, "poll"), short80(b.Health.Err))}
		} else {
			v.mgmtFail.now = false
		}
		if b.Health.OK && b.Health.Latency >= mgmtSlow {
			v.mgmtSlow = seen{at: at, now: true, text: fmt.Sprintf("management API slow (%s per poll)", format.RTT(b.Health.Latency))}
		} else if b.Health.OK {
			v.mgmtSlow.now = false
		}
	case sources.NameHeartbeat:
		if !b.Health.OK {
			v.amqpFail = seen{at: at, now: true, text: "AMQP connection failing: " + short80(b.Health.Err)}
		} else {
			v.amqpFail.now = false
		}
	}
	if b.Nodes != nil {
		var parts []string
		for _, n := range next.Nodes {
			if !n.Running {
				parts = append(parts, n.Name+" not running")
			}
			if n.MemAlarm {
				parts = append(parts, "mem alarm on "+n.Name)
			}
			if n.DiskAlarm {
				parts = append(parts, "disk alarm on "+n.Name)
			}
			if len(n.Partitions) > 0 {
				parts = append(parts, fmt.Sprintf("%s partitioned from %s", n.Name, strings.Join(n.Partitions, ", ")))
			}
		}
		if len(parts) > 0 {
			v.alarm = seen{at: at, now: true, text: strings.Join(parts, ", ")}
		} else {
			v.alarm.now = false
		}
	}
	if b.Queues != nil {
		v.pushBacklog(at, next.Queues)
	}
}

// pushBacklog records the reply/conductor depth and whether it counts as backing up.
func (v *verdictState) pushBacklog(at time.Time, qs []Queue) {
	var depth int64
	for i := range qs {
		q := &qs[i]
		if (q.Role == RoleReply || q.Role == RoleConductor) && q.Consumers != 0 {
			depth += q.Messages
		}
	}
	v.backlog[v.nextB] = backlogSample{at: at, depth: depth}
	v.nextB = (v.nextB + 1) % backlogRing
	v.nb = min(v.nb+1, backlogRing)

	// The reference: the newest sample at least backlogSpan old, else the oldest held.
	var ref backlogSample
	found := false
	for k := 1; k < v.nb; k++ {
		smp := v.backlog[(v.nextB-1-k+2*backlogRing)%backlogRing]
		ref, found = smp, true
		if at.Sub(smp.at) >= backlogSpan {
			break
		}
	}
	span := at.Sub(ref.at)
	if !found || span < backlogMinSpan {
		v.backlogSeen.now = false
		return
	}
	growth := float64(depth-ref.depth) / span.Minutes()
	switch {
	case depth >= backlogMin && growth >= backlogGrowthMin:
		v.backlogSeen = seen{at: at, now: true, text: fmt.Sprintf("reply/conductor queues %s/min (%s queued)", format.Growth(growth), format.Count(int64(depth)))}
	case depth >= backlogStuck && ref.depth >= backlogStuck:
		v.backlogSeen = seen{at: at, now: true, text: fmt.Sprintf("reply/conductor queues stuck at %s queued for %s", format.Count(int64(depth)), span.Round(time.Second))}
	default:
		v.backlogSeen.now = false
	}
}

// summarise recomputes the service counts over next.Services.
func (v *verdictState) summarise(next *Snapshot, ws time.Time) {
	byHost := v.svc.byHost[:0]
	sum := svcSummary{n: len(next.Services), byHost: byHost}
	svcs := next.Services
	if len(svcs) > 0 {
		sum.arr = &svcs[0]
	}
	var freshest time.Time
	for i := range svcs {
		if svcs[i].UpdatedAt.After(freshest) {
			freshest = svcs[i].UpdatedAt
		}
	}
	failedHost, affectedHost, hostName := "", "", ""
	for i := range svcs {
		sv := &svcs[i]
		if sv.Key.Host != hostName {
			hostName = sv.Key.Host
			sum.hosts++
		}
		if sv.Cond == CondForcedDown || sv.Cond == CondUnknown {
			continue
		}
		down := sv.Cond == CondDown
		late := reporting(sv.Cond) && sv.ReportInterval > 0 && !sv.UpdatedAt.IsZero() &&
			freshest.Sub(sv.UpdatedAt) > lateFactor*sv.ReportInterval
		wentDown := time.Time{}
		for k := len(sv.History) - 1; k >= 0 && !sv.History[k].At.Before(ws); k-- {
			if sv.History[k].To == CondDown {
				wentDown = sv.History[k].At
			}
		}
		if down || late || !wentDown.IsZero() {
			sum.affected++
			if sv.Key.Host != affectedHost {
				affectedHost = sv.Key.Host
				sum.affectedHosts++
			}
			switch {
			case down:
				sum.down++
			case late:
				sum.late++
			case sv.Flapping:
				sum.flapping++
			default:
				sum.recentDown++
			}
			if !wentDown.IsZero() && (sum.started.IsZero() || wentDown.Before(sum.started)) {
				sum.started = wentDown
			}
		}
		if down {
			if n := len(sum.byHost); n > 0 && sum.byHost[n-1].host == sv.Key.Host {
				h := &sum.byHost[n-1]
				h.down++
				h.end = int32(i + 1)
				if sv.Since.Before(h.since) {
					h.since = sv.Since
				}
			} else {
				sum.downHosts++
				if len(sum.byHost) < maxHostFindings {
					sum.byHost = append(sum.byHost, hostDown{host: sv.Key.Host, first: int32(i), end: int32(i + 1), down: 1, since: sv.Since})
				}
			}
		}
		if sv.RPC != nil && !sv.RPC.At.Before(ws) {
			ok := sv.RPC.Result == sources.ProbeOK
			sum.rpcPinged++
			if !ok {
				sum.rpcFailed++
				if sv.Key.Host != failedHost {
					failedHost = sv.Key.Host
					sum.rpcFailedHosts++
				}
			}
			switch sv.Key.Binary {
			case "nova-conductor":
				sum.condPinged++
				if !ok {
					sum.condFailed++
				}
			case "nova-compute":
				sum.compPinged++
				if ok {
					sum.compAnswered++
				}
			}
		}
	}
	v.svc = sum
}

// conductorPattern reports whether RPC pings say the conductor, and not the broker, fails.
func (sum *svcSummary) conductorPattern() bool {
	return sum.condFailed > 0 && 2*sum.condFailed >= sum.condPinged &&
		sum.compAnswered > 0 && 3*sum.compAnswered >= 2*sum.compPinged
}

// brokerSignals appends the broker signals seen within [ws, now] to out.
func (v *verdictState) brokerSignals(next *Snapshot, ws, now time.Time, out []Finding) []Finding {
	// Canary: the last canaryLookback probes sent within the window.
	h := next.Canary.History
	n, failed, slow := 0, 0, 0
	for k := len(h) - 1; k >= 0 && n < canaryLookback && !h[k].At.Before(ws); k-- {
		n++
		if h[k].Result != sources.ProbeOK {
			failed++
		} else if h[k].RTT >= canarySlowRTT {
			slow++
		}
	}
	if n > 0 {
		last := h[len(h)-1]
		switch {
		case failed >= canaryFailMin:
			lastText := string(last.Result) + " " + format.RTT(last.RTT)
			if last.Result == sources.ProbeError {
				lastText = "could not send" // no round trip to time
			}
			out = append(out, Finding{Source: sources.NameHeartbeat, At: last.At,
				Text: fmt.Sprintf("canary %d/%d failed (last %s)", failed, n, lastText)})
		case slow >= canarySlowMin:
			out = append(out, Finding{Source: sources.NameHeartbeat, At: last.At,
				Text: fmt.Sprintf("canary slow: %d/%d over %s (last %s)", slow, n, format.RTT(canarySlowRTT), format.RTT(last.RTT))})
		}
	}
	add := func(src string, s *seen) []Finding {
		if s.text == "" || s.at.Before(ws) {
			return out
		}
		t := s.text
		if !s.now {
			t += " (last " + format.Clock(s.at) + ")"
		}
		return append(out, Finding{Source: src, At: s.at, Text: t})
	}
	out = add(sources.NameHeartbeat, &v.amqpFail)
	out = add(sources.NameRabbitMQ, &v.alarm)
	out = add(sources.NameRabbitMQ, &v.backlogSeen)
	out = add(sources.NameRabbitMQ, &v.mgmtFail)
	if hs, ok := next.Source(sources.NameRabbitMQ); ok && !v.mgmtFail.now && hs.Stale(now) {
		out = append(out, Finding{Source: sources.NameRabbitMQ, At: hs.LastSuccess,
			Text: "no broker data since " + format.ClockOr(hs.LastSuccess, "never")})
	}
	out = add(sources.NameRabbitMQ, &v.mgmtSlow)
	if sum := &v.svc; sum.rpcFailed >= rpcFailMin && sum.rpcFailedHosts >= 2 && manyHostsDiv*sum.rpcFailed >= sum.rpcPinged && !sum.conductorPattern() {
		out = append(out, Finding{Source: "rpc-ping",
			Text: fmt.Sprintf("RPC pings of %d/%d services on %s failing", sum.rpcFailed, sum.rpcPinged, plural(sum.rpcFailedHosts, "host"))})
	}
	if v.svc.affected > 0 {
		if hb, ok := next.Source(sources.NameHeartbeat); ok && hb.Failures == 0 {
			if lost := lostHosts(next, now); many(lost, len(next.Hosts)) {
				out = append(out, Finding{Source: sources.NameHeartbeat,
					Text: fmt.Sprintf("heartbeats from %d/%d hosts stopped", lost, len(next.Hosts))})
			}
		}
	}
	return out
}

// lostHosts counts hosts whose heartbeats are lost at now.
func lostHosts(next *Snapshot, now time.Time) int {
	n := 0
	for i := range next.Hosts {
		if next.Hosts[i].Liveness(now) == LiveLost {
			n++
		}
	}
	return n
}

// authFailing reports whether the nova source fails for want of
// authentication (its failure kind auth or keystone-down, as the source
// classified it from the status and the phase that failed, never from the
// error's words), with its error.
func authFailing(next *Snapshot, now time.Time) (string, bool) {
	h, ok := next.Source(sources.NameNova)
	if !ok || h.Failures == 0 || (h.Kind != sources.FailAuth && h.Kind != sources.FailKeystone) {
		return "", false
	}
	return h.LastErr, h.Failures >= authFailMin || h.Stale(now)
}

// candidate is what the rules say at this instant, before the hold.
type candidate struct {
	cause    Cause
	thin     bool
	summary  string
	scope    string // what the verdict is about, briefly: hosts, services or signals
	started  time.Time
	findings []Finding
}

func (c *candidate) prio() int { return priority(c.cause, c.thin) }

// candidate evaluates the rules in priority order; findings of lower rules
// become evidence of the one that speaks.
func (v *verdictState) candidate(next *Snapshot, now, ws time.Time, sigs []Finding, authErr string, authBad bool) candidate {
	sum := &v.svc
	var c candidate
	var extra []Finding // findings of rules that did not speak

	manyAffected := sum.affected >= manyHostsMin && many(sum.affectedHosts, sum.hosts)
	svcFinding := Finding{Source: sources.NameNova, Text: sum.affectedText()}

	// Host by host, when the hosts with down services are few.
	var hostF []Finding
	var downNamed, procNamed, unknownNamed []string
	procThin := true
	few := !many(sum.downHosts, sum.hosts)
	if sum.downHosts > 0 {
		hb, hbOK := next.Source(sources.NameHeartbeat)
		hbHealthy := hbOK && hb.Failures == 0 && !hb.Stale(now)
		massLost := many(lostHosts(next, now), len(next.Hosts))
		for _, hd := range sum.byHost {
			svcs := next.Services[hd.first:hd.end]
			what := downServices(svcs)
			host, known := next.Host(hd.host)
			rpcText, rpcFailed, rpcOK := rpcOf(svcs)
			switch {
			case known && host.Liveness(now) == LiveLost && hbHealthy && !massLost:
				downNamed = append(downNamed, hd.host)
				hostF = append(hostF, Finding{Source: sources.NameHeartbeat, Host: hd.host, At: host.LastSeen,
					Text: fmt.Sprintf("host down: %s: %s down since %s, no heartbeat since %s", hd.host, what, format.Clock(hd.since), format.Clock(host.LastSeen))})
			case known && host.Liveness(now) != LiveLost && !rpcOK && hbHealthy:
				// (With the heartbeat source failing, a host not yet lost
				// is only not heard from for long enough: its heartbeats
				// cannot be said to continue.)
				missing := missingProcesses(svcs, host)
				detail := rpcText
				if missing != "" {
					detail = missing + " not running; " + detail
				}
				if rpcFailed || missing != "" {
					procThin = false
				}
				procNamed = append(procNamed, what+" on "+hd.host)
				hostF = append(hostF, Finding{Source: sources.NameHeartbeat, Host: hd.host, At: host.LastSeen,
					Text: fmt.Sprintf("service process problem: %s on %s down since %s, host heartbeats continue (last %s ago); %s",
						what, hd.host, format.Clock(hd.since), format.RTT(now.Sub(host.LastSeen)), detail)})
			case rpcOK:
				unknownNamed = append(unknownNamed, what+" on "+hd.host)
				hostF = append(hostF, Finding{Source: "rpc-ping", Host: hd.host,
					Text: fmt.Sprintf("%s on %s down since %s but answers RPC (%s): its reports do not reach Nova (conductor or database?)", what, hd.host, format.Clock(hd.since), rpcText)})
			case !known && rpcFailed:
				procThin = false
				procNamed = append(procNamed, what+" on "+hd.host)
				hostF = append(hostF, Finding{Source: "rpc-ping", Host: hd.host,
					Text: fmt.Sprintf("service process problem: %s on %s down since %s; %s; no heartbeats from the host", what, hd.host, format.Clock(hd.since), rpcText)})
			default:
				unknownNamed = append(unknownNamed, what+" on "+hd.host)
				why := "no heartbeats from the host"
				switch {
				case known && !hbHealthy:
					why = fmt.Sprintf("heartbeat source failing (host last heard %s)", format.Clock(host.LastSeen))
				case known:
					why = fmt.Sprintf("heartbeats lost (last %s) with most hosts silent", format.Clock(host.LastSeen))
				}
				hostF = append(hostF, Finding{Source: sources.NameNova, Host: hd.host,
					Text: fmt.Sprintf("%s on %s down since %s; %s; %s", what, hd.host, format.Clock(hd.since), why, rpcText)})
			}
		}
		if !few {
			// Many hosts down: the broker or widespread rule speaks; keep
			// only the strong host findings (heartbeats lost, process gone).
			downNamed, procNamed, unknownNamed = nil, nil, nil
			strong := hostF[:0]
			for _, f := range hostF {
				if strings.HasPrefix(f.Text, "host down: ") || strings.Contains(f.Text, " not running; ") {
					strong = append(strong, f)
				}
			}
			hostF = strong
		} else if sum.downHosts > len(sum.byHost) {
			hostF = append(hostF, Finding{Source: sources.NameNova, Text: fmt.Sprintf("and %s with services down not examined", plural(sum.downHosts-len(sum.byHost), "more host"))})
		}
	}

	authF := Finding{Source: sources.NameNova, Text: "nova polls failing authenticating: " + short80(authErr)}
	if h, ok := next.Source(sources.NameNova); ok {
		authF.At = h.LastSuccess
		authF.Text = fmt.Sprintf("nova polls failing authenticating (%s): %s; Nova data from %s", plural(h.Failures, "poll"), short80(authErr), format.ClockOr(h.LastSuccess, "never"))
	}

	switch {
	case manyAffected && len(sigs) > 0:
		c = candidate{cause: CauseBroker, started: sum.started,
			summary: "broker-wide problem suspected: " + sum.affectedPhrase() + ", " + joinTexts(sigs, maxNamed+1),
			scope:   sum.scope()}
		c.findings = append(append(c.findings, svcFinding), sigs...)
	case len(sigs) >= 2 && sum.affected > 0:
		// Services affected on too few hosts to be "many": a small cloud
		// (the dev cloud's two computes, both down with the broker
		// stopped), or the first victims. They are named, never "not
		// affected"; "broker-wide" stays for many hosts.
		c = candidate{cause: CauseBroker, started: earliest(sigs),
			summary: "broker problem suspected: " + sum.affectedPhrase() + ", " + joinTexts(sigs, maxNamed+1),
			scope:   sum.scope()}
		if !sum.started.IsZero() && (c.started.IsZero() || sum.started.Before(c.started)) {
			c.started = sum.started
		}
		c.findings = append(append(c.findings, svcFinding), sigs...)
	case len(sigs) >= 2:
		c = candidate{cause: CauseBroker, started: earliest(sigs),
			summary: "broker problem, services not affected yet: " + joinTexts(sigs, maxNamed+1),
			scope:   signalNames(sigs)}
		c.findings = append(c.findings, sigs...)
	case authBad:
		c = candidate{cause: CauseAuth, summary: "auth outage, data stale: " + authF.Text, findings: []Finding{authF}, scope: "Nova polls failing"}
		extra = append(extra, sigs...)
	case sum.conductorPattern():
		c = candidate{cause: CauseConductor, started: sum.started,
			summary: fmt.Sprintf("conductor problem: RPC pings of %d/%d nova-conductor failing while %d/%d nova-compute answer",
				sum.condFailed, sum.condPinged, sum.compAnswered, sum.compPinged),
			scope: fmt.Sprintf("%d/%d nova-conductor not answering RPC", sum.condFailed, sum.condPinged)}
		c.findings = append(c.findings, Finding{Source: "rpc-ping", Text: c.summary[len("conductor problem: "):]})
		if sum.affected > 0 {
			c.findings = append(c.findings, svcFinding)
		}
		extra = append(extra, sigs...)
	case manyAffected:
		c = candidate{cause: CauseWidespread, thin: true, started: sum.started,
			summary:  "widespread service trouble, cause unclear: " + sum.affectedPhrase() + "; no broker signal",
			findings: []Finding{svcFinding}, scope: sum.scope()}
	case len(downNamed) > 0:
		c = candidate{cause: CauseHostDown, summary: namedList("host down: ", "hosts down: ", downNamed), scope: shortList(downNamed)}
		c.findings = hostF
		c.started = earliestDown(sum)
	case len(procNamed) > 0:
		c = candidate{cause: CauseProcess, thin: procThin, summary: namedList("service process problem: ", "service process problems: ", procNamed), scope: shortList(procNamed)}
		if procThin {
			c.summary += " (no RPC data)"
		}
		c.findings = hostF
		c.started = earliestDown(sum)
	case len(sigs) == 1:
		c = candidate{cause: CauseBroker, thin: true, started: sigs[0].At,
			summary:  fmt.Sprintf("possible broker problem (thin evidence: %s only): %s", signalName(sigs[0]), sigs[0].Text),
			findings: []Finding{sigs[0]}, scope: signalName(sigs[0])}
	case len(unknownNamed) > 0:
		c = candidate{cause: CauseServiceDown, thin: true,
			summary: namedList("service down, cause unclear (thin evidence): ", "services down, cause unclear (thin evidence): ", unknownNamed),
			scope:   shortList(unknownNamed)}
		c.findings = hostF
		c.started = earliestDown(sum)
	default:
		return c
	}
	if c.cause == CauseBroker || c.cause == CauseAuth || c.cause == CauseConductor || c.cause == CauseWidespread {
		extra = append(extra, hostF...)
	}
	if authBad && c.cause != CauseAuth {
		extra = append(extra, authF)
	} else if h, ok := next.Source(sources.NameNova); ok && c.cause != CauseAuth && h.Stale(now) {
		extra = append(extra, Finding{Source: sources.NameNova, At: h.LastSuccess, Text: "Nova data stale: last success " + format.ClockOr(h.LastSuccess, "never")})
	}
	for i := range next.Restarts {
		r := &next.Restarts[i]
		if r.At.Before(ws) {
			break
		}
		if r.Kind == RestartBrokerNode {
			extra = append(extra, Finding{Source: r.Source, At: r.At, Host: r.Where, Text: fmt.Sprintf("broker node %s restarted at %s: %s", r.Where, format.Clock(r.At), r.Evidence)})
		}
	}
	c.findings = append(c.findings, extra...)
	return c
}

// settle applies the hold: it decides between the current verdict and the candidate.
func (v *verdictState) settle(next *Snapshot, now time.Time, c candidate) Verdict {
	cur := v.cur
	curPrio := priority(cur.Cause, cur.Thin)
	if cur.Cause == CauseBroker && c.prio() <= curPrio {
		// Broker: it clears once quiet (no broker signal within the last
		// verdictHold, the hosts with down services not many) for
		// verdictHold, even while the window still holds older evidence.
		wsq := now.Add(-verdictHold)
		if v.clearedAt.After(wsq) {
			wsq = v.clearedAt
		}
		quiet := len(v.brokerSignals(next, wsq, now, v.sigs[:0])) == 0 && !many(v.svc.downHosts, v.svc.hosts)
		switch {
		case !quiet:
			v.healthySince = time.Time{}
		case v.healthySince.IsZero():
			v.healthySince = now
		case now.Sub(v.healthySince) >= verdictHold:
			return v.clear(next, now)
		}
		if c.prio() == curPrio {
			hs := v.healthySince
			v.adopt(c, now, cur.Since)
			v.healthySince = hs
		}
		return v.cur
	}
	switch {
	case c.cause != CauseNone && c.prio() > curPrio:
		v.adopt(c, now, time.Time{})
	case c.cause != CauseNone && c.prio() == curPrio:
		v.adopt(c, now, cur.Since)
	case cur.Cause != CauseNone && now.Sub(v.lastFired) >= verdictHold:
		return v.clear(next, now)
	}
	return v.cur
}

// adopt makes c the current verdict; since zero means "reached now".
// Started is held for the whole episode (until the verdict clears): the
// earliest evidence any of its verdicts had, and never later than when the
// first of them was reached, so a window sliding past the first evidence,
// or a candidate without a start of its own, cannot move it later.
func (v *verdictState) adopt(c candidate, now, since time.Time) {
	if since.IsZero() {
		since = now
	}
	started := c.started
	if started.IsZero() || started.After(now) {
		started = now
	}
	if prev := v.cur.Started; prev.Before(started) && v.cur.Cause != CauseNone && !prev.IsZero() {
		started = prev
	}
	c.started = started
	ev := make([]string, len(c.findings))
	for i, f := range c.findings {
		ev[i] = f.Source + ": " + f.Text
	}
	v.cur = Verdict{Summary: c.summary, Headline: headline(c.cause, c.thin, c.scope, c.started), Evidence: ev, Cause: c.cause, Thin: c.thin, Since: since, Started: c.started, Findings: c.findings}
	v.lastFired = now
	v.healthySince = time.Time{}
}

// clear ends the current verdict and restarts the evidence window at now;
// the rules are evaluated again on the new window, and what still fires
// on new evidence takes over.
func (v *verdictState) clear(next *Snapshot, now time.Time) Verdict {
	v.cur = Verdict{}
	v.clearedAt = now
	v.healthySince = time.Time{}
	v.summarise(next, now)
	if c := v.evaluate(next, now, now); c.cause != CauseNone {
		v.adopt(c, now, time.Time{})
	}
	return v.cur
}

// causeLabels name each cause in a Headline; thin ones their own.
var causeLabels = [...][2]string{
	CauseBroker:      {"broker problem", "possible broker problem"},
	CauseAuth:        {"auth outage", "auth outage"},
	CauseConductor:   {"conductor problem", "conductor problem"},
	CauseWidespread:  {"widespread trouble", "widespread trouble, cause unclear"},
	CauseHostDown:    {"host down", "host down"},
	CauseProcess:     {"service process problem", "service process problem?"},
	CauseServiceDown: {"service down", "service down, cause unclear"},
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

// affectedText is the service finding: counts by kind and since when.
func (sum *svcSummary) affectedText() string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{sum.down, "down"}, {sum.flapping, "flapping"}, {sum.late, "late"}, {sum.recentDown, "up again after going down"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	t := fmt.Sprintf("%d/%d services on %d/%d hosts affected", sum.affected, sum.n, sum.affectedHosts, sum.hosts)
	if len(parts) > 0 {
		t += ": " + strings.Join(parts, ", ")
	}
	if !sum.started.IsZero() {
		t += "; first went down " + format.Clock(sum.started)
	}
	return t
}

// affectedPhrase is the summary's service part: "14 services on 12 hosts down/flapping since 03:58:10".
func (sum *svcSummary) affectedPhrase() string {
	var kinds []string
	switch {
	case sum.down > 0:
		kinds = append(kinds, "down")
	case sum.recentDown > 0:
		kinds = append(kinds, "up again after going down") // within the window: the hold after recovery
	}
	if sum.flapping > 0 {
		kinds = append(kinds, "flapping")
	}
	if sum.late > 0 {
		kinds = append(kinds, "late")
	}
	t := fmt.Sprintf("%s on %s %s", plural(sum.affected, "service"), plural(sum.affectedHosts, "host"), strings.Join(kinds, "/"))
	if !sum.started.IsZero() {
		t += " since " + format.Clock(sum.started)
	}
	return t
}

// downServices names the down services of one host: "nova-compute" or "nova-compute, nova-network".
func downServices(svcs []Service) string {
	var names []string
	for i := range svcs {
		if svcs[i].Cond == CondDown {
			names = append(names, svcs[i].Key.Binary)
		}
	}
	return strings.Join(names, ", ")
}

// rpcOf describes the last RPC pings of a host's down services: whether one
// failed, and whether all of those pinged answered.
func rpcOf(svcs []Service) (text string, failed, ok bool) {
	pinged, answered := 0, 0
	var last *sources.Probe
	for i := range svcs {
		sv := &svcs[i]
		if sv.Cond != CondDown || sv.RPC == nil {
			continue
		}
		pinged++
		if sv.RPC.Result == sources.ProbeOK {
			answered++
		} else if last == nil || sv.RPC.At.After(last.At) {
			last = sv.RPC
		}
	}
	switch {
	case pinged == 0:
		return "no RPC data", false, false
	case last != nil:
		return fmt.Sprintf("RPC ping of %s %s at %s", last.Binary, last.Result, format.Clock(last.At)), true, false
	}
	return fmt.Sprintf("RPC pings answered (%d)", answered), false, true
}

// missingProcesses names the down services that the host's agent does not list as running.
func missingProcesses(svcs []Service, h Host) string {
	if len(h.Processes) == 0 {
		return ""
	}
	var missing []string
	for i := range svcs {
		if svcs[i].Cond != CondDown {
			continue
		}
		found := false
		for _, p := range h.Processes {
			if p.Name == svcs[i].Key.Binary {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, svcs[i].Key.Binary)
		}
	}
	return strings.Join(missing, ", ")
}

// earliestDown is when the first of the down hosts' services went down.
func earliestDown(sum *svcSummary) time.Time {
	var t time.Time
	for _, h := range sum.byHost {
		if t.IsZero() || h.since.Before(t) {
			t = h.since
		}
	}
	return t
}

// earliest is the earliest non-zero At of fs.
func earliest(fs []Finding) time.Time {
	var t time.Time
	for _, f := range fs {
		if !f.At.IsZero() && (t.IsZero() || f.At.Before(t)) {
			t = f.At
		}
	}
	return t
}

// signalName is a broker signal's short name for "thin evidence: X only".
func signalName(f Finding) string {
	switch {
	case strings.HasPrefix(f.Text, "canary"):
		return "canary"
	case strings.HasPrefix(f.Text, "AMQP"):
		return "AMQP connection"
	case strings.HasPrefix(f.Text, "reply/conductor"):
		return "queue backlog"
	case strings.HasPrefix(f.Text, "management API"), strings.HasPrefix(f.Text, "no broker data"):
		return "management API"
	case strings.HasPrefix(f.Text, "RPC"):
		return "RPC pings"
	case strings.HasPrefix(f.Text, "heartbeats"):
		return "heartbeats"
	}
	return "broker alarms"
}

// signalNames names the signals briefly: "canary, AMQP connection +1".
func signalNames(fs []Finding) string {
	names := make([]string, len(fs))
	for i := range fs {
		names[i] = signalName(fs[i])
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

// scope is the headline's service part: "14 services on 12 hosts".
func (sum *svcSummary) scope() string {
	return plural(sum.affected, "service") + " on " + plural(sum.affectedHosts, "host")
}

// joinTexts joins the first n findings' texts, noting how many more there are.
func joinTexts(fs []Finding, n int) string {
	var b strings.Builder
	for i, f := range fs {
		if i == n {
			fmt.Fprintf(&b, ", +%d more", len(fs)-n)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Text)
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
