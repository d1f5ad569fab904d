package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// EventKind is what a timeline event is about.
type EventKind string

// Event kinds.
const (
	EventStart     EventKind = "start"     // what the first observations showed
	EventService   EventKind = "service"   // a Nova service changed
	EventRestart   EventKind = "restart"   // a service process restarted, a host rebooted
	EventBroker    EventKind = "broker"    // a broker node: alarms, partitions, running, restarts
	EventHeartbeat EventKind = "heartbeat" // a host's heartbeats lost or back
	EventCanary    EventKind = "canary"    // the broker round-trip canary
	EventRPC       EventKind = "rpc"       // a service's RPC ping failing or answering again
	EventSource    EventKind = "source"    // a source's polls failing or recovering
	EventVerdict   EventKind = "verdict"   // the correlation verdict
)

// EventLevel says whether an event is bad news, good news or neither.
type EventLevel uint8

// Event levels.
const (
	LevelInfo     EventLevel = iota // a start, a service listed, a source started
	LevelProblem                    // something went wrong: down, restarted, alarm raised, lost, failing
	LevelRecovery                   // something came back: up, back, cleared, recovered, answering again
)

// Event is one entry of the incident timeline: a change between two
// snapshots, with the evidence that showed it.
type Event struct {
	At    time.Time // when it happened (for a grouped event: the first)
	Until time.Time // for a grouped event spanning time: the last; zero otherwise
	Kind  EventKind
	Level EventLevel
	// Subject is what changed ("nova-compute", "rabbit@mq-1", "nova polls");
	// "" when the change is said of the hosts themselves ("compute-03 rebooted").
	Subject string
	Change  string   // "down", "restarted", "memory alarm raised", ...
	Hosts   []string // the hosts it happened on, sorted; nil when not per host
	// Evidence is what showed it, in words; GroupEvidence replaces it when
	// several hosts' events whose evidence differs are grouped.
	Evidence      string
	GroupEvidence string
	Source        string // the source that saw it ("stacktop" for the verdict)
	// ID is unique within a Store's Timeline (a grouped event keeps its ID
	// while hosts join it); 0 in Snapshot.Changes.
	ID uint64
	// Members are a grouped event's hosts each with its own time and
	// evidence, in the order they joined, at most MaxMembers (hosts beyond
	// are named in Hosts only); nil for an event of one host.
	Members []Member
}

// Member is one host's part in a grouped event.
type Member struct {
	Host     string
	At       time.Time
	Evidence string
}

// MaxMembers bounds Event.Members.
const MaxMembers = 1024

// What is the event's "what changed" phrase, naming up to maxHosts hosts
// (all when maxHosts <= 0).
func (e Event) What(maxHosts int) string {
	var b strings.Builder
	switch {
	case len(e.Hosts) == 0:
		b.WriteString(joinWords(e.Subject, e.Change))
	case e.Subject == "" && len(e.Hosts) == 1:
		b.WriteString(joinWords(e.Hosts[0], e.Change))
	case e.Subject == "":
		fmt.Fprintf(&b, "%d hosts %s: %s", len(e.Hosts), e.Change, hostList(e.Hosts, maxHosts))
	case len(e.Hosts) == 1:
		fmt.Fprintf(&b, "%s %s on %s", e.Subject, e.Change, e.Hosts[0])
	default:
		fmt.Fprintf(&b, "%s %s on %d hosts: %s", e.Subject, e.Change, len(e.Hosts), hostList(e.Hosts, maxHosts))
	}
	if !e.Until.IsZero() && e.Until.Sub(e.At) >= time.Second {
		fmt.Fprintf(&b, " (over %s)", e.Until.Sub(e.At).Round(time.Second))
	}
	return b.String()
}

// Where names the hosts, or the subject when the event is not per host
// (a broker node, a source); "" for the verdict.
func (e Event) Where(maxHosts int) string {
	switch {
	case len(e.Hosts) > 0:
		return hostList(e.Hosts, maxHosts)
	case e.Kind == EventVerdict:
		return ""
	}
	return e.Subject
}

func joinWords(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + " " + b
}

