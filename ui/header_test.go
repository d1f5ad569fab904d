package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// TestHeaderWraps: at 80 columns nothing important is cut. Trouble items and
// sources wrap, the verdict has its own lines, only error text is shortened.
func TestHeaderWraps(t *testing.T) {
	longErrs := func() *state.Snapshot {
		s := incident()
		s.Sources[1].LastSuccess = ago(3 * time.Minute)
		s.Sources[1].LastErr = "GET /os-services: 503 Service Unavailable from the load balancer in front of nova-api"
		s.Sources[1].Failures = 12
		return s
	}
	noVerdict := func() *state.Snapshot { s := incident(); s.Verdict = state.Verdict{}; return s }
	// The broker refused the canary's connection: nothing was sent, so
	// there is no round trip to show (it read "canary ERROR 0µs").
	unsent := func() *state.Snapshot {
		s := noVerdict()
		h := slices.Clone(s.Canary.History)
		h[len(h)-1] = sources.Probe{Kind: sources.ProbeCanary, At: ago(time.Second), Result: sources.ProbeError, Detail: "not connected: connection refused"}
		s.Canary.History = h
		return s
	}
	tests := []struct {
		name  string
		snap  *state.Snapshot
		width int
		keys  []string
		whole []string // must appear unbroken on one line
	}{
		{"incident at 80", incident(), 80, nil,
			[]string{"ALARMS 1? · partitions ? (stale 1m35s)", "canary TIMEOUT 5.0s (4/39 failed)", "heartbeat ok 1s", "nova ok 4s", "rabbitmq STALE 1m35s", "6× GET /api/queues"}},
		{"incident at 160", incident(), 160, nil,
			[]string{"canary TIMEOUT 5.0s (4/39 failed) · ALARMS 1? · partitions ? (stale 1m35s)", "6× GET /api/queues: context deadline exceeded",
				"⚠ BROKER: 6 services flapping on 6 hosts while rabbit@ctl-1 has a memory alarm and the canary times out"}},
		{"two failing sources at 80", longErrs(), 80, nil,
			[]string{"nova STALE 3m00s", "12× GET /os-", "rabbitmq STALE 1m35s"}},
		{"paused at 80", incident(), 80, []string{"p"}, []string{"PAUSED", "ALARMS 1? · partitions ? (stale 1m35s)", "canary TIMEOUT 5.0s (4/39 failed)"}},
		{"no verdict at 80", noVerdict(), 80, nil, []string{"canary TIMEOUT 5.0s (4/39 failed)", "rabbitmq STALE 1m35s", "no verdict"}},
		{"canary not sent at 80", unsent(), 80, nil, []string{"canary ERROR (4/39 failed)", "rabbitmq STALE 1m35s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(tt.snap, tt.width, 24, false), tt.keys...)
			head := ansi.Strip(m.header())
			lines := strings.Split(head, "\n")
			if want := statusLines(tt.width) + 1; len(lines) != want || m.headerH != want {
				t.Errorf("%d header lines (layout thinks %d), want %d:\n%s", len(lines), m.headerH, want, head)
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > tt.width {
					t.Errorf("line %q is %d wide", l, w)
				}
			}
			for _, w := range tt.whole {
				if !strings.Contains(head, w) {
					t.Errorf("header lacks %q:\n%s", w, head)
				}
			}
			if v := tt.snap.Verdict.Summary; v != "" {
				last := lines[len(lines)-1]
				text := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(last, "⚠ "), verdictHint), "…")
				if !strings.HasPrefix(last, "⚠ ") || !strings.HasPrefix(v, text) || len(text) < 40 {
					t.Errorf("verdict line %q, want the start of %q", last, v)
				}
			}
			checkFrame(t, ansi.Strip(m.Render()), tt.width, 24)
		})
	}
}

// TestHeaderHeightStable: the header has one height at a width whatever it
// says (verdict or none, errors or none, paused, no data), so the panes
// below never jump between frames.
func TestHeaderHeightStable(t *testing.T) {
	long := incident()
	long.Sources = slices.Clone(long.Sources)
	for i := range long.Sources {
		long.Sources[i].LastErr = "dial tcp 10.0.0.1:443: connect: connection refused by a very long-winded proxy"
		long.Sources[i].Failures = 3
	}
	quiet := incident()
	quiet.Verdict = state.Verdict{}
	snaps := []*state.Snapshot{incident(), quiet, long, emptySnapshot}
	for _, w := range []int{40, 60, 80, 100, 120, 160, 250} {
		want := -1
		for i, s := range snaps {
			for _, keys := range [][]string{nil, {"p"}} {
				m := press(newTestModel(s, w, 30, false), keys...)
				n := strings.Count(m.header(), "\n") + 1
				if want < 0 {
					want = n
				}
				if n != want || m.headerH != n {
					t.Errorf("width %d, snapshot %d %v: %d header lines (layout %d), want %d:\n%s", w, i, keys, n, m.headerH, want, ansi.Strip(m.header()))
				}
			}
		}
	}
}

