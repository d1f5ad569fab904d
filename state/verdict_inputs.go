package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// SignalKind is the kind of a broker signal; see the package comment of verdict.go.
type SignalKind uint8

// Broker signals.
const (
	SigCanary     SignalKind = iota + 1 // the round-trip canary failing or slow
	SigAMQP                             // the heartbeat/canary source's AMQP connection failing
	SigMgmt                             // the management API failing, stale or slow
	SigAlarm                            // a node's memory or disk alarm, a partition, a node not running
	SigBacklog                          // reply/conductor queues backing up
	SigRPC                              // RPC pings failing across services and hosts
	SigHeartbeats                       // heartbeats from many hosts stopped at once
)

func (k SignalKind) String() string {
	switch k {
	case SigCanary:
		return "canary"
	case SigAMQP:
		return "AMQP connection"
	case SigMgmt:
		return "management API"
	case SigAlarm:
		return "broker alarms"
	case SigBacklog:
		return "queue backlog"
	case SigRPC:
		return "RPC pings"
	case SigHeartbeats:
		return "heartbeats"
	}
	return fmt.Sprintf("signal(%d)", uint8(k))
}

// Signal is one broker signal the rules saw within the evidence window.
type Signal struct {
	Kind   SignalKind
	Source string    // the source that saw it
	At     time.Time // when it was last seen; zero for a count over the current state
	Now    bool      // the latest observation still shows it (false: seen earlier in the window, since recovered)
	Text   string    // what it saw, in words, for the evidence
	// ConductorOnly: a backlog on the conductor queue alone, the reply
	// queues not backing up (what a sick conductor, not a sick broker, makes).
	ConductorOnly bool
}

// Beat is how a host's heartbeats stand for the rules.
type Beat uint8

// Heartbeat standings of a host.
const (
	BeatNone     Beat = iota // no agent heard from this host (or no heartbeat source)
	BeatFresh                // a heartbeat within freshBeats intervals (and the source healthy)
	BeatStale                // neither fresh nor lost: not enough to tell either way
	BeatLost                 // lost (Host.Liveness) while the source is healthy and most hosts beat
	BeatUnheard              // the heartbeat source itself failing: the host cannot be judged
	BeatMassLost             // lost, but so are many hosts: a broker matter, not this host's
	BeatReturned             // fresh again, but only since after its services went down (within returnGrace): the host is coming back, its services may follow
)

func (b Beat) String() string {
	return [...]string{"no agent", "fresh", "stale", "lost", "source failing", "lost with many", "back after its services went down"}[b]
}

// PingState is how the RPC pings of a host's down services stand.
type PingState uint8

// RPC ping standings.
const (
	PingNone     PingState = iota // no ping within the window
	PingFailed                    // one of them did not answer in time: the process does not serve RPC
	PingAnswered                  // all pinged answered
	// PingUndelivered: a ping of one of them never reached it (the broker
	// blocked the publish, or it could not be sent) and none timed out:
	// that says something of the broker, nothing of the process.
	PingUndelivered
	// PingPending: every ping of them was answered, but sent before the
	// service was seen down: a process that died just after answering looks
	// the same as one whose reports do not reach Nova. The next ping decides.
	PingPending
)

// HostInput is one host with services down, as the rules saw it.
type HostInput struct {
	Host     string
	Down     string    // its down services: "nova-compute"
	Since    time.Time // when the first of them went down
	Beat     Beat
	LastSeen time.Time // its last heartbeat; zero when never heard
	Ping     PingState
	PingText string // "RPC ping of nova-compute timeout at 12:00:40", "no RPC data"
	Missing  string // down services the host's agent does not list as running
	// PeersDown: each of its down services is down on every host that runs
	// it, two or more ("2/2 nova-compute"): the service is no exception
	// among its peers, the signature of a shared dependency. "" otherwise.
	PeersDown string
}

// SourceInput is one source's health as the rules saw it.
type SourceInput struct {
	Name        string
	Failing     bool
	Failures    int                 // consecutive failed polls
	Kind        sources.FailureKind // of the last failure; FailNone when OK
	Stale       bool
	LastSuccess time.Time
	Err         string // the last error, short
}