func hostList(hosts []string, limit int) string {
	if limit <= 0 || len(hosts) <= limit {
		return strings.Join(hosts, ", ")
	}
	return strings.Join(hosts[:limit], ", ") + fmt.Sprintf(" and %d more", len(hosts)-limit)
}

// groupKey is what events must share to be grouped.
type groupKey struct {
	kind                    EventKind
	subject, change, source string
}

func keyOf(e *Event) groupKey { return groupKey{e.Kind, e.Subject, e.Change, e.Source} }

// canJoin reports whether e may join group g of the same key: within
// window of g's first event and about none of g's hosts (a service going
// down twice stays two events).
func canJoin(g, e *Event, window time.Duration) bool {
	return e.At.Sub(g.At) <= window && !containsAny(g.Hosts, e.Hosts)
}

// joinGroup adds e's hosts to g (whose Hosts and Members g owns), each
// host with its time and evidence, widening its time span; differing
// evidence becomes the group's evidence.
func joinGroup(g *Event, e *Event) {
	if len(g.Members) == 0 { // g was one event until now
		for _, h := range g.Hosts[:min(len(g.Hosts), MaxMembers)] {
			g.Members = append(g.Members, Member{Host: h, At: g.At, Evidence: g.Evidence})
		}
	}
	for _, h := range e.Hosts {
		if len(g.Members) < MaxMembers {
			g.Members = append(g.Members, Member{Host: h, At: e.At, Evidence: e.Evidence})
		}
	}
	g.Hosts = append(g.Hosts, e.Hosts...)
	slices.Sort(g.Hosts)
	switch {
	case e.At.Before(g.At): // only live, when a late event is older than its group
		if g.Until.IsZero() {
			g.Until = g.At
		}
		g.At = e.At
	case e.At.After(g.Until) && e.At.After(g.At):
		g.Until = e.At
	}
	if g.Evidence != e.Evidence {
		switch {
		case g.GroupEvidence != "":
			g.Evidence = g.GroupEvidence
		case !strings.HasPrefix(g.Evidence, "first: "):
			g.Evidence = "first: " + g.Evidence
		}
	}
}

func containsAny(set, xs []string) bool {
	for _, x := range xs {
		if slices.Contains(set, x) {
			return true
		}
	}
	return false
}

// GroupEvents merges events that say the same change (kind, subject, change
// and source) of different hosts within window of the first of them into
// one event listing the hosts, at the first one's time, with Until the
// last one's. A host already in the group starts a new group. Events
// without hosts are kept as they are; window <= 0 groups nothing. events
// must be sorted by At, oldest first; so is the result. The Store groups
// Snapshot.Timeline by the same rule as events arrive.
func GroupEvents(events []Event, window time.Duration) []Event {
	out := make([]Event, 0, len(events))
	open := map[groupKey]int{} // the latest group of each key, an index into out
	for _, e := range events {
		if len(e.Hosts) == 0 || window <= 0 {
			out = append(out, e)
			continue
		}
		k := keyOf(&e)
		if i, ok := open[k]; ok && canJoin(&out[i], &e, window) {
			joinGroup(&out[i], &e)
			continue
		}
		e.Hosts, e.Members = slices.Clone(e.Hosts), slices.Clone(e.Members)
		open[k] = len(out)
		out = append(out, e)
	}
	return out
}

// timelineState is the Store's memory for deriving events: what the
// previous snapshots showed beyond the snapshot itself, and the open groups.
type timelineState struct {
	servicesSeen bool
	nodesSeen    bool
	hostsSeen    bool
	lost         map[string]bool      // hosts whose heartbeats are lost (only those)
	lastProbe    time.Time            // the newest canary probe looked at
	canaryFails  int                  // consecutive failed canary probes
	failingSince map[string]time.Time // source → when its current run of failures began
	open         map[groupKey]openGroup
	nextID       uint64
	scratch      []Event
}

// openGroup is the latest group of a key in the Timeline.
type openGroup struct {
	at time.Time
	id uint64
}