// TestSourceStatusWords: a source's status says what is true of it: "ok"
// only when its last poll succeeded, "failing" (not "ok") beside a failure
// while its data is still fresh, STALE or NO DATA when its data is old or
// missing, and BLOCKED, with the broker's reason and no count of batches,
// when the broker refuses what it sends: the source works, its pings are
// blocked (seen in the demo's memory alarm as "rpcping ok 11s 11× broker
// blocks publishers").
func TestSourceStatusWords(t *testing.T) {
	const blockedErr = "broker blocks publishers: low on memory"
	for _, tt := range []struct {
		name      string
		h         state.SourceHealth
		want, not string
	}{
		{"ok", state.SourceHealth{LastSuccess: ago(3 * time.Second)}, "rpcping ok 3s", "failing"},
		{"failing, fresh", state.SourceHealth{LastSuccess: ago(4 * time.Second), LastErr: "rpcping: connection lost: EOF", Kind: sources.FailReset, Failures: 2},
			"rpcping failing 4s 2× rpcping: connection lost: EOF", "ok"},
		{"failing, stale", state.SourceHealth{LastSuccess: ago(45 * time.Second), LastErr: "rpcping: connection lost: EOF", Kind: sources.FailReset, Failures: 9},
			"rpcping STALE 45s 9× rpcping: connection lost: EOF", "ok"},
		{"never", state.SourceHealth{LastErr: "dial tcp: connection refused", Kind: sources.FailRefused, Failures: 3}, "rpcping NO DATA 3×", "ok"},
		{"blocked", state.SourceHealth{LastSuccess: ago(11 * time.Second), LastErr: blockedErr, Kind: sources.FailBlocked, Failures: 11},
			"rpcping BLOCKED " + blockedErr, "×"},
		{"blocked past two intervals", state.SourceHealth{LastSuccess: ago(50 * time.Second), LastErr: blockedErr, Kind: sources.FailBlocked, Failures: 50},
			"rpcping BLOCKED " + blockedErr, "STALE"},
		{"blocked from the start", state.SourceHealth{LastErr: blockedErr, Kind: sources.FailBlocked, Failures: 2},
			"rpcping BLOCKED " + blockedErr, "NO DATA"},
		// A source silent since it said blocked is not news of now: stale, the block its last word.
		{"blocked, then silent", state.SourceHealth{LastSuccess: ago(90 * time.Second), LastErr: blockedErr, Kind: sources.FailBlocked, Failures: 7, LastAttempt: ago(45 * time.Second)},
			"rpcping STALE 1m30s 7× " + blockedErr, "BLOCKED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			h.Name, h.Interval, h.Polls = sources.NameRPCPing, 10*time.Second, 60
			if h.LastAttempt.IsZero() {
				h.LastAttempt = ago(time.Second)
			}
			snap := &state.Snapshot{At: fixedNow, Sources: []state.SourceHealth{h}}
			head := headerText(newTestModel(snap, 160, 48, true))
			if !strings.Contains(head, tt.want) {
				t.Errorf("header lacks %q:\n%s", tt.want, head)
			}
			_, src, _ := strings.Cut(head, "rpcping ")
			if strings.Contains(src, tt.not) {
				t.Errorf("the source reads %q; it must not say %q", src, tt.not)
			}
		})
	}
}

// TestHeaderKeepsEverySource: however many broker items are in trouble and
// however long the names, every source keeps its name and status word on
// the status lines: a source that is STALE must never be cut off the
// header because the broker's items took its line.
func TestHeaderKeepsEverySource(t *testing.T) {
	worst := func() *state.Snapshot {
		s := incident()
		s.Sources = append(slices.Clone(s.Sources), state.SourceHealth{Name: "rpcping", Target: "amqp://rabbit.prod-east:5672",
			Interval: 10 * time.Second, LastAttempt: ago(time.Second), LastSuccess: ago(50 * time.Second), LastErr: "broker blocks publishers", Polls: 9, Failures: 4})
		for i := range s.Sources {
			s.Sources[i].LastSuccess = ago(3 * time.Minute)
			s.Sources[i].LastErr = "dial tcp 10.0.0.1:443: connect: connection refused by a very long-winded proxy"
			s.Sources[i].Failures = 7
		}
		s.Overview = nil
		return s
	}
	for _, w := range []int{40, 60, 80, 100, 120, 160} {
		for _, keys := range [][]string{nil, {"p"}} {
			m := New(Options{Initial: worst(), Now: func() time.Time { return fixedNow }, Cloud: "prod-east-region-one-cloud", Broker: "rabbit@prod-east-cluster-01", Recording: "/var/tmp/incident.jsonl.gz"})
			m = press(update(m, tea.WindowSizeMsg{Width: w, Height: 30}), keys...)
			head := ansi.Strip(m.header())
			for _, src := range []string{"heartbeat STALE", "nova STALE", "rabbitmq STALE", "rpcping STALE"} {
				if !strings.Contains(head, src) {
					t.Errorf("width %d %v: header lacks %q:\n%s", w, keys, src, head)
				}
			}
		}
	}
}
