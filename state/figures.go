package state

import (
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Reading is where a kind of data last came from and the time it describes.
type Reading struct {
	Source string    // the source that delivered it
	At     time.Time // the time the data describes (when its poll began); zero when never read
	Done   time.Time // when its poll completed: staleness counts from here, as the source's
}

// done is when the reading's poll completed (At when not recorded).
func (r Reading) done() time.Time {
	if r.Done.After(r.At) {
		return r.Done
	}
	return r.At
}

// Known says how far a figure can be trusted at a moment.
type Known uint8

// How much is known of a figure.
const (
	KnownNot   Known = iota // never read, or the source did not say: show "?"
	KnownStale              // read once, but too long ago: the value is the last read, At says when
	KnownNow                // read recently enough to be shown as current
)

// Figure is one number the screen shows, with how far it can be trusted.
type Figure struct {
	Value  int64
	Known  Known
	At     time.Time // the time the value describes; zero when never read
	Source string    // the source it comes from
}

// Age is how old the figure's value is at now; 0 when it was never read.
func (f Figure) Age(now time.Time) time.Duration {
	if f.At.IsZero() {
		return 0
	}
	return now.Sub(f.At)
}

// Alarm is one broker resource alarm, from whichever path showed it.
type Alarm struct {
	Node string    // the node it is raised on; "" when the path does not say (a canary's connection.blocked)
	Kind string    // "memory", "disk", or "resource" when the path does not say which
	Via  string    // what showed it: "management", "prometheus" (the node list), or "canary"
	At   time.Time // the time the evidence describes
}

// AlarmFigure is how many resource alarms are raised, and which.
type AlarmFigure struct {
	Figure
	Alarms []Alarm // the raised alarms, by node then kind; with KnownStale, the last known
	// Undecided are the kinds of alarm ("memory", "disk") no current path
	// speaks of: a canary blocked for memory says nothing of disk while
	// the node list is stale.
	Undecided []string
}

// OnNode returns the alarm kinds raised on node, and those whose node no
// path named (they may be on any node).
func (a AlarmFigure) OnNode(node string) (kinds []string, anyNode []string) {
	for _, x := range a.Alarms {
		switch x.Node {
		case node:
			kinds = append(kinds, x.Kind)
		case "":
			anyNode = append(anyNode, x.Kind)
		}
	}
	return kinds, anyNode
}

// Figures are the broker figures of the header and the Broker pane at one
// moment, each judged fresh, stale or unknown from the data it comes from.
type Figures struct {
	Services   Figure      // Value: the number of Nova services listed
	Overview   Figure      // Value: 1 when an overview was read
	Nodes      Figure      // Value: the number of nodes listed
	Queues     Figure      // Value: the number of queues listed
	Alarms     AlarmFigure // from the node list and the canary alike
	Partitions Figure      // Value: partitions seen, summed over the nodes
	Canary     Figure      // Value: failed probes within the history; At: the last probe
}

// Staleness bounds. Data is stale when older than twice its source's poll
// interval (SourceHealth.Stale); these stand in where the source says
// nothing better.
const (
	// defaultStaleAfter is the staleness bound of data from a source whose
	// interval is not known.
	defaultStaleAfter = 20 * time.Second
	// canaryStaleAfter is the least age at which the last canary probe is
	// stale (six default intervals of 5 s); a canary probing more slowly
	// gets three of its own intervals.
	canaryStaleAfter = 30 * time.Second
)

// staleAfter is how old data from source src may be and still count as current.
func (s *Snapshot) staleAfter(src string) time.Duration {
	if h, ok := s.Source(src); ok && h.Interval > 0 {
		return 2 * h.Interval
	}
	return defaultStaleAfter
}

// figure judges a value read at r.
func (s *Snapshot) figure(r Reading, value int64, now time.Time) Figure {
	f := Figure{Value: value, At: r.At, Source: r.Source}
	switch {
	case r.At.IsZero():
		f.Known, f.Value = KnownNot, 0
	case now.Sub(r.done()) > s.staleAfter(r.Source):
		f.Known = KnownStale
	default:
		f.Known = KnownNow
	}
	return f
}

// Figures judges the broker figures at now: a figure whose data is older
// than its source's staleness bound is KnownStale (with its age), one never
// read KnownNot, and only the rest KnownNow. Alarms count from every path
// that shows them: the node list (management API or prometheus) and the
// canary's connection.blocked; for each kind of alarm the newest current
// evidence decides whether it is raised, so an alarm shows while it is
// raised and stops when it clears.
func (s *Snapshot) Figures(now time.Time) Figures {
	var out Figures
	if s.Overview != nil {
		out.Overview = s.figure(s.Read.Overview, 1, now)
	}
	out.Services = s.figure(s.Read.Services, int64(len(s.Services)), now)
	out.Nodes = s.figure(s.Read.Nodes, int64(len(s.Nodes)), now)
	out.Queues = s.figure(s.Read.Queues, int64(len(s.Queues)), now)
	parts := 0
	for i := range s.Nodes {
		parts += len(s.Nodes[i].Partitions)
	}
	out.Partitions = s.figure(s.Read.Nodes, int64(parts), now)
	out.Partitions.Known = min(out.Partitions.Known, out.Nodes.Known)
	out.Canary = s.canaryFigure(now)
	out.Alarms = s.alarms(now, out.Nodes, out.Canary)
	return out
}

// canaryFigure judges the canary: its last probe is stale when older than
// three of its intervals (at least canaryStaleAfter) or when its source is.
func (s *Snapshot) canaryFigure(now time.Time) Figure {
	h := s.Canary.History
	if len(h) == 0 {
		return Figure{Source: s.Canary.Source}
	}
	last := h[len(h)-1]
	f := Figure{Value: int64(s.Canary.Failures), At: last.At, Source: s.Canary.Source, Known: KnownNow}
	bound := canaryStaleAfter
	if len(h) > 1 {
		bound = max(bound, 3*last.At.Sub(h[len(h)-2].At))
	}
	if now.Sub(last.At) > bound+last.RTT {
		f.Known = KnownStale
	}
	if src, ok := s.Source(s.Canary.Source); ok && src.Stale(now) && !src.LastSuccess.IsZero() {
		f.Known = KnownStale
	}
	return f
}

// alarmPath is what one path last said about the alarms.
type alarmPath struct {
	source string
	at     time.Time
	fresh  bool
	kinds  []string // the kinds it speaks for: a canary answering says no alarm of any kind
	alarms []Alarm
}

// alarms combines the paths: for each kind the newest fresh path that
// speaks of it decides; with no fresh path, the newest stale one is shown
// as stale.
func (s *Snapshot) alarms(now time.Time, nodes, canary Figure) AlarmFigure {
	var paths []alarmPath
	if nodes.Known != KnownNot {
		p := alarmPath{source: nodes.Source, at: nodes.At, fresh: nodes.Known == KnownNow, kinds: []string{"memory", "disk", "resource"}}
		via := "management"
		if s.Overview != nil && s.Overview.Via != "" {
			via = s.Overview.Via
		}
		for _, n := range s.Nodes {
			if n.MemAlarm {
				p.alarms = append(p.alarms, Alarm{Node: n.Name, Kind: "memory", Via: via, At: nodes.At})
			}
			if n.DiskAlarm {
				p.alarms = append(p.alarms, Alarm{Node: n.Name, Kind: "disk", Via: via, At: nodes.At})
			}
		}
		paths = append(paths, p)
	}
	if p, ok := s.canaryAlarmPath(canary); ok {
		paths = append(paths, p)
	}
	var out AlarmFigure
	fresh := slices.ContainsFunc(paths, func(p alarmPath) bool { return p.fresh })
	if len(paths) == 0 {
		return out
	}
	// Newest first: the newest evidence about a kind decides it.
	slices.SortStableFunc(paths, func(a, b alarmPath) int { return b.at.Compare(a.at) })
	out.Known = KnownNow
	if !fresh {
		out.Known = KnownStale
	}
	decided := map[string]bool{}
	for _, p := range paths {
		if fresh && !p.fresh {
			continue
		}
		if out.At.IsZero() {
			out.At, out.Source = p.at, p.source
		}
		var now []string
		for _, k := range p.kinds {
			if !decided[k] {
				now = append(now, k)
			}
		}
		for _, a := range p.alarms {
			if slices.Contains(now, a.Kind) {
				out.Alarms = append(out.Alarms, a)
			}
		}
		for _, k := range now {
			decided[k] = true
		}
		if !fresh {
			break // stale: the newest evidence alone, said as such
		}
	}
	for _, k := range []string{"memory", "disk"} {
		if !decided[k] {
			out.Undecided = append(out.Undecided, k)
		}
	}
	// A canary's alarm names no node when a node list names it: keep the named one.
	out.Alarms = slices.DeleteFunc(out.Alarms, func(a Alarm) bool {
		return a.Node == "" && slices.ContainsFunc(out.Alarms, func(b Alarm) bool { return b.Node != "" && b.Kind == a.Kind })
	})
	slices.SortFunc(out.Alarms, func(a, b Alarm) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	out.Value = int64(len(out.Alarms))
	return out
}

// canaryAlarmPath reads the last canary probe that speaks of alarms: a
// blocked publisher is an alarm (its reason says which: "low on memory"),
// an answer is none; a timeout or an error says nothing of alarms.
func (s *Snapshot) canaryAlarmPath(canary Figure) (alarmPath, bool) {
	h := s.Canary.History
	for i := len(h) - 1; i >= 0; i-- {
		p := h[i]
		done := p.At.Add(p.RTT) // what a probe shows holds when it completed (or gave up)
		switch p.Result {
		case sources.ProbeOK:
			return alarmPath{source: canary.Source, at: done, fresh: canary.Known == KnownNow && p.At.Equal(canary.At), kinds: []string{"memory", "disk", "resource"}}, true
		case sources.ProbeBlocked:
			a := blockedAlarm(p)
			a.At = done
			return alarmPath{source: canary.Source, at: done, fresh: canary.Known == KnownNow && p.At.Equal(canary.At), kinds: []string{a.Kind}, alarms: []Alarm{a}}, true
		}
		if canary.Known == KnownNow {
			// The latest probe timed out: it says nothing, and an older
			// answer no longer holds as current.
			return alarmPath{}, false
		}
	}
	return alarmPath{}, false
}

// blockedAlarm reads the alarm from a blocked probe's detail, as RabbitMQ's
// connection.blocked reason gives it ("low on memory", "low on disk"), with
// the node when the detail names it ("memory alarm on rabbit@mq-1").
func blockedAlarm(p sources.Probe) Alarm {
	a := Alarm{Kind: "resource", Via: "canary", At: p.At}
	d := p.Detail
	switch {
	case strings.Contains(d, "memory") && !strings.Contains(d, "disk"):
		a.Kind = "memory"
	case strings.Contains(d, "disk") && !strings.Contains(d, "memory"):
		a.Kind = "disk"
	}
	if _, after, ok := strings.Cut(d, " alarm on "); ok {
		name, _, _ := strings.Cut(after, ")")
		if name = strings.TrimSpace(name); name != "" && !strings.ContainsAny(name, " \t") {
			a.Node = name
		}
	}
	return a
}

// SilenceUnproven says why a host's silence proves nothing at now, or "":
// the dashboard's own heartbeat feed failing or stale (the feed, not the
// hosts, has failed), or a resource alarm raised on the broker (it blocks
// every publisher, the agents among them). A late or lost host then reads
// as unknown, not as lost.
func (s *Snapshot) SilenceUnproven(now time.Time) string {
	if src, ok := s.Source(sources.NameHeartbeat); ok && (src.LastErr != "" || src.Stale(now)) {
		return "heartbeat feed failing"
	}
	if a := s.Figures(now).Alarms; a.Known != KnownNot && len(a.Alarms) > 0 { // raised, or last known raised
		return "broker blocks publishers: " + a.Alarms[0].Kind + " alarm"
	}
	return ""
}