// VerdictInputs is everything the rules looked at, typed: the `v` screen
// shows exactly these.
type VerdictInputs struct {
	At    time.Time // the snapshot time the rules ran at
	Since time.Time // the evidence window's start

	Services, NovaHosts               int // Nova services, and hosts running them
	Affected, AffectedHosts           int // services down, late or gone down within the window, and their hosts
	Down, Late, Flapping, RecentDown  int
	DownHosts                         int  // hosts with a service down now
	ManyAffected, ManyDown            bool // affected hosts, hosts with services down, are "many"
	RPCPinged, RPCFailed, RPCFailHost int  // services pinged within the window, whose last ping failed, and their hosts
	CondPinged, CondTimedOut          int  // nova-conductor pinged, and whose last ping timed out
	CompPinged, CompAnswered          int  // nova-compute pinged, and answering

	Signals     []Signal    // broker signals within the window
	DownByHost  []HostInput // hosts with services down (at most maxHostFindings)
	HeartbeatOK bool        // the heartbeat source healthy (no failure, not stale)
	HostsKnown  int         // hosts with an agent beating until the newest loss (lostAtOnce)
	HostsLost   int         // of them lost, their heartbeats stopped together
	Sources     []SourceInput

	Auth         bool   // Nova fails for want of authentication (kind auth or keystone-down)
	KeystoneSlow bool   // Nova fails because Keystone did not answer in time (kind keystone-timeout): slow or down, not known which
	AuthErr      string // the error of either
	// NovaFailing: Nova's polls fail (of any kind) or its data is stale:
	// whether every service is up is not known, so nothing has recovered.
	NovaFailing bool
	// BrokerProven: the broker carried a round trip (a canary, or a
	// management poll when there is no canary) after the earliest failing
	// conductor ping was sent, and no broker signal but a conductor-only
	// backlog stands: the conductor rule needs it.
	BrokerProven   bool
	Blind          []string  // sources failing with connection kinds when the blind rule holds: "nova (refused)"
	Quiet          bool      // every service up and no symptom now: the hold towards clearing runs
	FirstDown      time.Time // when the first affected service went down within the window; zero if none did
	BrokerRestarts []Restart // broker nodes restarted within the window, newest first
	Episode        bool      // services were affected earlier in the current verdict's episode
}

// symptomNow reports whether anything is wrong at this instant: a service
// down or late, a signal showing now, an RPC ping failing, Nova failing
// (whatever the kind: while Nova cannot be read, no one knows that every
// service is up) or its data stale, or the blind condition.
func (in *VerdictInputs) symptomNow() bool {
	if in == nil {
		return false
	}
	if in.Down > 0 || in.Late > 0 || in.RPCFailed > 0 || in.Auth || in.KeystoneSlow || in.NovaFailing || len(in.Blind) > 0 {
		return true
	}
	for i := range in.Signals {
		if in.Signals[i].Now {
			return true
		}
	}
	return false
}

// conductorPattern: RPC pings of at least half the pinged nova-conductor
// time out while at least two thirds of the pinged nova-compute answer.
func (in *VerdictInputs) conductorPattern() bool {
	return in.CondTimedOut > 0 && 2*in.CondTimedOut >= in.CondPinged &&
		in.CompAnswered > 0 && 3*in.CompAnswered >= 2*in.CompPinged
}