// deriveEvents returns what changed from prev to next, oldest first (the
// Differ of the timeline): b says which parts the batch touched, restarts
// are the restarts it found (newest first, as merged), added the hosts it
// added, extra the events the fold itself raised (conflicting heartbeats).
func (t *timelineState) deriveEvents(b *sources.Batch, prev, next *Snapshot, restarts []Restart, added []string, extra []Event, cutoff time.Time) []Event {
	if t.lost == nil {
		t.lost = make(map[string]bool)
		t.failingSince = make(map[string]time.Time)
	}
	out := t.scratch[:0]
	if b.Source != "" {
		out = t.sourcesDiff(out, b.Source, prev, next)
	}
	if b.Services != nil {
		out = t.servicesDiff(out, prev, next)
	}
	if len(b.Probes) > 0 && !sameSlice(prev.Services, next.Services) {
		out = rpcDiff(out, b, prev, next)
	}
	out = restartEvents(out, restarts, cutoff)
	if b.Nodes != nil {
		out = t.nodesDiff(out, prev, next)
	}
	out = t.hostsDiff(out, next, added)
	out = append(out, extra...)
	out = t.canaryDiff(out, next)
	out = verdictDiff(out, prev, next)
	t.scratch = out[:0]
	if len(out) == 0 {
		return nil
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	return slices.Clone(out)
}

func (t *timelineState) sourcesDiff(out []Event, name string, prev, s *Snapshot) []Event {
	h, ok := s.Source(name)
	if !ok {
		return out
	}
	p, had := prev.Source(h.Name)
	if had && p.Polls == h.Polls {
		return out
	}
	e := Event{At: h.LastAttempt, Kind: EventSource, Source: h.Name}
	switch {
	case h.Failures > 0 && (!had || p.Failures == 0):
		t.failingSince[h.Name] = h.LastAttempt
		e.Change, e.Evidence, e.Level = "failing", h.LastErr, LevelProblem
		if had && !p.LastSuccess.IsZero() {
			e.Evidence += fmt.Sprintf(" (last success %s)", format.Clock(p.LastSuccess))
		}
	case h.Failures == 0 && had && p.Failures > 0:
		e.Change, e.Level = "recovered", LevelRecovery
		e.Evidence = fmt.Sprintf("after %s, %d failed poll%s", h.LastSuccess.Sub(t.failingSince[h.Name]).Round(time.Second), p.Failures, evPlural(p.Failures))
		delete(t.failingSince, h.Name)
	case h.Failures == 0 && !had:
		e.Kind, e.Change = EventStart, "started"
		var ev []string
		if h.Target != "" {
			ev = append(ev, h.Target)
		}
		if h.Detail != "" {
			ev = append(ev, h.Detail)
		}
		if h.Interval > 0 {
			ev = append(ev, "every "+h.Interval.String())
		}
		e.Evidence = strings.Join(ev, "; ")
	default:
		return out
	}
	e.Subject = h.Name + " polls"
	return append(out, e)
}

// condWord is how a condition reads in "nova-compute <word> on host".
func condWord(c Condition) string {
	switch c {
	case CondUp:
		return "up"
	case CondDisabled:
		return "disabled"
	case CondUnknown:
		return "unknown"
	case CondForcedDown:
		return "forced down"
	case CondDown:
		return "down"
	}
	return fmt.Sprintf("condition %d", c)
}

func (t *timelineState) servicesDiff(out []Event, prev, s *Snapshot) []Event {
	if !t.servicesSeen {
		if len(s.Services) == 0 {
			return out
		}
		t.servicesSeen = true
		return append(out, servicesSummary(s))
	}
	svc := func(sv *Service, change, evidence, group string, level EventLevel) Event {
		return Event{At: s.At, Kind: EventService, Level: level, Subject: sv.Key.Binary, Change: change, Hosts: []string{sv.Key.Host},
			Evidence: evidence, GroupEvidence: group, Source: sources.NameNova}
	}
	ps, ns := prev.Services, s.Services
	if sameSlice(ps, ns) {
		return out
	}
	i, j := 0, 0
	for i < len(ps) || j < len(ns) {
		var c int
		switch {
		case i == len(ps):
			c = 1
		case j == len(ns):
			c = -1
		default:
			c = cmpServiceKey(ps[i].Key, ns[j].Key)
		}
		switch {
		case c < 0:
			out = append(out, svc(ps[i], "no longer listed", "missing from Nova's service list", "", LevelProblem))
			i++
		case c > 0:
			n := ns[j]
			out = append(out, svc(n, "listed", fmt.Sprintf("new in Nova's service list, %s", condWord(n.Cond)), "new in Nova's service list", LevelInfo))
			j++
		default:
			p, n := ps[i], ns[j]
			i, j = i+1, j+1
			if p.Cond != n.Cond {
				level := LevelProblem
				if n.Cond == CondUp {
					level = LevelRecovery
				}
				e := svc(n, condWord(n.Cond), "", "", level)
				e.At = n.Since
				e.Evidence, e.GroupEvidence = transitionEvidence(p, n)
				out = append(out, e)
			}
			if p.Flapping != n.Flapping {
				change, level := "started flapping", LevelProblem
				if !n.Flapping {
					change, level = "stopped flapping", LevelRecovery
				}
				out = append(out, svc(n, change, fmt.Sprintf("weighted state change %.0f%% over the flap window", n.FlapPercent), "weighted state change over the flap window", level))
			}
		}
	}
	return out
}

// sameSlice reports whether a and b are the same view of the same array,
// which is how a snapshot shares what a batch did not touch.
func sameSlice[T any](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}

// transitionEvidence says what Nova showed for a change from p to n.
func transitionEvidence(p, n *Service) (evidence, group string) {
	was := n.Since.Sub(p.Since).Round(time.Second)
	switch n.Cond {
	case CondDown:
		ev := "Nova: state down"
		if !n.UpdatedAt.IsZero() {
			ev += fmt.Sprintf(", last report %s (%s before)", format.Clock(n.UpdatedAt), n.Since.Sub(n.UpdatedAt).Round(time.Second))
		}
		return ev, "Nova: state down"
	case CondUp:
		if p.Cond == CondDisabled {
			return "Nova: status enabled again", "Nova: status enabled again"
		}
		return fmt.Sprintf("Nova: state up, after %s %s", was, condWord(p.Cond)), "Nova: state up again"
	case CondDisabled:
		if p.Cond != CondUp {
			return fmt.Sprintf("Nova: state up but status disabled, after %s %s", was, condWord(p.Cond)), "Nova: state up, status disabled"
		}
		ev := "Nova: status disabled"
		if n.DisabledReason != "" {
			ev += ": " + n.DisabledReason
		}
		return ev, "Nova: status disabled"
	case CondForcedDown:
		return "Nova: forced down by an operator", "Nova: forced down by an operator"
	case CondUnknown:
		return "Nova: state UNKNOWN, its cell does not answer", "Nova: state UNKNOWN, their cell does not answer"
	}
	return "", ""
}

// servicesSummary is the start event for Nova's first list.
func servicesSummary(s *Snapshot) Event {
	counts := map[Condition]int{}
	byCond := map[Condition][]string{}
	for _, sv := range s.Services {
		counts[sv.Cond]++
		if sv.Cond != CondUp {
			byCond[sv.Cond] = append(byCond[sv.Cond], sv.Key.Binary+" on "+sv.Key.Host)
		}
	}
	var parts, ev []string
	for c := CondUp; c <= CondDown; c++ {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[c], condWord(c)))
		}
		if len(byCond[c]) > 0 {
			ev = append(ev, condWord(c)+": "+hostList(byCond[c], 10))
		}
	}
	evidence, level := "all up", LevelInfo
	if len(ev) > 0 {
		evidence = strings.Join(ev, "; ")
	}
	if counts[CondDown]+counts[CondUnknown]+counts[CondForcedDown] > 0 {
		level = LevelProblem
	}
	return Event{At: s.At, Kind: EventStart, Level: level, Subject: "Nova",
		Change:   fmt.Sprintf("lists %d service%s: %s", len(s.Services), evPlural(len(s.Services)), strings.Join(parts, ", ")),
		Evidence: evidence, Source: sources.NameNova}
}

