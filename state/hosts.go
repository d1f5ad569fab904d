package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// maxDeparted bounds the vanished processes remembered per host.
const maxDeparted = 256

// defaultHeartbeatInterval stands in for a host's interval when its agent did not say.
const defaultHeartbeatInterval = 10 * time.Second

func cmpHostName(h *Host, name string) int { return strings.Compare(h.Name, name) }

// foldHeartbeats folds the batch's heartbeats, in order, into a copy of
// prev. The copy is of the pointers only (8 bytes a host); a host a
// heartbeat changes is copied before it is written, the others are
// shared with prev, whose Hosts never change.
func (s *Store) foldHeartbeats(f *fold, prev []*Host) []*Host {
	hosts := slices.Clone(prev)
	var added []*Host
	var addedAt map[string]int
	for i := range f.b.Heartbeats {
		hb := &f.b.Heartbeats[i]
		if hb.Host == "" {
			continue
		}
		if j, ok := slices.BinarySearchFunc(hosts, hb.Host, cmpHostName); ok {
			if hosts[j] == prev[j] { // not yet copied in this batch
				h := *prev[j]
				hosts[j] = &h
			}
			s.observeHost(f, hosts[j], hb)
			continue
		}
		if k, ok := addedAt[hb.Host]; ok {
			s.observeHost(f, added[k], hb)
			continue
		}
		if addedAt == nil {
			addedAt = make(map[string]int)
		}
		addedAt[hb.Host] = len(added)
		f.addedHosts = append(f.addedHosts, hb.Host)
		h := &Host{Name: strings.Clone(hb.Host)}
		s.observeHost(f, h, hb)
		added = append(added, h)
	}
	if len(added) > 0 {
		hosts = append(hosts, added...)
		slices.SortFunc(hosts, func(a, b *Host) int { return strings.Compare(a.Name, b.Name) })
	}
	return hosts
}

// observeHost folds one heartbeat into h. A zero LastSeen means h is new.
func (s *Store) observeHost(f *fold, h *Host, hb *sources.Heartbeat) {
	recv := hb.ReceivedAt
	if recv.IsZero() {
		recv = f.at
	}
	known := !h.LastSeen.IsZero()
	if known && hb.Seq == h.Seq && hb.BootID == h.BootID && hb.SentAt.Equal(h.LastSeen.Add(h.Skew)) {
		return // a redelivered duplicate
	}
	changed := known && h.BootID != "" && hb.BootID != "" && hb.BootID != h.BootID
	conflict := changed && conflicting(h, hb, recv)
	rebooted := changed && !conflict
	switch {
	case conflict:
		if !h.Conflicting(recv) {
			f.conflicts = append(f.conflicts, Event{
				At: recv, Kind: EventHeartbeat, Level: LevelProblem, Subject: "heartbeats", Change: "conflicting",
				Hosts: []string{h.Name}, Source: f.b.Source,
				Evidence: fmt.Sprintf("boot id %s, then %s up %s: not a reboot; two senders claim this name (a copied host name, or a forged heartbeat)",
					short(h.BootID), short(hb.BootID), hb.Uptime.Round(time.Second)),
				GroupEvidence: "two senders claim each name",
			})
		}
		h.Conflicts++
		h.ConflictSeen = recv
		h.ConflictBoots = [2]string{h.BootID, hb.BootID}
	case rebooted:
		f.restarts = append(f.restarts, Restart{
			At:       recv,
			Kind:     RestartHost,
			Where:    h.Name,
			What:     "host",
			Evidence: fmt.Sprintf("boot id changed from %s to %s, up %s", short(h.BootID), short(hb.BootID), hb.Uptime.Round(time.Second)),
			Source:   f.b.Source,
		})
		delete(s.departed, h.Name)
	case known && hb.Seq > h.Seq+1:
		h.Gaps += int(min(hb.Seq-h.Seq-1, 1<<31-1))
		// A lower seq means the agent restarted: not a gap.
	}
	if changed {
		h.prevBoot = h.BootID
	}
	if known && !changed {
		s.compareProcesses(f, h, hb.Processes, recv)
	}
	if !known || changed || !sameProcesses(h.Processes, hb.Processes) {
		h.Processes = slices.Clone(hb.Processes)
	}

	if h.LastSeen.IsZero() || h.Liveness(recv) == LiveLost {
		h.BeatingSince = recv
	}
	h.LastSeen = recv
	if !hb.SentAt.IsZero() {
		h.Skew = hb.SentAt.Sub(recv)
	} else {
		h.Skew = 0
	}
	if hb.Interval > 0 {
		h.Interval = hb.Interval
	}
	h.Seq = hb.Seq
	h.BootID = hb.BootID
	h.Uptime = hb.Uptime
	h.AgentVersion = hb.AgentVersion
}

// rebootSlack is how much a rebooted host's uptime may exceed the time
// since its previous boot was last heard from (queueing, clock steps).
const rebootSlack = 30 * time.Second