// inputs computes what the rules look at, at now on evidence since ws.
func (v *verdictState) inputs(next *Snapshot, now, ws time.Time) *VerdictInputs {
	sum := &v.svc
	in := &VerdictInputs{
		At: now, Since: ws,
		Services: sum.n, NovaHosts: sum.hosts,
		Affected: sum.affected, AffectedHosts: sum.affectedHosts,
		Down: sum.down, Late: sum.late, Flapping: sum.flapping, RecentDown: sum.recentDown,
		DownHosts: sum.downHosts,
		RPCPinged: sum.rpcPinged, RPCFailed: sum.rpcFailed, RPCFailHost: sum.rpcFailedHosts,
		CondPinged: sum.condPinged, CondTimedOut: sum.condTimedOut,
		CompPinged: sum.compPinged, CompAnswered: sum.compAnswered,
	}
	in.ManyAffected = in.Affected >= manyHostsMin && many(in.AffectedHosts, in.NovaHosts)
	in.ManyDown = many(in.DownHosts, in.NovaHosts)
	hb, hbOK := next.Source(sources.NameHeartbeat)
	in.HeartbeatOK = hbOK && hb.Failures == 0 && !hb.Stale(now)
	in.HostsLost, in.HostsKnown = lostAtOnce(next.Hosts, now)
	for _, h := range next.Sources {
		si := SourceInput{Name: h.Name, Failing: h.Failures > 0, Failures: h.Failures, Kind: h.Kind, Stale: h.Stale(now), LastSuccess: h.LastSuccess}
		if si.Failing {
			si.Err = short80(h.LastErr)
		}
		if h.Name == sources.NameNova {
			in.NovaFailing = si.Failing || si.Stale
		}
		in.Sources = append(in.Sources, si)
	}
	var authKind sources.FailureKind
	in.AuthErr, authKind = authFailing(next, now)
	in.Auth = authKind == sources.FailAuth || authKind == sources.FailKeystone
	in.KeystoneSlow = authKind == sources.FailKeystoneTimeout
	in.Signals = v.brokerSignals(next, in, ws, now)
	in.DownByHost = v.hostInputs(next, in, now)
	in.BrokerProven = brokerProven(next, in, ws)
	in.Blind = blind(in.Sources)
	in.Episode = v.episodeAffected
	in.FirstDown = sum.started
	for i := range next.Restarts {
		r := &next.Restarts[i]
		if r.At.Before(ws) {
			break
		}
		if r.Kind == RestartBrokerNode {
			in.BrokerRestarts = append(in.BrokerRestarts, *r)
		}
	}
	return in
}

// hostInputs examines each host with services down.
func (v *verdictState) hostInputs(next *Snapshot, in *VerdictInputs, now time.Time) []HostInput {
	sum := &v.svc
	if len(sum.byHost) == 0 {
		return nil
	}
	hb, _ := next.Source(sources.NameHeartbeat)
	massLost := many(in.HostsLost, in.HostsKnown)
	out := make([]HostInput, 0, len(sum.byHost))
	for _, hd := range sum.byHost {
		svcs := next.Services[hd.first:hd.end]
		hi := HostInput{Host: hd.host, Down: downServices(svcs), Since: hd.since}
		hi.PingText, hi.Ping = rpcOf(svcs)
		host, known := next.Host(hd.host)
		switch {
		case !known:
			hi.Beat = BeatNone
		case !in.HeartbeatOK:
			hi.Beat = BeatUnheard
		case host.Liveness(now) == LiveLost && massLost:
			hi.Beat = BeatMassLost
		case host.Liveness(now) == LiveLost:
			hi.Beat = BeatLost
		case fresh(host, hb.Interval, now) && returning(host, hd.since, now):
			hi.Beat = BeatReturned
		case fresh(host, hb.Interval, now):
			hi.Beat = BeatFresh
		default:
			hi.Beat = BeatStale
		}
		if known {
			hi.LastSeen = host.LastSeen
			hi.Missing = missingProcesses(svcs, host)
		}
		hi.PeersDown = sum.peersDown(svcs)
		out = append(out, hi)
	}
	return out
}

// peersDown is HostInput.PeersDown for one host's services: "2/2
// nova-compute" when every one of its down services is down on every host
// running it (two or more), else "".
func (sum *svcSummary) peersDown(svcs []*Service) string {
	var parts []string
	for i := range svcs {
		if svcs[i].Cond != CondDown {
			continue
		}
		k := slices.IndexFunc(sum.binaries, func(b binaryCount) bool { return b.binary == svcs[i].Key.Binary })
		if k < 0 || sum.binaries[k].hosts < 2 || sum.binaries[k].down < sum.binaries[k].hosts {
			return ""
		}
		parts = append(parts, fmt.Sprintf("%d/%d %s", sum.binaries[k].down, sum.binaries[k].hosts, svcs[i].Key.Binary))
	}
	return strings.Join(parts, ", ")
}

// returning reports whether the host's heartbeats came back only after its
// services went down (since), less than returnGrace ago: a host coming back
// from an outage whose services have not reported yet. Its services being
// down then says nothing about their processes, so no process verdict.
func returning(h Host, since, now time.Time) bool {
	return !since.IsZero() && h.BeatingSince.After(since) && now.Sub(h.BeatingSince) < returnGrace
}

