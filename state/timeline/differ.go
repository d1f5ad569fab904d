package timeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// Differ turns successive snapshots into timeline entries. The zero value
// is ready; feed it every snapshot in order (skipping some only loses the
// changes that happened and were undone in between).
type Differ struct {
	prev         *state.Snapshot
	servicesSeen bool
	nodesSeen    bool
	hostsSeen    bool
	lost         map[string]bool      // host → its heartbeats are lost (by Host.Liveness)
	lastProbe    time.Time            // the newest canary probe looked at
	canaryFails  int                  // consecutive failed canary probes
	failingSince map[string]time.Time // source → when its current run of failures began
}

// Diff returns what changed from the previous snapshot to s, oldest first.
func (d *Differ) Diff(s *state.Snapshot) []Entry {
	if s == nil {
		return nil
	}
	prev := d.prev
	if prev == nil {
		prev = &state.Snapshot{}
	}
	if d.lost == nil {
		d.lost = make(map[string]bool)
		d.failingSince = make(map[string]time.Time)
	}
	var out []Entry
	out = d.sourcesDiff(out, prev, s)
	out = d.servicesDiff(out, prev, s)
	out = d.restartsDiff(out, prev, s)
	out = d.nodesDiff(out, prev, s)
	out = d.hostsDiff(out, s)
	out = d.canaryDiff(out, s)
	out = verdictDiff(out, prev, s)
	d.prev = s
	slices.SortStableFunc(out, func(a, b Entry) int { return a.At.Compare(b.At) })
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

func (d *Differ) sourcesDiff(out []Entry, prev, s *state.Snapshot) []Entry {
	if sameSlice(prev.Sources, s.Sources) {
		return out
	}
	for _, h := range s.Sources {
		p, had := prev.Source(h.Name)
		if had && p.Polls == h.Polls {
			continue
		}
		e := Entry{At: h.LastAttempt, Kind: KindSource, Subject: h.Name + " polls", Source: h.Name}
		switch {
		case h.Failures > 0 && (!had || p.Failures == 0):
			d.failingSince[h.Name] = h.LastAttempt
			e.Change, e.Evidence = "failing", h.LastErr
			if had && !p.LastSuccess.IsZero() {
				e.Evidence += fmt.Sprintf(" (last success %s)", clock(p.LastSuccess))
			}
		case h.Failures == 0 && had && p.Failures > 0:
			e.Change = "recovered"
			e.Evidence = fmt.Sprintf("after %s, %d failed poll%s", h.LastSuccess.Sub(d.failingSince[h.Name]).Round(time.Second), p.Failures, plural(p.Failures))
			delete(d.failingSince, h.Name)
		case h.Failures == 0 && !had:
			e.Kind, e.Change = KindStart, "started"
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
			continue
		}
		out = append(out, e)
	}
	return out
}

// condWord is how a condition reads in "nova-compute <word> on host".
func condWord(c state.Condition) string {
	switch c {
	case state.CondUp:
		return "up"
	case state.CondDisabled:
		return "disabled"
	case state.CondUnknown:
		return "unknown"
	case state.CondForcedDown:
		return "forced down"
	case state.CondDown:
		return "down"
	}
	return fmt.Sprintf("condition %d", c)
}

func (d *Differ) servicesDiff(out []Entry, prev, s *state.Snapshot) []Entry {
	if sameSlice(prev.Services, s.Services) {
		return out
	}
	if !d.servicesSeen {
		if len(s.Services) == 0 {
			return out
		}
		d.servicesSeen = true
		return append(out, servicesSummary(s))
	}
	svc := func(sv state.Service, change, evidence, group string) Entry {
		return Entry{At: s.At, Kind: KindService, Subject: sv.Key.Binary, Change: change, Where: []string{sv.Key.Host},
			Evidence: evidence, GroupEvidence: group, Source: sources.NameNova}
	}
	ps, ns := prev.Services, s.Services
	i, j := 0, 0
	for i < len(ps) || j < len(ns) {
		var c int
		switch {
		case i == len(ps):
			c = 1
		case j == len(ns):
			c = -1
		default:
			c = cmpKey(ps[i].Key, ns[j].Key)
		}
		switch {
		case c < 0:
			out = append(out, svc(ps[i], "no longer listed", "missing from Nova's service list", ""))
			i++
		case c > 0:
			n := ns[j]
			out = append(out, svc(n, "listed", fmt.Sprintf("new in Nova's service list, %s", condWord(n.Cond)), "new in Nova's service list"))
			j++
		default:
			p, n := ps[i], ns[j]
			i, j = i+1, j+1
			if p.Cond != n.Cond {
				e := svc(n, condWord(n.Cond), "", "")
				e.At = n.Since
				e.Evidence, e.GroupEvidence = transitionEvidence(p, n)
				out = append(out, e)
			}
			if p.Flapping != n.Flapping {
				change := "started flapping"
				if !n.Flapping {
					change = "stopped flapping"
				}
				out = append(out, svc(n, change, fmt.Sprintf("weighted state change %.0f%% over the flap window", n.FlapPercent), "weighted state change over the flap window"))
			}
		}
	}
	return out
}

func cmpKey(a, b state.ServiceKey) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	return strings.Compare(a.Binary, b.Binary)
}

