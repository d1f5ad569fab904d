package state

import (
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const poll = 10 * time.Second

// at returns t0 plus n polls.
func at(n int) time.Time { return t0.Add(time.Duration(n) * poll) }

func novaBatch(when time.Time, svcs ...sources.Service) sources.Batch {
	if svcs == nil {
		svcs = []sources.Service{}
	}
	return sources.Batch{Source: sources.NameNova, At: when, Health: sources.Health{OK: true, Interval: poll}, Services: svcs}
}

func svc(binary, host string, state sources.ServiceState, updated time.Time) sources.Service {
	return sources.Service{ID: binary + "@" + host, Binary: binary, Host: host, Status: sources.StatusEnabled, State: state, UpdatedAt: updated}
}

func TestCondition(t *testing.T) {
	cases := []struct {
		name   string
		state  sources.ServiceState
		status sources.ServiceStatus
		forced bool
		want   Condition
	}{
		{"up", sources.StateUp, sources.StatusEnabled, false, CondUp},
		{"down", sources.StateDown, sources.StatusEnabled, false, CondDown},
		{"down and disabled", sources.StateDown, sources.StatusDisabled, false, CondDown},
		{"forced down wins over down", sources.StateDown, sources.StatusEnabled, true, CondForcedDown},
		{"forced down wins over disabled", sources.StateUp, sources.StatusDisabled, true, CondForcedDown},
		{"unknown cell", sources.StateUnknown, sources.StatusEnabled, false, CondUnknown},
		{"unknown wins over disabled", sources.StateUnknown, sources.StatusDisabled, false, CondUnknown},
		{"disabled", sources.StateUp, sources.StatusDisabled, false, CondDisabled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := svc("nova-compute", "c1", c.state, t0)
			row.Status, row.ForcedDown = c.status, c.forced
			s := NewStore(DefaultConfig())
			snap := s.Apply(novaBatch(t0, row))
			got, ok := snap.Service(ServiceKey{"nova-compute", "c1"})
			if !ok || got.Cond != c.want {
				t.Errorf("Cond = %v (found %v), want %v", got.Cond, ok, c.want)
			}
		})
	}
}

func TestServicesSortedKeyedAndRemoved(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(novaBatch(at(0),
		svc("nova-compute", "c2", sources.StateUp, at(0)),
		svc("nova-scheduler", "ctl", sources.StateUp, at(0)),
		svc("nova-compute", "c1", sources.StateUp, at(0)),
		svc("nova-conductor", "ctl", sources.StateUp, at(0)),
	))
	snap := s.Apply(novaBatch(at(1),
		svc("nova-compute", "c2", sources.StateUp, at(1)),
		svc("nova-conductor", "ctl", sources.StateUp, at(1)),
		svc("nova-compute", "c3", sources.StateUp, at(1)),
		svc("nova-compute", "c3", sources.StateDown, at(1)), // duplicate: the last row wins
	))
	var keys []string
	for _, sv := range snap.Services {
		keys = append(keys, sv.Key.Host+"/"+sv.Key.Binary)
	}
	if got, want := strings.Join(keys, " "), "c2/nova-compute c3/nova-compute ctl/nova-conductor"; got != want {
		t.Fatalf("services %q, want %q", got, want)
	}
	if sv, _ := snap.Service(ServiceKey{"nova-compute", "c3"}); sv.Cond != CondDown || !sv.FirstSeen.Equal(at(1)) {
		t.Errorf("c3: cond %v first seen %v, want down at %v", sv.Cond, sv.FirstSeen, at(1))
	}
	if sv, _ := snap.Service(ServiceKey{"nova-compute", "c2"}); !sv.FirstSeen.Equal(at(0)) {
		t.Errorf("c2 first seen %v, want %v", sv.FirstSeen, at(0))
	}
	// A nil list says nothing; an empty one says everything is gone.
	snap = s.Apply(sources.Batch{Source: sources.NameNova, At: at(2), Health: sources.Health{OK: true}})
	if len(snap.Services) != 3 {
		t.Errorf("nil service list dropped services: %d left", len(snap.Services))
	}
	snap = s.Apply(novaBatch(at(3)))
	if len(snap.Services) != 0 {
		t.Errorf("empty complete list left %d services", len(snap.Services))
	}
}