// fresh reports whether the host's last heartbeat came within freshBeats of
// its publish intervals, plus the heartbeat source's flush interval (flush):
// a host merely not yet lost is not fresh.
func fresh(h Host, flush time.Duration, now time.Time) bool {
	iv := h.HeartbeatInterval()
	return now.Sub(h.LastSeen) <= time.Duration(freshBeats*float64(iv))+flush
}

// brokerProven reports whether the broker is healthy by every measure at
// hand, and carried a round trip after the earliest conductor ping that
// timed out: see VerdictInputs.BrokerProven.
func brokerProven(next *Snapshot, in *VerdictInputs, ws time.Time) bool {
	for _, s := range in.Signals {
		if !(s.Kind == SigBacklog && s.ConductorOnly) {
			return false
		}
	}
	for _, si := range in.Sources {
		if si.Failing || si.Stale {
			return false
		}
	}
	var first time.Time // the earliest timed-out conductor ping
	for i := range next.Services {
		sv := next.Services[i]
		if sv.Key.Binary == "nova-conductor" && sv.RPC != nil && !sv.RPC.At.Before(ws) && sv.RPC.Result == sources.ProbeTimeout {
			if first.IsZero() || sv.RPC.At.Before(first) {
				first = sv.RPC.At
			}
		}
	}
	if first.IsZero() {
		return false
	}
	if c := next.Canary.History; len(c) > 0 {
		last := c[len(c)-1]
		return last.Result == sources.ProbeOK && !last.At.Before(first)
	}
	h, ok := next.Source(sources.NameRabbitMQ)
	return ok && !h.LastAttempt.Before(first) && h.Failures == 0
}

// blind lists the sources failing with connection kinds when stacktop
// cannot see: at least two sources, two thirds of all, fail so, Nova (if
// configured) among them. Nova counts when its kind is a connection kind,
// keystone-down or keystone-timeout (no token to be had). A broker outage makes the broker's
// sources fail but leaves Nova answering: that is not blindness.
func blind(ss []SourceInput) []string {
	var out []string
	novaIn, novaBlind := false, false
	for _, s := range ss {
		conn := s.Failing && (s.Kind.Connection() || (s.Name == sources.NameNova && (s.Kind == sources.FailKeystone || s.Kind == sources.FailKeystoneTimeout)))
		if s.Name == sources.NameNova {
			novaIn, novaBlind = true, conn
		}
		if conn {
			out = append(out, s.Name+" ("+string(s.Kind)+")")
		}
	}
	if len(out) < 2 || 3*len(out) < 2*len(ss) || (novaIn && !novaBlind) {
		return nil
	}
	return out
}