// transitionEvidence says what Nova showed for a change from p to n.
func transitionEvidence(p, n state.Service) (evidence, group string) {
	was := n.Since.Sub(p.Since).Round(time.Second)
	switch n.Cond {
	case state.CondDown:
		ev := "Nova: state down"
		if !n.UpdatedAt.IsZero() {
			ev += fmt.Sprintf(", last report %s (%s before)", clock(n.UpdatedAt), n.Since.Sub(n.UpdatedAt).Round(time.Second))
		}
		return ev, "Nova: state down"
	case state.CondUp:
		if p.Cond == state.CondDisabled {
			return "Nova: status enabled again", "Nova: status enabled again"
		}
		return fmt.Sprintf("Nova: state up, after %s %s", was, condWord(p.Cond)), "Nova: state up again"
	case state.CondDisabled:
		if p.Cond != state.CondUp {
			return fmt.Sprintf("Nova: state up but status disabled, after %s %s", was, condWord(p.Cond)), "Nova: state up, status disabled"
		}
		ev := "Nova: status disabled"
		if n.DisabledReason != "" {
			ev += ": " + n.DisabledReason
		}
		return ev, "Nova: status disabled"
	case state.CondForcedDown:
		return "Nova: forced down by an operator", "Nova: forced down by an operator"
	case state.CondUnknown:
		return "Nova: state UNKNOWN, its cell does not answer", "Nova: state UNKNOWN, their cell does not answer"
	}
	return "", ""
}

// servicesSummary is the start entry for Nova's first list.
func servicesSummary(s *state.Snapshot) Entry {
	counts := map[state.Condition]int{}
	byCond := map[state.Condition][]string{}
	for _, sv := range s.Services {
		counts[sv.Cond]++
		if sv.Cond != state.CondUp {
			byCond[sv.Cond] = append(byCond[sv.Cond], sv.Key.Binary+" on "+sv.Key.Host)
		}
	}
	var parts, ev []string
	for c := state.CondUp; c <= state.CondDown; c++ {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[c], condWord(c)))
		}
		if len(byCond[c]) > 0 {
			ev = append(ev, condWord(c)+": "+hostList(byCond[c], 10))
		}
	}
	evidence := "all up"
	if len(ev) > 0 {
		evidence = strings.Join(ev, "; ")
	}
	return Entry{At: s.At, Kind: KindStart, Subject: "Nova",
		Change:   fmt.Sprintf("lists %d service%s: %s", len(s.Services), plural(len(s.Services)), strings.Join(parts, ", ")),
		Evidence: evidence, Source: sources.NameNova}
}

func (d *Differ) restartsDiff(out []Entry, prev, s *state.Snapshot) []Entry {
	if len(s.Restarts) == 0 || len(prev.Restarts) > 0 && &s.Restarts[0] == &prev.Restarts[0] {
		return out // unchanged, or only aged
	}
	old := make(map[state.Restart]bool, len(prev.Restarts))
	for _, r := range prev.Restarts {
		old[r] = true
	}
	for k := len(s.Restarts) - 1; k >= 0; k-- { // oldest first
		r := s.Restarts[k]
		if old[r] {
			continue
		}
		e := Entry{At: r.At, Evidence: r.Evidence, Source: r.Source}
		switch r.Kind {
		case state.RestartProcess:
			e.Kind, e.Subject, e.Change, e.Where = KindRestart, r.What, "restarted", []string{r.Where}
			e.GroupEvidence = "new pid or start time in the hosts' heartbeats"
		case state.RestartHost:
			e.Kind, e.Change, e.Where = KindRestart, "rebooted", []string{r.Where}
			e.GroupEvidence = "boot id changed in the hosts' heartbeats"
		case state.RestartBrokerNode:
			e.Kind, e.Subject, e.Change = KindBroker, r.Where, "restarted"
		default:
			continue // RestartRecovered: the service's transition to up says it
		}
		out = append(out, e)
	}
	return out
}