func TestTransitionsAndRecovery(t *testing.T) {
	s := NewStore(DefaultConfig())
	k := ServiceKey{"nova-compute", "compute-07"}
	states := []sources.ServiceState{"up", "up", "down", "down", "UNKNOWN", "down", "up", "up"}
	var snap *Snapshot
	for i, st := range states {
		snap = s.Apply(novaBatch(at(i), svc(k.Binary, k.Host, st, at(i))))
	}
	sv, _ := snap.Service(k)
	want := []Transition{
		{at(2), CondUp, CondDown},
		{at(4), CondDown, CondUnknown},
		{at(5), CondUnknown, CondDown},
		{at(6), CondDown, CondUp},
	}
	if len(sv.History) != len(want) {
		t.Fatalf("history %+v, want %+v", sv.History, want)
	}
	for i := range want {
		if !sv.History[i].At.Equal(want[i].At) || sv.History[i].From != want[i].From || sv.History[i].To != want[i].To {
			t.Errorf("transition %d = %+v, want %+v", i, sv.History[i], want[i])
		}
	}
	if !sv.Since.Equal(at(6)) || sv.Cond != CondUp {
		t.Errorf("since %v cond %v, want %v up", sv.Since, sv.Cond, at(6))
	}
	var rec []Restart
	for _, r := range snap.Restarts {
		if r.Kind == RestartRecovered {
			rec = append(rec, r)
		}
	}
	if len(rec) != 1 {
		t.Fatalf("recoveries %+v, want exactly one", rec)
	}
	r := rec[0]
	if r.Where != "compute-07" || r.What != "nova-compute" || !r.At.Equal(at(6)) || r.Source != sources.NameNova ||
		r.Evidence != "nova-compute on compute-07 up again after 40s down" {
		t.Errorf("recovery %+v", r)
	}
}

func TestNoRecoveryWithoutDown(t *testing.T) {
	s := NewStore(DefaultConfig())
	row := svc("nova-compute", "c1", sources.StateUp, t0)
	s.Apply(novaBatch(at(0), row))
	row.ForcedDown = true
	s.Apply(novaBatch(at(1), row))
	row.ForcedDown = false
	snap := s.Apply(novaBatch(at(2), row))
	if len(snap.Restarts) != 0 {
		t.Errorf("forced down and back is not a recovery: %+v", snap.Restarts)
	}
}

func TestReportInterval(t *testing.T) {
	// jittered is 2 s reports whose commit times vary by up to ±0.9 s, as
	// the demo's and a busy database's do.
	jittered := []float64{0, 2.8, 4.0, 6.9, 8.0, 10.1, 11.9, 14.0, 16.2}
	cases := []struct {
		name    string
		updates []float64 // UpdatedAt in seconds after t0, one per poll
		want    time.Duration
	}{
		{"unknown with one report", []float64{0}, 0},
		{"unchanged reports say nothing", []float64{0, 0, 0}, 0},
		{"steady 10 s", []float64{0, 10, 20, 30}, 10 * time.Second},
		{"missed polls do not lengthen it", []float64{0, 10, 30, 40, 60}, 10 * time.Second},
		{"a sick stretch does not lengthen it", []float64{0, 10, 20, 90, 170, 250}, 10 * time.Second},
		{"nor a long one", []float64{0, 10, 20, 30, 100, 170, 240, 310, 380}, 10 * time.Second},
		{"two gaps are not enough", []float64{0, 10, 20}, 0},
		{"sub-second jitter ignored", []float64{0, 0, 10, 10, 10.5, 20, 30}, 10 * time.Second},
		{"old gaps age out", []float64{0, 10, 40, 70, 100, 130, 160, 190, 220, 250}, 30 * time.Second},
		{"one early report does not shorten it", jittered, 1800 * time.Millisecond},
		{"whole-second timestamps", []float64{0, 2, 4, 7, 8, 10, 12, 14, 16}, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore(DefaultConfig())
			var snap *Snapshot
			for i, u := range c.updates {
				snap = s.Apply(novaBatch(at(i), svc("nova-compute", "c1", sources.StateUp, t0.Add(time.Duration(u*float64(time.Second))))))
			}
			if sv := snap.Services[0]; sv.ReportInterval != c.want {
				t.Errorf("ReportInterval = %v, want %v", sv.ReportInterval, c.want)
			}
		})
	}
}