// observe records the broker signals the batch carries.
func (v *verdictState) observe(f *fold, next *Snapshot) {
	b := &f.b
	at := f.at
	switch b.Source {
	case sources.NameRabbitMQ:
		h, _ := next.Source(sources.NameRabbitMQ)
		switch {
		case !b.Health.OK && (h.Kind != sources.FailTimeout || h.Failures >= mgmtRunMin):
			v.mgmtFail = seen{at: at, now: true, text: fmt.Sprintf("management API failing (%s%s): %s", plural(h.Failures, "poll"), kindNote(h.Kind), short80(b.Health.Err))}
		case !b.Health.OK: // one timed-out poll: not yet a signal, nor a recovery
		default:
			v.mgmtFail.now = false
		}
		switch {
		case b.Health.OK && b.Health.Latency >= mgmtSlow:
			v.slowRun++
			if v.slowRun >= mgmtRunMin {
				v.mgmtSlow = seen{at: at, now: true, text: fmt.Sprintf("management API slow (%s per poll, %d polls in a row)", format.RTT(b.Health.Latency), v.slowRun)}
			}
		case b.Health.OK:
			v.slowRun = 0
			v.mgmtSlow.now = false
		}
	case sources.NameHeartbeat:
		// Still connecting at start-up is no failure; FailBehind is the feed
		// itself (a flood, the dashboard behind): the AMQP connection is fine.
		if !b.Health.OK && b.Health.Kind != sources.FailPending && b.Health.Kind != sources.FailBehind {
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
	var reply, cond int64
	for i := range qs {
		q := &qs[i]
		if q.Consumers == 0 {
			continue
		}
		switch q.Role {
		case RoleReply:
			reply += q.Messages
		case RoleConductor:
			cond += q.Messages
		}
	}
	v.backlog[v.nextB] = backlogSample{at: at, reply: reply, cond: cond}
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
	backingUp := func(depth, refDepth int64) (float64, bool) {
		growth := float64(depth-refDepth) / span.Minutes()
		return growth, (depth >= backlogMin && growth >= backlogGrowthMin) || (depth >= backlogStuck && refDepth >= backlogStuck)
	}
	depth, refDepth := reply+cond, ref.reply+ref.cond
	growth, all := backingUp(depth, refDepth)
	_, replyUp := backingUp(reply, ref.reply)
	switch {
	case all && depth >= backlogMin && growth >= backlogGrowthMin:
		v.backlogSeen = seen{at: at, now: true, condOnly: !replyUp, text: fmt.Sprintf("reply/conductor queues %s/min (%s queued)", format.Growth(growth), format.Count(depth))}
	case all:
		v.backlogSeen = seen{at: at, now: true, condOnly: !replyUp, text: fmt.Sprintf("reply/conductor queues stuck at %s queued for %s", format.Count(depth), span.Round(time.Second))}
	default:
		v.backlogSeen.now = false
	}
}

// summarise recomputes the service counts over next.Services.
func (v *verdictState) summarise(next *Snapshot, ws time.Time) {
	byHost := v.svc.byHost[:0]
	sum := svcSummary{n: len(next.Services), byHost: byHost, binaries: v.svc.binaries[:0]}
	condRun := 0 // conductors whose last condTimeoutsMin pings timed out
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
		sv := svcs[i]
		if sv.Key.Host != hostName {
			hostName = sv.Key.Host
			sum.hosts++
		}
		if sv.Cond == CondForcedDown || sv.Cond == CondUnknown {
			continue
		}
		down := sv.Cond == CondDown
		k := slices.IndexFunc(sum.binaries, func(b binaryCount) bool { return b.binary == sv.Key.Binary })
		if k < 0 {
			k = len(sum.binaries)
			sum.binaries = append(sum.binaries, binaryCount{binary: sv.Key.Binary})
		}
		sum.binaries[k].hosts++
		if down {
			sum.binaries[k].down++
		}
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
				if last, run := condTimedOut(sv); last {
					sum.condTimedOut++
					if run {
						condRun++
					}
				}
			case "nova-compute":
				sum.compPinged++
				if ok {
					sum.compAnswered++
				}
			}
		}
	}
	if sum.affected == 0 { // every service up: only a conductor silent condTimeoutsMin pings in a row counts
		sum.condTimedOut = condRun
	}
	v.svc = sum
}

// condTimedOut reports whether a nova-conductor's last ping timed out, and
// whether its last condTimeoutsMin did: with every service up, one late
// answer of a busy conductor is no incident.
func condTimedOut(sv *Service) (last, run bool) {
	h := sv.RPCHistory
	if len(h) == 0 || h[len(h)-1].Result != sources.ProbeTimeout {
		return false, false
	}
	if len(h) < condTimeoutsMin {
		return true, false
	}
	for _, p := range h[len(h)-condTimeoutsMin:] {
		if p.Result != sources.ProbeTimeout {
			return true, false
		}
	}
	return true, true
}