// conflicting says whether a heartbeat with another boot id than h's
// cannot be a reboot of h: it names the boot before the current one (boot
// ids never come back), the name is already in a conflict, or its uptime
// is longer than the time since h's boot was last heard from.
func conflicting(h *Host, hb *sources.Heartbeat, recv time.Time) bool {
	slack := max(rebootSlack, 3*h.Interval)
	return hb.BootID == h.prevBoot || h.Conflicting(recv) ||
		(hb.Uptime > 0 && hb.Uptime > recv.Sub(h.LastSeen)+slack)
}

// conflictHold is how long a name stays in conflict after the last
// conflicting heartbeat (at least; 5 intervals when longer): long enough
// that heartbeats dropped in a flood do not split one conflict into many.
const conflictHold = 2 * time.Minute

// HeartbeatInterval is the agent's publish interval, or
// defaultHeartbeatInterval when it did not say.
func (h Host) HeartbeatInterval() time.Duration {
	if h.Interval <= 0 {
		return defaultHeartbeatInterval
	}
	return h.Interval
}

// Conflicting says whether two senders claimed the host's name within the
// last conflictHold (see Host.Conflicts): its age then proves nothing.
func (h Host) Conflicting(now time.Time) bool {
	iv := h.HeartbeatInterval()
	return !h.ConflictSeen.IsZero() && now.Sub(h.ConflictSeen) <= max(conflictHold, 5*iv)
}

// sameProcesses reports whether a and b list the same processes in the same order.
func sameProcesses(a, b []sources.Process) bool {
	return slices.EqualFunc(a, b, func(x, y sources.Process) bool {
		return x.Name == y.Name && x.PID == y.PID && x.StartedAt.Equal(y.StartedAt)
	})
}

// compareProcesses records a RestartProcess for every process of h that
// started anew in procs: same name and pid with another start time, another
// pid under the same name, or a name seen before on this host (then gone)
// back with another pid. Vanished processes are remembered for the last case.
func (s *Store) compareProcesses(f *fold, h *Host, procs []sources.Process, at time.Time) {
	old := h.Processes
	if sameProcesses(old, procs) {
		return
	}
	type pk struct {
		name string
		pid  int
	}
	byKey := make(map[pk]int, len(old))
	for k, p := range old {
		byKey[pk{p.Name, p.PID}] = k
	}
	usedOld := make([]bool, len(old))
	matched := make([]bool, len(procs))
	restart := func(p sources.Process, evidence string) {
		f.restarts = append(f.restarts, Restart{
			At: at, Kind: RestartProcess, Where: h.Name, What: p.Name, Evidence: evidence, Source: f.b.Source,
		})
	}
	for i, p := range procs {
		k, ok := byKey[pk{p.Name, p.PID}]
		if !ok || usedOld[k] {
			continue
		}
		usedOld[k], matched[i] = true, true
		if o := old[k]; !o.StartedAt.IsZero() && !p.StartedAt.IsZero() && !o.StartedAt.Equal(p.StartedAt) {
			restart(p, fmt.Sprintf("pid %d restarted: started %s, was %s", p.PID, clock(p.StartedAt), clock(o.StartedAt)))
		}
	}
	unmatchedOld := make(map[string][]int)
	for k, o := range old {
		if !usedOld[k] {
			unmatchedOld[o.Name] = append(unmatchedOld[o.Name], k)
		}
	}
	dep := s.departed[h.Name]
	for i, p := range procs {
		if matched[i] {
			continue
		}
		if ks := unmatchedOld[p.Name]; len(ks) > 0 {
			o := old[ks[0]]
			unmatchedOld[p.Name] = ks[1:]
			usedOld[ks[0]] = true
			restart(p, fmt.Sprintf("pid %d → %d, started %s", o.PID, p.PID, clock(p.StartedAt)))
			continue
		}
		if d, ok := dep[p.Name]; ok {
			delete(dep, p.Name)
			if d.PID != p.PID {
				restart(p, fmt.Sprintf("back after being gone: pid %d → %d, started %s", d.PID, p.PID, clock(p.StartedAt)))
			}
		}
	}
	for k, o := range old {
		if usedOld[k] {
			continue
		}
		if dep == nil {
			dep = make(map[string]sources.Process)
			s.departed[h.Name] = dep
		}
		if _, ok := dep[o.Name]; ok || len(dep) < maxDeparted {
			dep[o.Name] = o
		}
	}
}

// clock formats a host-clock time for evidence.
func clock(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return format.Clock(t)
}

// short abbreviates a boot id for evidence.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Age returns how long ago the host's agent was last heard from.
func (h Host) Age(now time.Time) time.Duration { return now.Sub(h.LastSeen) }

// Liveness says whether the agent is fresh, late (no heartbeat for 2.5
// intervals) or lost (5 intervals); an unknown interval counts as 10 s.
func (h Host) Liveness(now time.Time) Liveness {
	iv := h.HeartbeatInterval()
	switch age := h.Age(now); {
	case age > 5*iv:
		return LiveLost
	case 2*age > 5*iv:
		return LiveLate
	}
	return LiveFresh
}
