package state

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// maxReportSamples bounds Config.ReportSamples.
const maxReportSamples = 16

// svcState is what folding needs about a service beyond its Service.
type svcState struct {
	flap   flapWindow
	downAt time.Time // when the current down episode began; zero when not in one
	// deltas between successive distinct UpdatedAt values, a ring of the newest.
	deltas [maxReportSamples]time.Duration
	nd     uint8 // deltas held
	nextD  uint8 // where the next delta goes
}

// pushDelta records a gap between two reports and returns the new estimate.
//
// ReportInterval is the lower tercile of the last Config.ReportSamples gaps
// (≥ 1 s) between distinct UpdatedAt values, known from three gaps on. A sick service or broker only
// delays reports, and polls can only miss reports (making gaps multiples of
// the interval), so the short gaps measure the configured report_interval
// and a median would drift upwards during an incident. The very shortest gap
// is no good either: each report's commit time varies (and a database that
// keeps whole seconds rounds it), so a report that came late makes the next
// gap short — 2 s reports showed 1.2 s gaps and a 1.2 s estimate marked
// healthy services late. The lower tercile ignores the shortest third of
// the gaps and holds until two thirds are long. Polls slower than
// the report interval can only measure a multiple of it.
func (st *svcState) pushDelta(d time.Duration, n int) time.Duration {
	st.deltas[st.nextD] = d
	st.nextD = uint8((int(st.nextD) + 1) % n)
	if int(st.nd) < n {
		st.nd++
	}
	if st.nd < 3 {
		return 0
	}
	var sorted [maxReportSamples]time.Duration
	held := sorted[:st.nd]
	copy(held, st.deltas[:st.nd])
	slices.Sort(held)
	return held[len(held)/3]
}

// Cond derives a service's condition from Nova's fields.
func condOf(in *sources.Service) Condition {
	switch {
	case in.ForcedDown:
		return CondForcedDown
	case in.State == sources.StateDown:
		return CondDown
	case in.State == sources.StateUnknown:
		return CondUnknown
	case in.Status == sources.StatusDisabled:
		return CondDisabled
	}
	return CondUp
}

// reporting reports whether c means the service reports in.
func reporting(c Condition) bool { return c == CondUp || c == CondDisabled }

// cmpServiceAt orders a service against a key, for binary searches of Snapshot.Services.
func cmpServiceAt(sv *Service, k ServiceKey) int { return cmpServiceKey(sv.Key, k) }

func cmpServiceKey(a, b ServiceKey) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	return strings.Compare(a.Binary, b.Binary)
}

