package state

import (
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// canaryBatch is the heartbeat source delivering one canary probe sent at t.
func canaryBatch(t time.Time, res sources.ProbeResult, detail string) sources.Batch {
	return sources.Batch{Source: sources.NameHeartbeat, At: t.Add(time.Second), Health: sources.Health{OK: true, Interval: 2 * time.Second},
		Probes: []sources.Probe{{Kind: sources.ProbeCanary, At: t, RTT: 5 * time.Millisecond, Result: res, Detail: detail}}}
}

// brokerPoll is a successful broker poll at poll n: overview, nodes and queues.
func brokerPoll(n int, nodes ...sources.Node) sources.Batch {
	b := nodesBatch(n, &sources.Overview{ClusterName: "rabbit@c", Via: "management"}, nodes...)
	b.Queues = []sources.Queue{{VHost: "/", Name: "conductor", Messages: 5, Consumers: 1}}
	return b
}

// TestFiguresTurnStale: every broker figure the header and the Broker pane
// show is current while its source polls, and unknown (stale, with the
// time it describes) once its data is older than twice the source's
// interval; none ever reads as current from old data.
func TestFiguresTurnStale(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(canaryBatch(at(0).Add(-time.Second), sources.ProbeOK, "")) // before the alarm the node list shows
	s.Apply(downPoll(0, 2, func(int) bool { return false }))
	snap := s.Apply(brokerPoll(0, sources.Node{Name: "rabbit@a", Running: true, MemAlarm: true, Partitions: []string{"rabbit@b"}}))
	for _, tt := range []struct {
		name  string
		fig   func(Figures) Figure
		value int64
	}{
		{"services", func(f Figures) Figure { return f.Services }, 2},
		{"overview", func(f Figures) Figure { return f.Overview }, 1},
		{"nodes", func(f Figures) Figure { return f.Nodes }, 1},
		{"queues", func(f Figures) Figure { return f.Queues }, 1},
		{"alarms", func(f Figures) Figure { return f.Alarms.Figure }, 1},
		{"partitions", func(f Figures) Figure { return f.Partitions }, 1},
		{"canary", func(f Figures) Figure { return f.Canary }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fresh := tt.fig(snap.Figures(at(0).Add(time.Second)))
			if fresh.Known != KnownNow || fresh.Value != tt.value {
				t.Errorf("just read: %+v, want current %d", fresh, tt.value)
			}
			old := at(0).Add(canaryStaleAfter + time.Minute) // beyond every bound
			stale := tt.fig(snap.Figures(old))
			if stale.Known != KnownStale || stale.At.IsZero() || stale.At.After(at(0).Add(time.Second)) || stale.Age(old) < time.Minute {
				t.Errorf("a minute on: %+v, want stale with the time it describes", stale)
			}
			if never := tt.fig(NewStore(DefaultConfig()).Snapshot().Figures(old)); never.Known != KnownNot || never.Value != 0 {
				t.Errorf("never read: %+v, want unknown", never)
			}
		})
	}
}

// TestAlarmsFromEveryPath: the canary's connection.blocked counts as an
// alarm while the management API fails (the demo's memory alarm read
// "alarms 0"); the alarm stops when a newer reading says it cleared; a
// node list newer than the canary decides; stale evidence is not current.
func TestAlarmsFromEveryPath(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(brokerPoll(0, sources.Node{Name: "rabbit@a", Running: true}))
	failed := sources.Batch{Source: sources.NameRabbitMQ, At: at(3), Health: sources.Health{Err: "timed out", Interval: poll}}
	s.Apply(failed)
	blockedAt := at(3).Add(time.Second)
	snap := s.Apply(canaryBatch(blockedAt, sources.ProbeBlocked, "connection.blocked: low on memory (memory alarm on rabbit@a)"))
	a := snap.Figures(blockedAt.Add(2 * time.Second)).Alarms
	if a.Known != KnownNow || a.Value != 1 || a.Alarms[0] != (Alarm{Node: "rabbit@a", Kind: "memory", Via: "canary", At: blockedAt.Add(5 * time.Millisecond)}) {
		t.Fatalf("blocked canary, management failing: %+v, want the memory alarm on rabbit@a from the canary", a)
	}
	if len(a.Undecided) != 1 || a.Undecided[0] != "disk" {
		t.Errorf("blocked for memory, node list stale: undecided %v, want disk", a.Undecided)
	}
	if n := snap.Figures(blockedAt.Add(2 * time.Second)).Nodes; n.Known != KnownStale {
		t.Errorf("node list 4 polls old: %+v, want stale", n)
	}

	// RabbitMQ's own reason names no node.
	snap = s.Apply(canaryBatch(blockedAt.Add(5*time.Second), sources.ProbeBlocked, "connection.blocked: low on disk"))
	a = snap.Figures(blockedAt.Add(6 * time.Second)).Alarms
	if a.Value != 1 || a.Alarms[0].Kind != "disk" || a.Alarms[0].Node != "" {
		t.Errorf("blocked for disk: %+v", a)
	}

	// The canary answers again: the alarm cleared.
	clearAt := blockedAt.Add(10 * time.Second)
	snap = s.Apply(canaryBatch(clearAt, sources.ProbeOK, ""))
	if a := snap.Figures(clearAt.Add(time.Second)).Alarms; a.Known != KnownNow || a.Value != 0 {
		t.Errorf("canary answering: %+v, want 0 alarms, current", a)
	}

	// A node list newer than the canary's answer shows an alarm: it counts.
	snap = s.Apply(brokerPoll(5, sources.Node{Name: "rabbit@a", Running: true, MemAlarm: true}))
	if a := snap.Figures(at(5)).Alarms; a.Value != 1 || a.Alarms[0].Via != "management" {
		t.Errorf("node list raising after the canary answered: %+v", a)
	}

	// Nothing new for minutes: unknown, the last known said with its time.
	later := at(5).Add(5 * time.Minute)
	if a := snap.Figures(later).Alarms; a.Known != KnownStale || a.Value != 1 || !a.At.Equal(at(5)) {
		t.Errorf("5 minutes without news: %+v, want stale, last known 1 at %v", a, at(5))
	}
}