// restartEvents reports the restarts the batch found (newest first, as
// merged into Snapshot.Restarts), oldest first.
func restartEvents(out []Event, restarts []Restart, cutoff time.Time) []Event {
	for k := len(restarts) - 1; k >= 0; k-- {
		r := &restarts[k]
		if r.At.Before(cutoff) {
			continue
		}
		e := Event{At: r.At, Level: LevelProblem, Evidence: r.Evidence, Source: r.Source}
		switch r.Kind {
		case RestartProcess:
			e.Kind, e.Subject, e.Change, e.Hosts = EventRestart, r.What, "restarted", []string{r.Where}
			e.GroupEvidence = "new pid or start time in the hosts' heartbeats"
		case RestartHost:
			e.Kind, e.Change, e.Hosts = EventRestart, "rebooted", []string{r.Where}
			e.GroupEvidence = "boot id changed in the hosts' heartbeats"
		case RestartBrokerNode:
			e.Kind, e.Subject, e.Change = EventBroker, r.Where, "restarted"
		default:
			continue // RestartRecovered: the service's transition to up says it
		}
		out = append(out, e)
	}
	return out
}

func (t *timelineState) nodesDiff(out []Event, prev, s *Snapshot) []Event {
	if sameSlice(prev.Nodes, s.Nodes) {
		return out
	}
	if !t.nodesSeen {
		if len(s.Nodes) == 0 {
			return out
		}
		t.nodesSeen = true
		return append(out, nodesSummary(s))
	}
	node := func(name, change, evidence string, level EventLevel) Event {
		return Event{At: s.Read.Nodes.At, Kind: EventBroker, Level: level, Subject: name, Change: change, Evidence: evidence, Source: sources.NameRabbitMQ}
	}
	for _, n := range s.Nodes {
		p, had := prev.Node(n.Name)
		if !had {
			level := LevelInfo
			if !n.Running {
				level = LevelProblem
			}
			out = append(out, node(n.Name, "listed", "new in the broker's node list, "+running(n.Running), level))
			continue
		}
		if p.Running != n.Running {
			if n.Running {
				out = append(out, node(n.Name, "running again", "the broker lists it as running", LevelRecovery))
			} else {
				out = append(out, node(n.Name, "stopped", "the broker lists it as not running", LevelProblem))
			}
		}
		if p.MemAlarm != n.MemAlarm {
			out = append(out, node(n.Name, raised("memory alarm", n.MemAlarm), "memory "+gauge(n.MemUsed, n.MemLimit, "high watermark"), raisedLevel(n.MemAlarm)))
		}
		if p.DiskAlarm != n.DiskAlarm {
			out = append(out, node(n.Name, raised("disk alarm", n.DiskAlarm), "disk free "+gauge(n.DiskFree, n.DiskFreeLimit, "limit"), raisedLevel(n.DiskAlarm)))
		}
		if len(p.Partitions) == 0 && len(n.Partitions) > 0 {
			out = append(out, node(n.Name, "partitioned", "cannot see "+strings.Join(n.Partitions, ", "), LevelProblem))
		} else if len(p.Partitions) > 0 && len(n.Partitions) == 0 {
			out = append(out, node(n.Name, "partition healed", "was cut off from "+strings.Join(p.Partitions, ", "), LevelRecovery))
		}
	}
	for _, p := range prev.Nodes {
		if _, ok := s.Node(p.Name); !ok {
			out = append(out, node(p.Name, "no longer listed", "missing from the broker's node list", LevelProblem))
		}
	}
	return out
}