// TestNoLateMarkFromJitter: a service reporting on time, with its commit
// times jittering, is never marked late while its next report is on the way.
func TestNoLateMarkFromJitter(t *testing.T) {
	updates := []float64{0, 2.8, 4.0, 6.9, 8.0, 10.1, 11.9, 14.0, 16.2, 17.1, 20.0, 21.1, 23.9}
	s := NewStore(DefaultConfig())
	var snap *Snapshot
	for i, u := range updates {
		ts := t0.Add(time.Duration(u * float64(time.Second)))
		snap = s.Apply(novaBatch(at(i), svc("nova-compute", "c1", sources.StateUp, ts)))
		if i+1 == len(updates) {
			break
		}
		// the moment before the next report lands
		next := t0.Add(time.Duration(updates[i+1]*float64(time.Second)) - time.Millisecond)
		if sv := snap.Services[0]; sv.ReportLate(next) {
			t.Errorf("after the report at %.1fs: late at %.1fs with interval %v", u, updates[i+1], sv.ReportInterval)
		}
	}
}

func TestStoreFlapping(t *testing.T) {
	s := NewStore(DefaultConfig())
	k := ServiceKey{"nova-compute", "c1"}
	pattern := strings.Repeat("U", 10) + strings.Repeat("UUDDDD", 6)
	var snap *Snapshot
	n := 0
	for _, c := range pattern {
		st := sources.StateUp
		if c == 'D' {
			st = sources.StateDown
		}
		s.Apply(novaBatch(at(n), svc(k.Binary, k.Host, st, at(n))))
		n++
		// Unknown and forced-down polls contribute no observation.
		snap = s.Apply(novaBatch(at(n), svc(k.Binary, k.Host, sources.StateUnknown, at(n))))
		n++
	}
	sv, _ := snap.Service(k)
	want := FlapPercent(timeline(pattern), 21)
	if !sv.Flapping || sv.FlapPercent != want {
		t.Errorf("flapping %v at %.1f%%, want true at %.1f%%", sv.Flapping, sv.FlapPercent, want)
	}
}

// TestCondSince: what the screen's since shows is what is known: the
// change when stacktop saw it, else Nova's last report for a service first
// listed down, the process start from heartbeats for one first listed up
// (even when the heartbeat comes after the first poll), else at least
// since stacktop first listed it.
func TestCondSince(t *testing.T) {
	started := t0.Add(-40 * 24 * time.Hour)
	tests := []struct {
		name    string
		batches []sources.Batch
		basis   SinceBasis
		since   time.Time
	}{
		{"up, nothing known", []sources.Batch{novaBatch(at(1), svc("nova-compute", "c1", sources.StateUp, at(1)))}, SinceAtLeast, at(1)},
		{"first listed down", []sources.Batch{novaBatch(at(1), svc("nova-compute", "c1", sources.StateDown, at(1).Add(-5*time.Minute)))}, SinceLastReport, at(1).Add(-5 * time.Minute)},
		{"first listed up, heartbeat first", []sources.Batch{
			hbBatch(hb("c1", 1, at(0), sources.Process{Name: "nova-compute", PID: 7, StartedAt: started})),
			novaBatch(at(1), svc("nova-compute", "c1", sources.StateUp, at(1)))}, SinceProcessStart, started},
		{"first listed up, heartbeat later", []sources.Batch{
			novaBatch(at(1), svc("nova-compute", "c1", sources.StateUp, at(1))),
			hbBatch(hb("c1", 1, at(1), sources.Process{Name: "nova-compute", PID: 7, StartedAt: started})),
			novaBatch(at(2), svc("nova-compute", "c1", sources.StateUp, at(2)))}, SinceProcessStart, started},
		{"another process's start says nothing", []sources.Batch{
			hbBatch(hb("c1", 1, at(0), sources.Process{Name: "nova-conductor", PID: 7, StartedAt: started})),
			novaBatch(at(1), svc("nova-compute", "c1", sources.StateUp, at(1)))}, SinceAtLeast, at(1)},
		{"a change seen", []sources.Batch{
			hbBatch(hb("c1", 1, at(0), sources.Process{Name: "nova-compute", PID: 7, StartedAt: started})),
			novaBatch(at(1), svc("nova-compute", "c1", sources.StateDown, at(0))),
			novaBatch(at(2), svc("nova-compute", "c1", sources.StateUp, at(2))),
			novaBatch(at(3), svc("nova-compute", "c1", sources.StateUp, at(3)))}, SinceSeen, at(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(DefaultConfig())
			var snap *Snapshot
			for _, b := range tt.batches {
				snap = s.Apply(b)
			}
			sv, ok := snap.Service(ServiceKey{Binary: "nova-compute", Host: "c1"})
			if !ok {
				t.Fatal("no service")
			}
			if sv.SinceBasis != tt.basis || !sv.CondSince.Equal(tt.since) {
				t.Errorf("basis %d since %v, want %d %v", sv.SinceBasis, sv.CondSince, tt.basis, tt.since)
			}
		})
	}
}