// brokerSignals lists the broker signals seen within [ws, now].
func (v *verdictState) brokerSignals(next *Snapshot, in *VerdictInputs, ws, now time.Time) []Signal {
	var out []Signal
	// Canary: the last canaryLookback probes sent within the window.
	h := next.Canary.History
	n, failed, slow, blocked := 0, 0, 0, 0
	for k := len(h) - 1; k >= 0 && n < canaryLookback && !h[k].At.Before(ws); k-- {
		n++
		if h[k].Result != sources.ProbeOK {
			failed++
			if h[k].Result == sources.ProbeBlocked {
				blocked++
			}
		} else if h[k].RTT >= canarySlowRTT {
			slow++
		}
	}
	if n > 0 {
		last := h[len(h)-1]
		lastOK := last.Result == sources.ProbeOK && last.RTT < canarySlowRTT
		switch {
		case failed >= canaryFailMin || blocked > 0:
			lastText := string(last.Result) + " " + format.RTT(last.RTT)
			if last.Result == sources.ProbeError {
				lastText = "could not send" // no round trip to time
			}
			out = append(out, Signal{Kind: SigCanary, Source: sources.NameHeartbeat, At: last.At, Now: !lastOK,
				Text: fmt.Sprintf("canary %d/%d failed (last %s)", failed, n, lastText)})
		case slow >= canarySlowMin:
			out = append(out, Signal{Kind: SigCanary, Source: sources.NameHeartbeat, At: last.At, Now: !lastOK,
				Text: fmt.Sprintf("canary slow: %d/%d over %s (last %s)", slow, n, format.RTT(canarySlowRTT), format.RTT(last.RTT))})
		}
	}
	add := func(kind SignalKind, src string, s *seen) {
		if s.text == "" || s.at.Before(ws) {
			return
		}
		t := s.text
		if !s.now {
			t = "was: " + t + " (last " + format.Clock(s.at) + ")"
		}
		out = append(out, Signal{Kind: kind, Source: src, At: s.at, Now: s.now, Text: t, ConductorOnly: s.condOnly})
	}
	add(SigAMQP, sources.NameHeartbeat, &v.amqpFail)
	add(SigAlarm, sources.NameRabbitMQ, &v.alarm)
	add(SigBacklog, sources.NameRabbitMQ, &v.backlogSeen)
	add(SigMgmt, sources.NameRabbitMQ, &v.mgmtFail)
	if hs, ok := next.Source(sources.NameRabbitMQ); ok && !v.mgmtFail.now && hs.Stale(now) {
		out = append(out, Signal{Kind: SigMgmt, Source: sources.NameRabbitMQ, At: hs.LastSuccess, Now: true,
			Text: "no broker data since " + format.ClockOr(hs.LastSuccess, "never")})
	}
	add(SigMgmt, sources.NameRabbitMQ, &v.mgmtSlow)
	if in.RPCFailed >= rpcFailMin && in.RPCFailHost >= 2 && manyHostsDiv*in.RPCFailed >= in.RPCPinged && !in.conductorPattern() {
		out = append(out, Signal{Kind: SigRPC, Source: sources.NameRPCPing, Now: true,
			Text: fmt.Sprintf("RPC pings of %d/%d services on %s failing", in.RPCFailed, in.RPCPinged, plural(in.RPCFailHost, "host"))})
	}
	if in.Affected > 0 && in.HeartbeatOK && many(in.HostsLost, in.HostsKnown) {
		out = append(out, Signal{Kind: SigHeartbeats, Source: sources.NameHeartbeat, Now: true,
			Text: fmt.Sprintf("heartbeats from %d/%d hosts stopped", in.HostsLost, in.HostsKnown)})
	}
	return out
}

// kindNote is ", <kind>" for a failure kind the source said, "" for unknown.
func kindNote(k sources.FailureKind) string {
	if k == sources.FailUnknown || k == sources.FailNone {
		return ""
	}
	return ", " + string(k)
}

// lostAtOnce counts the hosts whose heartbeats stopped together and are
// lost at now, and the hosts that were beating until then: lost hosts whose
// last heartbeat came within lossSpanBeats of their publish intervals of
// the newest lost host's, and every host not lost. Only hosts whose agent
// had been beating for lossMinBeating count at all (steadyAgent).
//
// A host that went silent earlier (decommissioned, its agent stopped
// minutes before) is no part of this loss: counted, it made one host down
// read as "heartbeats from 3/5 hosts stopped", a broker suspicion
// (scripts/test, session 6, other tests' agents stopped shortly before a
// host-down scenario). Nor is a host that beat only briefly (a heartbeat
// or two sent by hand, an agent run for seconds): the same wrong verdict
// came back in session 7 from other tests' short-lived agents stopping
// within seconds of the host-down fault. A broker outage stops the agents
// that have been running all along.
func lostAtOnce(hosts []*Host, now time.Time) (lost, known int) {
	var newest time.Time
	var span time.Duration
	var lostAt []time.Time // the steady agents' lost hosts' last heartbeats
	for _, h := range hosts {
		switch {
		case !steadyAgent(h):
		case h.Liveness(now) != LiveLost:
			known++
		default:
			lostAt = append(lostAt, h.LastSeen)
			if h.LastSeen.After(newest) {
				newest = h.LastSeen
			}
			span = max(span, time.Duration(lossSpanBeats*float64(h.HeartbeatInterval())))
		}
	}
	for _, at := range lostAt {
		if !at.Before(newest.Add(-span)) {
			lost++
			known++
		}
	}
	return lost, known
}

