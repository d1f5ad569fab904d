package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

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
		name      string
		snap      *state.Snapshot
		width     int
		keys      []string
		lines     int      // header lines
		whole     []string // must appear unbroken on one line
		cutErrors int      // error texts shortened with an ellipsis
	}{
		{"incident at 80", incident(), 80, nil, 5,
			[]string{"ALARMS 1", "canary TIMEOUT 5.0s (4 failed)", "heartbeat ok 1s", "nova ok 4s", "rabbitmq STALE 1m35s", "6× GET /api/queues"}, 1},
		{"incident at 160", incident(), 160, nil, 3,
			[]string{"canary TIMEOUT 5.0s (4 failed) · partitions 0", "6× GET /api/queues: context deadline exceeded",
				"⚠ BROKER: 6 services flapping on 6 hosts while rabbit@ctl-1 has a memory alarm and the canary times out"}, 0},
		{"two failing sources at 80", longErrs(), 80, nil, 6,
			[]string{"nova STALE 3m00s", "12× GET /os-services", "rabbitmq STALE 1m35s", "6× GET /api/queues: context deadline exceeded"}, 1},
		{"paused at 80", incident(), 80, []string{"p"}, 5, []string{"PAUSED", "ALARMS 1", "canary TIMEOUT 5.0s (4 failed)"}, 1},
		{"no verdict at 80", noVerdict(), 80, nil, 3, []string{"canary TIMEOUT 5.0s (4 failed)", "rabbitmq STALE 1m35s"}, 1},
		{"canary not sent at 80", unsent(), 80, nil, 2, []string{"canary ERROR (4 failed)", "rabbitmq STALE 1m35s"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(tt.snap, tt.width, 24, false), tt.keys...)
			head := ansi.Strip(m.header())
			lines := strings.Split(head, "\n")
			if len(lines) != tt.lines || m.headerH != tt.lines {
				t.Errorf("%d header lines (layout thinks %d), want %d:\n%s", len(lines), m.headerH, tt.lines, head)
			}
			cut := 0
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > tt.width {
					t.Errorf("line %q is %d wide", l, w)
				}
				if strings.HasSuffix(l, "…") {
					cut++
				}
			}
			if cut != tt.cutErrors {
				t.Errorf("%d lines cut, want %d (only error texts):\n%s", cut, tt.cutErrors, head)
			}
			for _, w := range tt.whole {
				if !strings.Contains(head, w) {
					t.Errorf("header lacks %q:\n%s", w, head)
				}
			}
			if v := tt.snap.Verdict.Summary; v != "" {
				joined := strings.Join(strings.Fields(head[strings.Index(head, "⚠"):]), " ")
				if !strings.Contains(joined, v) {
					t.Errorf("verdict not whole: %q", joined)
				}
			}
			checkFrame(t, ansi.Strip(m.Render()), tt.width, 24)
		})
	}
}