func nodesSummary(s *Snapshot) Event {
	var names, issues []string
	for _, n := range s.Nodes {
		names = append(names, n.Name)
		if !n.Running {
			issues = append(issues, n.Name+" not running")
		}
		if n.MemAlarm {
			issues = append(issues, n.Name+" memory alarm ("+gauge(n.MemUsed, n.MemLimit, "high watermark")+")")
		}
		if n.DiskAlarm {
			issues = append(issues, n.Name+" disk alarm ("+gauge(n.DiskFree, n.DiskFreeLimit, "limit")+")")
		}
		if len(n.Partitions) > 0 {
			issues = append(issues, n.Name+" partitioned from "+strings.Join(n.Partitions, ", "))
		}
	}
	evidence, level := "all running, no alarms, no partitions", LevelInfo
	if len(issues) > 0 {
		evidence, level = strings.Join(issues, "; "), LevelProblem
	}
	subject := "broker"
	if s.Overview != nil && s.Overview.ClusterName != "" {
		subject = "broker " + s.Overview.ClusterName
	}
	return Event{At: s.At, Kind: EventStart, Level: level, Subject: subject,
		Change:   fmt.Sprintf("lists %d node%s: %s", len(names), evPlural(len(names)), hostList(names, 10)),
		Evidence: evidence, Source: sources.NameRabbitMQ}
}

