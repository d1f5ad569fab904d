// Package state folds source batches into immutable snapshots of the cloud:
// services with their transition history and flap state, queues with their
// depth history and growth, broker nodes, node heartbeats, probes, the
// timeline of restarts, and the incident timeline (Snapshot.Timeline, see
// events.go): every change Apply derives by comparing the snapshot it
// makes with the one before — services changing condition or flapping,
// restarts, broker alarms, partitions and nodes stopping, heartbeats lost
// and back, the canary failing, sources failing, the verdict changing —
// with the same change on several hosts within Config.TimelineGroup
// grouped into one Event.
//
// One goroutine (the Store's owner) applies batches; each Apply returns a new
// *Snapshot that is never written again, so the UI may hold and read it
// without locks while the next batch is folded.
//
// # Memory
//
// Memory is bounded by the retention window (Config.Retention, default 1h)
// and per-item caps, whatever the cloud's size; it grows only with the
// number of live items, never with running time:
//
//   - per service: at most Config.MaxTransitions transitions (default 256)
//     and Config.RPCHistory RPC pings (16, 64 bytes each), none older than
//     Retention, plus a fixed-size folding state (flap bits, 16 report
//     gaps): about 3.2 kB a service in all after an hour at the default
//     (TestMemoryPerItem states the bound);
//   - per queue: at most Config.QueueSamples samples (default 120), none
//     older than Retention, 16 bytes each in one pointer-free array
//     allocated with room for a few more (see QueueHistory): about 2.5 kB
//     a queue in all at the default (TestMemoryPerItem states the bound);
//   - per broker node: at most 64 restart times within Retention;
//   - per host: its last process list (≤ 256, the heartbeat decoder's limit)
//     and at most 256 vanished processes; a host silent for longer than
//     Retention is dropped;
//   - the canary: at most Config.ProbeHistory probes (360);
//   - restarts: at most Config.MaxRestarts (2000), none older than Retention;
//   - the timeline: at most Config.MaxEvents events (2000), none older than
//     Retention; an event lists at most every host once, so the timeline
//     holds at most MaxEvents × hosts host names (shared strings), a grouped
//     event each host's time and evidence too (at most MaxMembers), and the
//     open groups are one per (kind, subject, change, source) seen within
//     Retention. Snapshot.Changes holds one Apply's events only.
//
// Deriving the timeline costs an Apply little: a Nova poll's services are
// compared in one merge walk, a heartbeat batch compares host ages without
// allocating, and the timeline is copied only when an Apply derived
// something; grouping looks up the open group of each event's key.
//
// Services, queues and nodes missing from a complete list are dropped with
// their history. History backing arrays hold up to a quarter more than their
// cap (or 8 elements) of slack, see appendBounded. Snapshots the caller no
// longer references are garbage; a held snapshot pins only its own view.
package state