// steadyAgent says whether h's agent had been beating for lossMinBeating
// by its last heartbeat: as this receiver saw it (since BeatingSince), or
// as the agent counts (its sequence number times its interval: an agent
// running for days when stacktop starts counts at once).
func steadyAgent(h *Host) bool {
	seen := h.LastSeen.Sub(h.BeatingSince)
	sent := time.Duration(min(h.Seq, 1<<20)) * h.HeartbeatInterval() // bounded: a forged sequence number cannot overflow
	return max(seen, sent) >= lossMinBeating
}

// authFailing reports the nova source's error and failure kind when it
// fails for want of a token: kind auth, keystone-down or keystone-timeout,
// as the source classified it from the status and the phase that failed,
// never from the error's words; FailNone otherwise.
func authFailing(next *Snapshot, now time.Time) (string, sources.FailureKind) {
	h, ok := next.Source(sources.NameNova)
	if !ok || h.Failures == 0 || (h.Kind != sources.FailAuth && h.Kind != sources.FailKeystone && h.Kind != sources.FailKeystoneTimeout) {
		return "", sources.FailNone
	}
	if h.Failures < authFailMin && !h.Stale(now) {
		return "", sources.FailNone
	}
	return h.LastErr, h.Kind
}

// downServices names the down services of one host: "nova-compute" or "nova-compute, nova-network".
func downServices(svcs []*Service) string {
	var names []string
	for i := range svcs {
		if svcs[i].Cond == CondDown {
			names = append(names, svcs[i].Key.Binary)
		}
	}
	return strings.Join(names, ", ")
}

// rpcOf describes the last RPC pings of a host's down services. Only a
// ping that timed out counts against a process: one the broker blocked, or
// that could not be sent, never reached it (seen in the scenario matrix:
// a memory alarm blocked every ping while nova-scheduler happened to be
// down, and "service process problem" showed for a second). Only a ping
// sent once the service was seen down shows it answering while down: one
// sent before says nothing yet (seen in the matrix: nova-scheduler
// stopped just after answering, and for 0.2 s, until the next ping timed
// out, it read "answers RPC: its reports do not reach Nova").
func rpcOf(svcs []*Service) (string, PingState) {
	pinged, answered := 0, 0
	var timedOut, undelivered, before *RPCPing
	var timedOutOf, undeliveredOf *Service
	for i := range svcs {
		sv := svcs[i]
		if sv.Cond != CondDown || sv.RPC == nil {
			continue
		}
		pinged++
		switch r := sv.RPC; {
		case r.Result == sources.ProbeOK && r.At.Before(sv.Since):
			if before == nil || r.At.After(before.At) {
				before = r
			}
		case r.Result == sources.ProbeOK:
			answered++
		case r.Result == sources.ProbeTimeout:
			if timedOut == nil || r.At.After(timedOut.At) {
				timedOut, timedOutOf = r, sv
			}
		default:
			if undelivered == nil || r.At.After(undelivered.At) {
				undelivered, undeliveredOf = r, sv
			}
		}
	}
	switch {
	case pinged == 0:
		return "no RPC data", PingNone
	case timedOut != nil:
		return fmt.Sprintf("RPC ping of %s %s at %s", timedOutOf.Key.Binary, timedOut.Result, format.Clock(timedOut.At)), PingFailed
	case undelivered != nil:
		return fmt.Sprintf("RPC ping of %s %s at %s: not delivered, says nothing of the process", undeliveredOf.Key.Binary, undelivered.Result, format.Clock(undelivered.At)), PingUndelivered
	case before != nil:
		return fmt.Sprintf("RPC ping answered at %s, before it was seen down: the next ping decides", format.Clock(before.At)), PingPending
	}
	return fmt.Sprintf("RPC pings answered (%d)", answered), PingAnswered
}

// missingProcesses names the down services that the host's agent does not list as running.
func missingProcesses(svcs []*Service, h Host) string {
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