func running(ok bool) string {
	if ok {
		return "running"
	}
	return "not running"
}

func raised(what string, on bool) string {
	if on {
		return what + " raised"
	}
	return what + " cleared"
}

func raisedLevel(on bool) EventLevel {
	if on {
		return LevelProblem
	}
	return LevelRecovery
}

// gauge reads "1.2 GiB of 1.6 GiB high watermark", or "unknown" when the broker did not say.
func gauge(used, limit int64, limitName string) string {
	switch {
	case used < 0:
		return "unknown"
	case limit <= 0:
		return format.Bytes(used)
	}
	return fmt.Sprintf("%s, %s %s", format.Bytes(used), limitName, format.Bytes(limit))
}

// hostsDiff reports hosts whose heartbeats were lost or came back, and
// hosts new in this run (added: the names the batch added to the hosts).
// While no host is lost it only compares ages: no allocation, no lookups.
func (t *timelineState) hostsDiff(out []Event, s *Snapshot, added []string) []Event {
	if hb, ok := s.Source(sources.NameHeartbeat); ok && hb.Failures > 0 {
		return out // no heartbeats arrive at all: the source's failure says it, not every host
	}
	if len(s.Hosts) == 0 {
		return out
	}
	first := !t.hostsSeen
	t.hostsSeen = true
	var isNew map[string]bool
	if !first && len(added) > 0 {
		isNew = make(map[string]bool, len(added))
		for _, n := range added {
			isNew[n] = true
		}
	}
	var lostAtStart []string
	for _, h := range s.Hosts {
		lost := h.Liveness(s.At) == LiveLost
		wasLost := len(t.lost) > 0 && t.lost[h.Name]
		fresh := isNew != nil && isNew[h.Name]
		if lost == wasLost && !fresh {
			continue
		}
		if lost {
			t.lost[h.Name] = true
		} else {
			delete(t.lost, h.Name)
		}
		if first {
			lostAtStart = append(lostAtStart, h.Name)
			continue
		}
		iv := h.HeartbeatInterval()
		e := Event{At: s.At, Kind: EventHeartbeat, Subject: "heartbeats", Hosts: []string{h.Name}, Source: sources.NameHeartbeat}
		switch {
		case fresh:
			e.At, e.Change, e.Level = h.LastSeen, "started", LevelInfo
			e.Evidence = fmt.Sprintf("first heartbeat, seq %d, host up %s", h.Seq, h.Uptime.Round(time.Second))
			e.GroupEvidence = "first heartbeat from their agents"
		case lost:
			e.At, e.Change, e.Level = h.LastSeen.Add(5*iv), "lost", LevelProblem
			e.Evidence = fmt.Sprintf("last heartbeat %s (seq %d), none for 5 intervals of %s", format.Clock(h.LastSeen), h.Seq, iv)
			e.GroupEvidence = fmt.Sprintf("no heartbeat for 5 intervals of %s", iv)
		default:
			e.At, e.Change, e.Level = h.LastSeen, "back", LevelRecovery
			e.Evidence = fmt.Sprintf("heartbeat seq %d; %d missed so far, by sequence number", h.Seq, h.Gaps)
			e.GroupEvidence = "heartbeats arriving again"
		}
		out = append(out, e)
	}
	if first {
		ev, level := "all fresh", LevelInfo
		if len(lostAtStart) > 0 {
			ev, level = "no recent heartbeat from "+hostList(lostAtStart, 10), LevelProblem
		}
		out = append(out, Event{At: s.At, Kind: EventStart, Level: level, Subject: "heartbeats",
			Change: fmt.Sprintf("from %d host%s", len(s.Hosts), evPlural(len(s.Hosts))), Evidence: ev, Source: sources.NameHeartbeat})
	}
	return out
}