func (d *Differ) nodesDiff(out []Entry, prev, s *state.Snapshot) []Entry {
	if sameSlice(prev.Nodes, s.Nodes) {
		return out
	}
	if !d.nodesSeen {
		if len(s.Nodes) == 0 {
			return out
		}
		d.nodesSeen = true
		return append(out, nodesSummary(s))
	}
	node := func(name, change, evidence string) Entry {
		return Entry{At: s.At, Kind: KindBroker, Subject: name, Change: change, Evidence: evidence, Source: sources.NameRabbitMQ}
	}
	for _, n := range s.Nodes {
		p, had := prev.Node(n.Name)
		if !had {
			out = append(out, node(n.Name, "listed", "new in the broker's node list, "+running(n.Running)))
			continue
		}
		if p.Running != n.Running {
			if n.Running {
				out = append(out, node(n.Name, "running again", "the broker lists it as running"))
			} else {
				out = append(out, node(n.Name, "stopped", "the broker lists it as not running"))
			}
		}
		if p.MemAlarm != n.MemAlarm {
			out = append(out, node(n.Name, raised("memory alarm", n.MemAlarm), "memory "+gauge(n.MemUsed, n.MemLimit, "high watermark")))
		}
		if p.DiskAlarm != n.DiskAlarm {
			out = append(out, node(n.Name, raised("disk alarm", n.DiskAlarm), "disk free "+gauge(n.DiskFree, n.DiskFreeLimit, "limit")))
		}
		if len(p.Partitions) == 0 && len(n.Partitions) > 0 {
			out = append(out, node(n.Name, "partitioned", "cannot see "+strings.Join(n.Partitions, ", ")))
		} else if len(p.Partitions) > 0 && len(n.Partitions) == 0 {
			out = append(out, node(n.Name, "partition healed", "was cut off from "+strings.Join(p.Partitions, ", ")))
		}
	}
	for _, p := range prev.Nodes {
		if _, ok := s.Node(p.Name); !ok {
			out = append(out, node(p.Name, "no longer listed", "missing from the broker's node list"))
		}
	}
	return out
}