// TestSlowPollIsAsOldAsItsRequests: a node list read by a slow poll
// describes the time its requests began; a canary blocked after that
// request, before the poll completed, is the newer evidence and counts (the
// demo's header read "canary BLOCKED · alarms 0").
func TestSlowPollIsAsOldAsItsRequests(t *testing.T) {
	s := NewStore(DefaultConfig())
	blocked := at(1).Add(-2 * time.Second)
	s.Apply(canaryBatch(blocked, sources.ProbeBlocked, "connection.blocked: low on memory"))
	slow := brokerPoll(1, sources.Node{Name: "rabbit@a", Running: true}) // read before the alarm
	slow.Health.Latency = 3 * time.Second
	snap := s.Apply(slow)
	if got, want := snap.Read.Nodes.At, at(1).Add(-3*time.Second); !got.Equal(want) {
		t.Errorf("node list read at %v, want %v (the poll's start)", got, want)
	}
	// Stale as its source is: twice the interval after the poll completed.
	if n := snap.Figures(at(1).Add(2 * poll)).Nodes; n.Known != KnownNow || n.Age(at(1).Add(2*poll)) != 2*poll+3*time.Second {
		t.Errorf("two intervals after the slow poll: %+v, want current, %v old", n, 2*poll+3*time.Second)
	}
	if n := snap.Figures(at(1).Add(2*poll + time.Second)).Nodes; n.Known != KnownStale {
		t.Errorf("past two intervals: %+v, want stale", n)
	}
	if a := snap.Figures(at(1)).Alarms; a.Value != 1 || a.Alarms[0].Via != "canary" {
		t.Errorf("canary blocked after the slow poll's request: %+v, want its alarm", a)
	}
}

// TestCanaryTimeoutSaysNothingOfAlarms: a timed-out canary neither raises
// nor clears an alarm; with the node list stale the alarms are unknown.
func TestCanaryTimeoutSaysNothingOfAlarms(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(brokerPoll(0, sources.Node{Name: "rabbit@a", Running: true}))
	s.Apply(canaryBatch(at(0), sources.ProbeOK, ""))
	late := at(4)
	snap := s.Apply(canaryBatch(late, sources.ProbeTimeout, "no reply within 5s"))
	if a := snap.Figures(late.Add(time.Second)).Alarms; a.Known != KnownStale {
		t.Errorf("node list stale, canary timing out: %+v, want unknown (stale)", a)
	}
}

func TestBlockedAlarm(t *testing.T) {
	for _, tt := range []struct {
		detail     string
		kind, node string
	}{
		{"connection.blocked: low on memory", "memory", ""},
		{"connection.blocked: low on disk", "disk", ""},
		{"connection.blocked", "resource", ""},
		{"connection.blocked: low on memory (memory alarm on rabbit@mq-1)", "memory", "rabbit@mq-1"},
		{"connection.blocked: low on memory (memory alarm on two words)", "memory", ""},
	} {
		a := blockedAlarm(sources.Probe{Detail: tt.detail})
		if a.Kind != tt.kind || a.Node != tt.node || a.Via != "canary" {
			t.Errorf("%q: %+v, want %s on %q", tt.detail, a, tt.kind, tt.node)
		}
	}
}

// TestSilenceUnproven: a host's silence proves nothing while the heartbeat
// feed fails or while a resource alarm blocks every publisher (known now,
// or last known raised); with the feed healthy and no alarm it does.
func TestSilenceUnproven(t *testing.T) {
	node := sources.Node{Name: "rabbit@a", Running: true}
	alarmed := node
	alarmed.MemAlarm = true
	feedDown := sources.Batch{Source: sources.NameHeartbeat, At: at(1), Health: sources.Health{Err: "connection refused", Interval: 2 * time.Second}}
	tests := []struct {
		name    string
		batches []sources.Batch
		now     time.Time
		want    string
	}{
		{"feed healthy, no alarm", []sources.Batch{canaryBatch(at(1), sources.ProbeOK, ""), brokerPoll(1, node)}, at(1), ""},
		{"feed failing", []sources.Batch{canaryBatch(at(0), sources.ProbeOK, ""), brokerPoll(1, node), feedDown}, at(1), "heartbeat feed failing"},
		{"memory alarm on the node list", []sources.Batch{canaryBatch(at(1).Add(-time.Second), sources.ProbeOK, ""), brokerPoll(1, alarmed)}, at(1), "broker blocks publishers: memory alarm"},
		{"alarm from the canary alone", []sources.Batch{canaryBatch(at(1), sources.ProbeBlocked, "connection.blocked: low on disk")}, at(1).Add(time.Second), "broker blocks publishers: disk alarm"},
		{"alarm cleared: the canary answers", []sources.Batch{canaryBatch(at(1), sources.ProbeBlocked, "connection.blocked: low on disk"), canaryBatch(at(2), sources.ProbeOK, "")}, at(2).Add(time.Second), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(DefaultConfig())
			var snap *Snapshot
			for _, b := range tt.batches {
				snap = s.Apply(b)
			}
			if got := snap.SilenceUnproven(tt.now); got != tt.want {
				t.Errorf("SilenceUnproven = %q, want %q", got, tt.want)
			}
		})
	}
}
