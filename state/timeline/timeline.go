// Package timeline turns a run of state snapshots (live, or a recording
// folded through state.Store) into the timeline of an incident: what
// changed, when, and the evidence that showed it, ready for the Timeline
// section of an incident report.
//
// A Differ compares each snapshot with the one before and reports:
//
//   - Nova services changing condition (up, down, disabled, forced down,
//     unknown), appearing, vanishing, starting or stopping to flap;
//   - restarts from the state's restarts timeline: service processes
//     (heartbeat agents), host reboots, broker node restarts (uptime);
//   - broker nodes: memory and disk alarms raised and cleared, partitions,
//     a node stopping or running again, joining or leaving the listing;
//   - heartbeats from a host lost (five intervals without one) and back,
//     except while the heartbeat source itself is failing;
//   - the broker canary failing and answering again;
//   - a source's polls failing and recovering;
//   - the correlation verdict changing or clearing;
//   - and, once, what the first observations showed.
//
// Compact merges the same change on many hosts within a window into one
// entry ("nova-compute down on 12 hosts"), and Markdown and Text format the
// entries.
package timeline

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is what an entry is about.
type Kind string

// Entry kinds.
const (
	KindStart     Kind = "start"     // what the first observations showed
	KindService   Kind = "service"   // a Nova service changed
	KindRestart   Kind = "restart"   // a service process restarted, a host rebooted
	KindBroker    Kind = "broker"    // a broker node: alarms, partitions, running, restarts
	KindHeartbeat Kind = "heartbeat" // a host's heartbeats lost or back
	KindCanary    Kind = "canary"    // the broker round-trip canary
	KindSource    Kind = "source"    // a source's polls failing or recovering
	KindVerdict   Kind = "verdict"   // the correlation verdict
)

// Entry is one line of the timeline.
type Entry struct {
	At    time.Time // when it happened (for a merged entry: the first)
	Until time.Time // for a merged entry spanning time: the last; zero otherwise
	Kind  Kind
	// Subject is what changed ("nova-compute", "rabbit@mq-1", "nova polls");
	// "" when the change is said of the hosts themselves ("compute-03 rebooted").
	Subject string
	Change  string   // "down", "restarted", "memory alarm raised", ...
	Where   []string // the hosts it happened on; nil when not per host
	// Evidence is what showed it, in words; GroupEvidence replaces it when
	// Compact merged several entries whose evidence differs.
	Evidence      string
	GroupEvidence string
	Source        string // the source that saw it
}

// What is the entry's "what changed" phrase, naming up to maxHosts hosts
// (all when maxHosts <= 0).
func (e Entry) What(maxHosts int) string {
	var b strings.Builder
	switch {
	case len(e.Where) == 0:
		b.WriteString(join(e.Subject, e.Change))
	case e.Subject == "" && len(e.Where) == 1:
		b.WriteString(join(e.Where[0], e.Change))
	case e.Subject == "":
		fmt.Fprintf(&b, "%d hosts %s: %s", len(e.Where), e.Change, hostList(e.Where, maxHosts))
	case len(e.Where) == 1:
		fmt.Fprintf(&b, "%s %s on %s", e.Subject, e.Change, e.Where[0])
	default:
		fmt.Fprintf(&b, "%s %s on %d hosts: %s", e.Subject, e.Change, len(e.Where), hostList(e.Where, maxHosts))
	}
	if !e.Until.IsZero() && e.Until.Sub(e.At) >= time.Second {
		fmt.Fprintf(&b, " (over %s)", e.Until.Sub(e.At).Round(time.Second))
	}
	return b.String()
}

func join(a, b string) string {
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

// Filter returns the entries with since ≤ At ≤ until; a zero bound is open.
func Filter(entries []Entry, since, until time.Time) []Entry {
	var out []Entry
	for _, e := range entries {
		if !since.IsZero() && e.At.Before(since) || !until.IsZero() && e.At.After(until) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Compact merges entries that say the same change (kind, subject, change
// and source) of different hosts within window of the first of them into
// one entry listing the hosts, at the first one's time, with Until the
// last one's. A host already in the group starts a new group: a service
// going down twice stays two entries. Entries without hosts are kept as
// they are. entries must be sorted by At; so is the result.
func Compact(entries []Entry, window time.Duration) []Entry {
	type key struct {
		kind                    Kind
		subject, change, source string
	}
	out := make([]Entry, 0, len(entries))
	open := map[key]int{} // the latest group of each key, an index into out
	for _, e := range entries {
		if len(e.Where) == 0 || window <= 0 {
			out = append(out, e)
			continue
		}
		k := key{e.Kind, e.Subject, e.Change, e.Source}
		if i, ok := open[k]; ok && e.At.Sub(out[i].At) <= window && !containsAny(out[i].Where, e.Where) {
			g := &out[i]
			g.Where = append(g.Where, e.Where...)
			slices.Sort(g.Where)
			if e.At.After(g.Until) && e.At.After(g.At) {
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
			continue
		}
		e.Where = slices.Clone(e.Where)
		open[k] = len(out)
		out = append(out, e)
	}
	return out
}

func containsAny(set, xs []string) bool {
	for _, x := range xs {
		if slices.Contains(set, x) {
			return true
		}
	}
	return false
}