func nodesSummary(s *state.Snapshot) Entry {
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
	evidence := "all running, no alarms, no partitions"
	if len(issues) > 0 {
		evidence = strings.Join(issues, "; ")
	}
	subject := "broker"
	if s.Overview != nil && s.Overview.ClusterName != "" {
		subject = "broker " + s.Overview.ClusterName
	}
	return Entry{At: s.At, Kind: KindStart, Subject: subject,
		Change:   fmt.Sprintf("lists %d node%s: %s", len(names), plural(len(names)), hostList(names, 10)),
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

// gauge reads "1.2 GiB of 1.6 GiB high watermark", or "unknown" when the broker did not say.
func gauge(used, limit int64, limitName string) string {
	switch {
	case used < 0:
		return "unknown"
	case limit <= 0:
		return byteSize(used)
	}
	return fmt.Sprintf("%s, %s %s", byteSize(used), limitName, byteSize(limit))
}

func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func (d *Differ) hostsDiff(out []Entry, s *state.Snapshot) []Entry {
	if hb, ok := s.Source(sources.NameHeartbeat); ok && hb.Failures > 0 {
		return out // no heartbeats arrive at all: the source's failure says it, not every host
	}
	if len(s.Hosts) == 0 {
		return out
	}
	first := !d.hostsSeen
	d.hostsSeen = true
	var lostAtStart []string
	for _, h := range s.Hosts {
		lost := h.Liveness(s.At) == state.LiveLost
		wasLost, known := d.lost[h.Name]
		d.lost[h.Name] = lost
		iv := h.Interval
		if iv <= 0 {
			iv = 10 * time.Second
		}
		e := Entry{At: s.At, Kind: KindHeartbeat, Subject: "heartbeats", Where: []string{h.Name}, Source: sources.NameHeartbeat}
		switch {
		case !known && first:
			if lost {
				lostAtStart = append(lostAtStart, h.Name)
			}
			continue
		case !known:
			e.At, e.Change = h.LastSeen, "started"
			e.Evidence = fmt.Sprintf("first heartbeat, seq %d, host up %s", h.Seq, h.Uptime.Round(time.Second))
			e.GroupEvidence = "first heartbeat from their agents"
		case lost && !wasLost:
			e.At, e.Change = h.LastSeen.Add(5*iv), "lost"
			e.Evidence = fmt.Sprintf("last heartbeat %s (seq %d), none for 5 intervals of %s", clock(h.LastSeen), h.Seq, iv)
			e.GroupEvidence = fmt.Sprintf("no heartbeat for 5 intervals of %s", iv)
		case !lost && wasLost:
			e.At, e.Change = h.LastSeen, "back"
			e.Evidence = fmt.Sprintf("heartbeat seq %d; %d missed so far, by sequence number", h.Seq, h.Gaps)
			e.GroupEvidence = "heartbeats arriving again"
		default:
			continue
		}
		out = append(out, e)
	}
	for name := range d.lost {
		if _, ok := s.Host(name); !ok {
			delete(d.lost, name) // silent for longer than the retention: the state dropped it
		}
	}
	if first {
		ev := "all fresh"
		if len(lostAtStart) > 0 {
			ev = "no recent heartbeat from " + hostList(lostAtStart, 10)
		}
		out = append(out, Entry{At: s.At, Kind: KindStart, Subject: "heartbeats",
			Change: fmt.Sprintf("from %d host%s", len(s.Hosts), plural(len(s.Hosts))), Evidence: ev, Source: sources.NameHeartbeat})
	}
	return out
}

func (d *Differ) canaryDiff(out []Entry, s *state.Snapshot) []Entry {
	h := s.Canary.History
	k := len(h)
	for k > 0 && h[k-1].At.After(d.lastProbe) {
		k--
	}
	for _, p := range h[k:] {
		d.lastProbe = p.At
		e := Entry{At: p.At, Kind: KindCanary, Subject: "broker canary", Source: sources.NameHeartbeat}
		switch {
		case p.Result != sources.ProbeOK && d.canaryFails == 0:
			e.Change = "failing"
			e.Evidence = string(p.Result)
			if p.RTT >= time.Millisecond {
				e.Evidence += " after " + p.RTT.Round(time.Millisecond).String()
			}
			if p.Detail != "" {
				e.Evidence += ": " + p.Detail
			}
		case p.Result == sources.ProbeOK && d.canaryFails > 0:
			e.Change = "answering again"
			e.Evidence = fmt.Sprintf("round trip %s, after %d failed probe%s", p.RTT.Round(time.Millisecond), d.canaryFails, plural(d.canaryFails))
		}
		if p.Result != sources.ProbeOK {
			d.canaryFails++
		} else {
			d.canaryFails = 0
		}
		if e.Change != "" {
			out = append(out, e)
		}
	}
	return out
}

// verdictDiff reports a new verdict, or its clearing. The verdict is the
// summary's cause phrase, before its first ": " (the rest lists counts and
// times that change while the same verdict holds), numbers aside: a verdict
// that only grows or ages is not a change.
func verdictDiff(out []Entry, prev, s *state.Snapshot) []Entry {
	was, is := prev.Verdict.Summary, s.Verdict.Summary
	if verdictKey(was) == verdictKey(is) {
		return out
	}
	e := Entry{At: s.At, Kind: KindVerdict, Subject: "verdict:", Source: "stacktop"}
	if is == "" {
		e.Subject, e.Change, e.Evidence = "verdict", "cleared", "was: "+was
	} else {
		e.Change, e.Evidence = is, strings.Join(s.Verdict.Evidence, "; ")
	}
	return append(out, e)
}

var digits = regexp.MustCompile(`[0-9]+`)

func verdictKey(summary string) string {
	cause, _, _ := strings.Cut(summary, ": ")
	return digits.ReplaceAllString(cause, "#")
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