// rpcDiff reports the services whose RPC ping started failing, or answers
// again, with this batch's pings: a transition, not every failed ping.
func rpcDiff(out []Event, b *sources.Batch, prev, s *Snapshot) []Event {
	for _, p := range b.Probes {
		if p.Kind != sources.ProbeRPC {
			continue
		}
		key := ServiceKey{Binary: p.Binary, Host: p.Host}
		n, ok := s.Service(key)
		if !ok || n.RPC == nil || !n.RPC.At.Equal(p.At) {
			continue // not listed by Nova, or an older ping than the one kept
		}
		var was *RPCPing
		if o, ok := prev.Service(key); ok {
			was = o.RPC
		}
		failedBefore := was != nil && was.Result != sources.ProbeOK
		e := Event{At: p.At, Kind: EventRPC, Subject: p.Binary, Hosts: []string{p.Host}, Source: b.Source}
		switch {
		case p.Result != sources.ProbeOK && !failedBefore:
			e.Change, e.Level = "RPC ping failing", LevelProblem
			e.Evidence = string(p.Result)
			if p.RTT >= time.Millisecond {
				e.Evidence += " after " + p.RTT.Round(time.Millisecond).String()
			}
			if p.Detail != "" && p.Result != sources.ProbeTimeout { // a timeout's detail only repeats it
				e.Evidence += ": " + p.Detail
			}
			e.GroupEvidence = string(p.Result)
		case p.Result == sources.ProbeOK && failedBefore:
			e.Change, e.Level = "answering RPC again", LevelRecovery
			e.Evidence = "round trip " + p.RTT.Round(time.Millisecond).String()
			e.GroupEvidence = "answered"
		default:
			continue
		}
		out = append(out, e)
	}
	return out
}

func (t *timelineState) canaryDiff(out []Event, s *Snapshot) []Event {
	h := s.Canary.History
	k := len(h)
	for k > 0 && h[k-1].At.After(t.lastProbe) {
		k--
	}
	for _, p := range h[k:] {
		t.lastProbe = p.At
		e := Event{At: p.At, Kind: EventCanary, Subject: "broker canary", Source: sources.NameHeartbeat}
		switch {
		case p.Result != sources.ProbeOK && t.canaryFails == 0:
			e.Change, e.Level = "failing", LevelProblem
			e.Evidence = string(p.Result)
			if p.RTT >= time.Millisecond {
				e.Evidence += " after " + p.RTT.Round(time.Millisecond).String()
			}
			if p.Detail != "" {
				e.Evidence += ": " + p.Detail
			}
		case p.Result == sources.ProbeOK && t.canaryFails > 0:
			e.Change, e.Level = "answering again", LevelRecovery
			e.Evidence = fmt.Sprintf("round trip %s, after %d failed probe%s", p.RTT.Round(time.Millisecond), t.canaryFails, evPlural(t.canaryFails))
		}
		if p.Result != sources.ProbeOK {
			t.canaryFails++
		} else {
			t.canaryFails = 0
		}
		if e.Change != "" {
			out = append(out, e)
		}
	}
	return out
}

// verdictDiff reports a new verdict, or its clearing: a change of cause
// (or thin evidence becoming firm, or the reverse) or of the hosts it
// names ("host down: compute-1" becoming "host down: compute-2"). Counts
// and times that change while the same verdict holds, and its recovered
// form, are not changes.
func verdictDiff(out []Event, prev, s *Snapshot) []Event {
	was, is := &prev.Verdict, &s.Verdict
	if was.Cause == is.Cause && was.Thin == is.Thin && slices.Equal(was.Hosts, is.Hosts) {
		return out
	}
	e := Event{At: s.At, Kind: EventVerdict, Level: LevelProblem, Subject: "verdict:", Source: "stacktop"}
	if is.Cause == CauseNone {
		e.Subject, e.Change, e.Evidence, e.Level = "verdict", "cleared", "was: "+was.Was(), LevelRecovery
	} else {
		e.Change, e.Evidence = is.Summary, strings.Join(is.Evidence, "; ")
	}
	return append(out, e)
}

func evPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// cmpNewest orders the Timeline: newest first, the later derived first among equals.
func cmpNewest(a, b *Event) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	switch {
	case a.ID > b.ID:
		return -1
	case a.ID < b.ID:
		return 1
	}
	return 0
}

// foldTimeline merges the events an Apply derived (oldest first) into the
// timeline (newest first): each event with hosts joins the open group of
// its key when GroupEvents would let it, the rest get IDs of their own;
// then nothing older than cutoff and at most limit events are kept. old is
// never written; with nothing to add it is only resliced.
func (t *timelineState) foldTimeline(old, add []Event, cutoff time.Time, limit int, window time.Duration) []Event {
	for k, og := range t.open {
		if og.at.Before(cutoff) {
			delete(t.open, k)
		}
	}
	if len(add) == 0 {
		n := len(old)
		for n > 0 && old[n-1].At.Before(cutoff) {
			n--
		}
		n = min(n, limit)
		if n == 0 {
			return nil
		}
		return old[:n:n]
	}
	if t.open == nil {
		t.open = make(map[groupKey]openGroup)
	}
	mod := make([]Event, 0, len(add)) // new groups and copies of the old ones that grew
	modAt := map[uint64]int{}         // ID → index in mod, of groups with hosts
	var replaced map[uint64]bool      // IDs of old groups copied into mod
	for i := range add {
		e := &add[i]
		if len(e.Hosts) > 0 && window > 0 {
			k := keyOf(e)
			if og, ok := t.open[k]; ok && e.At.Sub(og.at) <= window {
				if j, ok := modAt[og.id]; ok && canJoin(&mod[j], e, window) {
					joinGroup(&mod[j], e)
					t.open[k] = openGroup{mod[j].At, og.id}
					continue
				}
				if _, ok := modAt[og.id]; !ok {
					if j := findEvent(old, og); j >= 0 && canJoin(&old[j], e, window) {
						g := old[j]
						g.Hosts, g.Members = slices.Clone(g.Hosts), slices.Clone(g.Members)
						joinGroup(&g, e)
						if replaced == nil {
							replaced = make(map[uint64]bool)
						}
						replaced[g.ID] = true
						modAt[g.ID] = len(mod)
						mod = append(mod, g)
						t.open[k] = openGroup{g.At, g.ID}
						continue
					}
				}
			}
		}
		t.nextID++
		g := *e
		g.ID = t.nextID
		if len(g.Hosts) > 0 && window > 0 {
			g.Hosts = slices.Clone(g.Hosts)
			modAt[g.ID] = len(mod)
			t.open[keyOf(&g)] = openGroup{g.At, g.ID}
		}
		mod = append(mod, g)
	}
	slices.SortFunc(mod, func(a, b Event) int { return cmpNewest(&a, &b) })
	out := make([]Event, 0, min(len(old)+len(mod), limit))
	i, j := 0, 0
	for len(out) < limit && (i < len(mod) || j < len(old)) {
		if j < len(old) && replaced[old[j].ID] {
			j++
			continue
		}
		var e *Event
		if j >= len(old) || i < len(mod) && cmpNewest(&mod[i], &old[j]) <= 0 {
			e, i = &mod[i], i+1
		} else {
			e, j = &old[j], j+1
		}
		if e.At.Before(cutoff) {
			continue
		}
		out = append(out, *e)
	}
	return out
}

// findEvent returns the index in tl (newest first) of the open group og, or -1.
func findEvent(tl []Event, og openGroup) int {
	j, _ := slices.BinarySearchFunc(tl, og.at, func(e Event, at time.Time) int { return at.Compare(e.At) })
	for ; j < len(tl) && tl[j].At.Equal(og.at); j++ {
		if tl[j].ID == og.id {
			return j
		}
	}
	return -1
}