import (
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Snapshot is an immutable view of everything known at one instant.
// Slices are sorted by key as documented; never modify them.
type Snapshot struct {
	At        time.Time         // when the last batch was folded
	Seq       uint64            // increases with every folded batch
	Retention time.Duration     // how far back histories reach
	Sources   []SourceHealth    // sorted by Name
	Overview  *sources.Overview // broker cluster summary, nil until seen
	Services  []*Service        // sorted by Host, then Binary; shared between snapshots, never modified
	Queues    []Queue           // sorted by VHost, then Name
	Nodes     []Node            // sorted by Name
	Hosts     []*Host           // heartbeat state per node, sorted by Name; shared between snapshots, never modified
	Canary    ProbeSeries       // broker round-trip canary
	Restarts  []Restart         // newest first, within Retention
	Verdict   Verdict           // correlation verdict; zero when no rule fired
	// Timeline is the incident timeline, newest first: what changed, when,
	// with its evidence (see Event), the same change on several hosts within
	// Config.TimelineGroup grouped into one event; within Retention and
	// Config.MaxEvents.
	Timeline []Event
	// Changes are the events this Apply derived, oldest first, one per host,
	// not grouped; nil when nothing changed. Collecting them over a run
	// gives the whole timeline, beyond Retention (stacktop timeline does).
	Changes []Event
	// Read says, per kind of data, which source last delivered it and the
	// time that data describes: what staleness is judged by (see Figures).
	Read struct{ Services, Overview, Nodes, Queues Reading }
	// Gen says which slices this snapshot built anew (see Generations).
	Gen Generations
}

// Generations count, per slice, the Applies that built it anew. A slice
// whose count is the same in two snapshots of one Store is the same slice,
// shared and unchanged, so what a reader derived from it (a sorted order,
// a filter's matches) still holds. Snapshots not made by a Store have zero
// counts; a reader should also compare the slices themselves.
type Generations struct {
	Services, Queues, Hosts, Timeline uint64
}

// next returns the counts of snapshot b, made from a (whose counts are g):
// each slice that is not a's slice counts once more.
func (g Generations) next(a, b *Snapshot) Generations {
	if !sameSlice(a.Services, b.Services) {
		g.Services++
	}
	if !sameSlice(a.Queues, b.Queues) {
		g.Queues++
	}
	if !sameSlice(a.Hosts, b.Hosts) {
		g.Hosts++
	}
	if !sameSlice(a.Timeline, b.Timeline) {
		g.Timeline++
	}
	return g
}

// SourceHealth is how one source's polls are going.
type SourceHealth struct {
	Name        string
	Target      string        // what it polls (cloud name, broker URL without credentials)
	Detail      string        // e.g. "microversion 2.69", "prometheus"
	Interval    time.Duration // poll interval; data older than 2× this is stale
	LastAttempt time.Time
	LastSuccess time.Time           // zero when never succeeded
	LastErr     string              // error of the last poll, "" when it succeeded
	Kind        sources.FailureKind // kind of the last poll's failure; FailNone when it succeeded, FailUnknown when the batch did not say
	Latency     time.Duration
	Polls       int // polls seen
	Failures    int // consecutive failed polls
}

// ServiceKey identifies a Nova service.
type ServiceKey struct {
	Binary string
	Host   string
}

// Condition is a service's effective state, folding Nova's state, status and forced_down into one.
type Condition uint8

// Conditions, in order of increasing concern for sorting.
const (
	CondUp         Condition = iota // reporting in, enabled
	CondDisabled                    // reporting in, administratively disabled
	CondUnknown                     // in an unreachable cell (microversion 2.69)
	CondForcedDown                  // an operator forced it down
	CondDown                        // not reporting in
)

// SinceBasis says how a service's CondSince is known.
type SinceBasis uint8

// Since bases.
const (
	// SinceAtLeast: not known; the condition held when stacktop first
	// listed the service, CondSince is FirstSeen ("≥ 12m").
	SinceAtLeast SinceBasis = iota
	// SinceSeen: stacktop saw the condition change, at CondSince.
	SinceSeen
	// SinceLastReport: first listed down; Nova's last report from it
	// (updated_at) is CondSince, so it went down after then ("≤ 5m").
	SinceLastReport
	// SinceProcessStart: first listed up; its process started at CondSince
	// (the host's heartbeats), so it is up since then at most ("≤ 40d").
	SinceProcessStart
)

// Transition is one change of a service's Condition.
type Transition struct {
	At   time.Time
	From Condition
	To   Condition
}

// Service is one Nova service with its recent history.
type Service struct {
	Key            ServiceKey
	ID             string
	Zone           string
	Status         sources.ServiceStatus
	State          sources.ServiceState
	ForcedDown     bool
	DisabledReason string
	UpdatedAt      time.Time     // Nova's last report from the service
	ReportInterval time.Duration // estimated from successive UpdatedAt values; 0 until known
	Cond           Condition
	FirstSeen      time.Time // first observation within this stacktop run
	Since          time.Time // when Cond last changed (FirstSeen if never)
	// CondSince is since when the service has been in its condition as far
	// as it is known, and SinceBasis how that is known: what the screen's
	// "since" shows.
	CondSince   time.Time
	SinceBasis  SinceBasis
	History     []Transition // oldest first, within Retention
	Flapping    bool
	FlapPercent float64   // weighted percent state change over the flap window, 0..100
	RPC         *RPCPing  // last RPC ping of this service, nil if never pinged
	RPCHistory  []RPCPing // recent RPC pings of this service, oldest first, within Retention and Config.RPCHistory
}

// RPCPing is one RPC ping of a service as the service keeps it: the
// sources.Probe without what the Service already says (its kind, binary
// and host), 64 bytes instead of 112.
type RPCPing struct {
	At     time.Time     // when it was sent
	RTT    time.Duration // round trip, or time waited before giving up
	Result sources.ProbeResult
	Detail string
}

// QueueKey identifies a broker queue.
type QueueKey struct {
	VHost string
	Name  string
}

// QueueSample is one poll's reading of a queue, for sparklines.
type QueueSample struct {
	At        time.Time // to the millisecond
	Messages  int64     // -1 when the broker did not say
	Unacked   int64     // -1 when the broker did not say
	Consumers int       // -1 when the broker did not say
}

// Queue is one broker queue with its recent history.
type Queue struct {
	Key          QueueKey
	Role         string // what OpenStack uses it for ("compute", "conductor", "scheduler", "reply", "fanout"), "" if not recognised
	Host         string // for per-host queues such as compute.<host>: the host
	Messages     int64
	Ready        int64
	Unacked      int64
	Consumers    int                 // -1 when the broker did not say
	GrowthPerMin float64             // change of Messages per minute between the last two polls
	History      QueueHistory        // one sample per poll, oldest first, within Retention and Config.QueueSamples
	Rates        *sources.QueueRates // only while open in a drill-down
}

// QueueBacklog is how many messages make a queue a backlog in the queues
// list. The verdict's own backlog signal is another measure: the depth of
// the reply and conductor queues growing (see pushBacklog).
const QueueBacklog = 10

// Backlogged reports whether q holds at least QueueBacklog messages.
func (q *Queue) Backlogged() bool { return q.Messages >= QueueBacklog }

// Problem reports whether q is worth a look: a backlog, no consumers (a
// count the broker gave, not an unknown one), or growing.
func (q *Queue) Problem() bool { return q.Backlogged() || q.Consumers == 0 || q.GrowthPerMin > 0 }

// Node is one broker node with its restart count.
type Node struct {
	sources.Node
	Restarts int // restarts seen (uptime went down) within Retention
}

// Liveness says how recently a node's agent was heard from.
type Liveness uint8

// Liveness levels: late after 2.5 intervals without a heartbeat, lost after 5.
const (
	LiveFresh Liveness = iota
	LiveLate
	LiveLost
)

// Host is one node's heartbeat state.
type Host struct {
	Name         string
	LastSeen     time.Time     // receiver's clock at the last heartbeat
	BeatingSince time.Time     // receiver's clock at the first heartbeat after a silence long enough to be lost (or the first ever)
	Interval     time.Duration // the agent's publish interval
	Skew         time.Duration // sender clock minus receiver clock at the last heartbeat
	Seq          uint64
	Gaps         int // heartbeats missed, from sequence numbers, within this run
	BootID       string
	Uptime       time.Duration
	AgentVersion string
	Processes    []sources.Process
	// Conflicts counts heartbeats under this name that contradicted the
	// boot it was reporting (another boot id, not a reboot): two senders
	// claim the name, by mistake or by forgery. ConflictSeen is the
	// receiver's clock at the last one; ConflictBoots the two boot ids.
	Conflicts     int
	ConflictSeen  time.Time
	ConflictBoots [2]string
	prevBoot      string // the boot id before BootID, to tell a flip back from a reboot
}

// ProbeSeries is a bounded history of probes, oldest first.
type ProbeSeries struct {
	History  []sources.Probe
	Failures int // failed probes within History
	// Source is the source that delivered the last probe.
	Source string
}

// RestartKind says what restarted.
type RestartKind uint8

// Restart kinds.
const (
	RestartProcess    RestartKind = iota // a service process started anew (heartbeat agent)
	RestartHost                          // the host rebooted (boot id changed)
	RestartBrokerNode                    // a broker node's uptime went down
	RestartRecovered                     // a Nova service came back up after being down
)

// Restart is one event in the restarts timeline.
type Restart struct {
	At       time.Time
	Kind     RestartKind
	Where    string // host or broker node
	What     string // process or binary name
	Evidence string // what showed it, in words
	Source   string // which source saw it
}

// Verdict is the correlation rules' answer to "is it the hosts or the broker?".
// See verdict.go for the rules, their thresholds and the hold. The zero
// Verdict means no rule fired.
type Verdict struct {
	Summary  string    // the verdict in full: the suspected cause, counts and times; "" when no rule fired
	Headline string    // the verdict in one short line for a fixed-height header: cause, scope, since ("host down: compute-07 · since 12:01:05"); "" when no rule fired
	Evidence []string  // each piece as "source: text", in the order of Findings
	Cause    Cause     // which rule speaks; CauseNone when none fired
	Thin     bool      // the evidence is thin (one signal, or data missing); the Summary says so
	Since    time.Time // when the rules reached this verdict (snapshot time); kept while it holds
	Started  time.Time // when the trouble began as far as the evidence shows (first service down, first signal); zero if unknown
	Findings []Finding // the evidence, structured for a detail view: those the Summary names first, then other rules' findings
	Hosts    []string  // the hosts the verdict names (host down, process, service down); nil for cloud-wide causes
	Rule     string    // the row of the rules table that speaks ("broker-wide", "host down", …)
	Quiet    time.Time // when every symptom went away; zero while any lasts (the verdict clears verdictHold after)
	// Confirmed is when the speaking rule last fired; before the snapshot's
	// time while the verdict holds on symptoms its rule no longer matches.
	Confirmed time.Time
	// Inputs are what the rules looked at to reach this verdict (also
	// when none fired); shared, never modified.
	Inputs *VerdictInputs
	scope  string // the Headline's scope, kept for the recovered form
	base   string // in the recovered and held forms, the Summary as the rule said it
}

// Was is the verdict's Summary as its rule last said it: without the
// recovered or held wording (the Summary itself while the rule fires).
func (v *Verdict) Was() string {
	if v.base != "" {
		return v.base
	}
	return v.Summary
}