// sortedOrder returns the indexes 0..n-1 ordered by cmp, ties by index, so
// that the last of equal keys is the last in the order.
func sortedOrder(n int, cmpIdx func(i, j int) int) []int32 {
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	f := func(a, b int32) int {
		if c := cmpIdx(int(a), int(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	if !slices.IsSortedFunc(order, f) {
		slices.SortFunc(order, f)
	}
	return order
}

// foldServices merges a complete Nova service list into next.Services.
// Services missing from the list are dropped; a duplicate key keeps the last row.
// Every listed service is a new Service (a poll changes each one's
// UpdatedAt); the previous snapshot's are not written.
func (s *Store) foldServices(f *fold, next *Snapshot) {
	in := f.b.Services
	order := sortedOrder(len(in), func(i, j int) int {
		return cmpServiceKey(ServiceKey{in[i].Binary, in[i].Host}, ServiceKey{in[j].Binary, in[j].Host})
	})
	prev, px := next.Services, s.svcx
	out := make([]*Service, 0, len(in))
	ox := make([]svcState, 0, len(in))
	j := 0
	for n, i := range order {
		row := &in[i]
		key := ServiceKey{Binary: row.Binary, Host: row.Host}
		if n+1 < len(order) {
			if nx := &in[order[n+1]]; nx.Binary == row.Binary && nx.Host == row.Host {
				continue
			}
		}
		for j < len(prev) && cmpServiceKey(prev[j].Key, key) < 0 {
			j++
		}
		sv := new(Service)
		var st svcState
		if j < len(prev) && prev[j].Key == key {
			*sv, st = *prev[j], px[j]
			j++
		} else {
			*sv = Service{Key: key, FirstSeen: f.at, Since: f.at, CondSince: f.at, Cond: condOf(row)}
		}
		s.observeService(f, sv, &st, row)
		knownSince(sv, next.Hosts)
		out = append(out, sv)
		ox = append(ox, st)
	}
	next.Services, s.svcx = out, ox
}

// observeService folds one Nova row into sv and st.
func (s *Store) observeService(f *fold, sv *Service, st *svcState, row *sources.Service) {
	prevUpdated := sv.UpdatedAt
	sv.ID = row.ID
	sv.Zone = row.Zone
	sv.Status = row.Status
	sv.State = row.State
	sv.ForcedDown = row.ForcedDown
	sv.DisabledReason = row.DisabledReason
	sv.UpdatedAt = row.UpdatedAt

	if d := row.UpdatedAt.Sub(prevUpdated); !prevUpdated.IsZero() && d >= time.Second {
		sv.ReportInterval = st.pushDelta(d, s.cfg.ReportSamples)
	}

	cond := condOf(row)
	if cond != sv.Cond {
		sv.History = appendBounded(sv.History, Transition{At: f.at, From: sv.Cond, To: cond}, s.cfg.MaxTransitions)
		sv.Cond = cond
		sv.Since = f.at
		sv.CondSince, sv.SinceBasis = f.at, SinceSeen
	}
	sv.History = trimBefore(sv.History, f.cutoff, transitionAt)

	switch {
	case cond == CondDown && st.downAt.IsZero():
		st.downAt = f.at
	case reporting(cond) && !st.downAt.IsZero():
		f.restarts = append(f.restarts, Restart{
			At:       f.at,
			Kind:     RestartRecovered,
			Where:    sv.Key.Host,
			What:     sv.Key.Binary,
			Evidence: fmt.Sprintf("%s on %s up again after %s down", sv.Key.Binary, sv.Key.Host, f.at.Sub(st.downAt).Round(time.Second)),
			Source:   f.b.Source,
		})
		st.downAt = time.Time{}
	}

	// One flap observation per poll: up when Nova says it reports in, down
	// when it does not and nobody forced it; UNKNOWN and forced down say nothing.
	switch {
	case row.ForcedDown:
	case row.State == sources.StateDown:
		st.flap.push(false)
	case row.State == sources.StateUp:
		st.flap.push(true)
	}
	sv.FlapPercent = st.flap.percent(s.cfg.FlapWindow)
	sv.Flapping = NextFlapping(sv.Flapping, sv.FlapPercent, s.cfg.FlapLow, s.cfg.FlapHigh)
}

func transitionAt(t *Transition) time.Time { return t.At }

// ReportLate reports whether Nova's last report from the service is older
// than two of its report intervals at now (false while the interval is
// not known).
func (sv *Service) ReportLate(now time.Time) bool {
	return sv.ReportInterval > 0 && !sv.UpdatedAt.IsZero() && now.Sub(sv.UpdatedAt) > 2*sv.ReportInterval
}

// knownSince sets what is known of since when sv has been in its
// condition when stacktop has not seen it change: a service first listed
// down went down after Nova's last report from it; one first listed up is
// up at most since its process started (the host's heartbeats, which may
// arrive after the service is first listed); else at least since stacktop
// first listed it.
func knownSince(sv *Service, hosts []*Host) {
	if sv.SinceBasis == SinceSeen {
		return
	}
	sv.CondSince, sv.SinceBasis = sv.FirstSeen, SinceAtLeast
	switch sv.Cond {
	case CondDown:
		if !sv.UpdatedAt.IsZero() && sv.UpdatedAt.Before(sv.FirstSeen) {
			sv.CondSince, sv.SinceBasis = sv.UpdatedAt, SinceLastReport
		}
	case CondUp:
		if start := processStart(hosts, sv.Key); !start.IsZero() && start.Before(sv.FirstSeen) {
			sv.CondSince, sv.SinceBasis = start, SinceProcessStart
		}
	}
}

// processStart is when the host's heartbeats say the service's process
// started; zero when they do not say.
func processStart(hosts []*Host, k ServiceKey) time.Time {
	i, ok := slices.BinarySearchFunc(hosts, k.Host, cmpHostName)
	if !ok {
		return time.Time{}
	}
	for _, p := range hosts[i].Processes {
		if p.Name == k.Binary {
			return p.StartedAt
		}
	}
	return time.Time{}
}
