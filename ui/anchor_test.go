package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
)

// clockModel is a test model whose clock the test moves.
func clockModel(snap *state.Snapshot, w, h int, clk *time.Time) Model {
	m := New(Options{Initial: snap, Now: func() time.Time { return *clk }, Cloud: "prod-east"})
	return update(m, tea.WindowSizeMsg{Width: w, Height: h})
}

// later moves the sources' polls on to at, as if they went on succeeding.
func later(s *state.Snapshot, at time.Time) {
	d := at.Sub(fixedNow)
	s.At, s.Seq = at, s.Seq+1
	s.Sources = slices.Clone(s.Sources)
	for i := range s.Sources {
		s.Sources[i].LastAttempt = s.Sources[i].LastAttempt.Add(d)
		s.Sources[i].LastSuccess = s.Sources[i].LastSuccess.Add(d)
	}
	s.Read.Services.At, s.Read.Overview.At, s.Read.Nodes.At, s.Read.Queues.At = s.Read.Services.At.Add(d), s.Read.Overview.At.Add(d), s.Read.Nodes.At.Add(d), s.Read.Queues.At.Add(d)
	s.Canary.History = slices.Clone(s.Canary.History)
	for i := range s.Canary.History {
		s.Canary.History[i].At = s.Canary.History[i].At.Add(d)
	}
}

// withConductorPeak is the incident a poll later: the conductor queue's
// backlog now the largest.
func withConductorPeak(at time.Time) *state.Snapshot {
	s := incident()
	later(s, at)
	s.Queues = slices.Clone(s.Queues)
	for i := range s.Queues {
		if s.Queues[i].Key.Name == "conductor" {
			s.Queues[i].Messages, s.Queues[i].GrowthPerMin = 562_000, 1140
		}
	}
	return s
}

// TestQueuesResorted: a pane re-sorted by new data shows the top of its
// sort (the worst) unless the user moved its cursor within the last minute;
// then the cursor stays on the queue it was on.
func TestQueuesResorted(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration // from the user's last move to the new snapshot
		want  string        // the queue under the cursor
	}{
		{"moved two minutes ago: the worst on top", 2 * time.Minute, "conductor"},
		{"moved 30s ago: the cursor stays on its queue", 30 * time.Second, "compute.compute-023"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fixedNow
			m := press(clockModel(incident(), 80, 24, &clk), "2", "j", "j", "j")
			wantRow(t, m, "compute.compute-023")
			clk = clk.Add(tt.after)
			m = update(m, SnapshotMsg{Snapshot: withConductorPeak(clk)})
			wantRow(t, m, tt.want)
			if tt.after > anchorHold {
				got := ansi.Strip(m.Render())
				checkGolden(t, "queues-resorted_80x24", got)
				checkFrame(t, got, 80, 24)
			}
		})
	}
}

// TestEnterPaneShowsTop: coming back to a pane after a minute shows the top
// of its sort; within the minute, where the user left it.
func TestEnterPaneShowsTop(t *testing.T) {
	for _, tt := range []struct {
		away time.Duration
		want string
	}{{2 * time.Minute, "reply_5d2f"}, {20 * time.Second, "compute.compute-023"}} {
		clk := fixedNow
		m := press(clockModel(incident(), 80, 24, &clk), "2", "j", "j", "j", "1")
		clk = clk.Add(tt.away)
		next, _ := m.Update(tickMsg(clk)) // not its command: a timer
		m = next.(Model)
		m = press(m, "2")
		wantRow(t, m, tt.want)
	}
}

// arrivals is the incident with n newer events on top of the timeline.
func arrivals(n int, at time.Time) *state.Snapshot {
	s := incident()
	later(s, at)
	var add []state.Event
	for i := n; i >= 1; i-- {
		add = append(add, state.Event{At: at.Add(-time.Duration(i) * time.Second), Kind: state.EventCanary, Level: state.LevelProblem,
			Subject: "broker canary", Change: "failing", Evidence: "timeout after 5s", Source: "heartbeat", ID: uint64(100 + n - i + 1)})
	}
	slices.Reverse(add) // newest first
	s.Timeline = append(add, s.Timeline...)
	return s
}

// TestTimelineCursorAnchored: events arriving above the cursor do not move it
// off its event; the presses of j reach the same event as without them, and
// enter opens that event.
// (Nine presses: the tenth row, the grouped down.)
func TestTimelineCursorAnchored(t *testing.T) {
	clk := fixedNow
	still := press(clockModel(incident(), 160, 48, &clk), "3")
	still = press(still, strings.Split(strings.Repeat("j", 9), "")...)
	want := currentRow(still)
	if !strings.Contains(want, "nova-compute down ×6") {
		t.Fatalf("the tenth event is %q", want)
	}

	m := press(clockModel(incident(), 160, 48, &clk), "3", "j", "j", "j", "j", "j")
	clk = clk.Add(5 * time.Second)
	m = update(m, SnapshotMsg{Snapshot: arrivals(3, clk)})
	m = press(m, "j", "j", "j", "j")
	got := ansi.Strip(m.Render())
	if r := currentRow(m); !strings.Contains(r, "03:00:00") || !strings.Contains(r, "down ×6") { // its age moved on with the clock
		t.Fatalf("after arrivals the cursor is on %q, want %q", currentRow(m), want)
	}
	checkGolden(t, "timeline-anchored_160x48", got)
	checkFrame(t, got, 160, 48)
	m = press(m, "enter")
	if d, ok := m.detail().(*groupDetail); !ok || d.event().ID != 4 {
		t.Fatalf("enter opened %T", m.detail())
	}
}

// TestTimelineWidths: the timeline's columns take the width there is. At
// 250 columns the grouped event names four of its hosts whole; at 80 the
// evidence is not a sliver; the selected row reads whole (every host, the
// whole evidence) on the preview line under the table.
func TestTimelineWidths(t *testing.T) {
	tests := []struct {
		name         string
		w, h         int
		keys         []string
		row, preview string
	}{
		{"timeline_250x70", 250, 70, []string{"3"}, "compute-003, compute-007, compute-011, compute-015 +2", "03:11:30 canary · broker canary failing — timeout after 5s"},
		{"timeline-preview_80x24", 80, 24, []string{"3", "j", "j", "j", "j", "j"}, "BROKER: 6 service",
			"03:10:32 verdict · verdict: BROKER: 6 services flapping on 6 hosts while rabbit"},
		{"timeline-preview-group_160x48", 160, 48, []string{"3", "G", "k", "k", "k"}, "compute-003 +5",
			"nova-compute down on 6 hosts: compute-003, compute-007, compute-011, compute-015, compute-019, compute-023 (over 20s) — Nova: state down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(incident(), tt.w, tt.h, false), tt.keys...)
			got := ansi.Strip(m.Render())
			checkGolden(t, tt.name, got)
			checkFrame(t, got, tt.w, tt.h)
			if !strings.Contains(got, tt.row) {
				t.Errorf("no row with %q", tt.row)
			}
			lines := strings.Split(got, "\n")
			if p := lines[len(lines)-2]; !strings.Contains(p, tt.preview) {
				t.Errorf("preview line %q, want %q", p, tt.preview)
			}
		})
	}
}

// TestTimelineWidthsFromRowsShown: the columns are sized to the rows on
// screen. One long event far down the list (in the demo, a verdict's what
// of about 100 characters) took 100 columns of what at 250 while the rows
// shown needed 30 and their evidence was cut.
func TestTimelineWidthsFromRowsShown(t *testing.T) {
	snap := incident()
	snap.Timeline = slices.Clone(snap.Timeline)
	evidence := "pid 4015 → 9915, started 03:10:50; " + strings.Repeat("the whole evidence of the first row, ", 2) + "end"
	snap.Timeline[0].Evidence = evidence // the newest: the top row
	long := snap.Timeline[len(snap.Timeline)-1]
	long.At, long.ID = long.At.Add(-time.Hour), 9999
	long.Change = strings.Repeat("a what far longer than any shown ", 5)
	for i := range 30 { // pushes the long event off the screen
		e := snap.Timeline[len(snap.Timeline)-1]
		e.At, e.ID = e.At.Add(-time.Duration(i+1)*time.Second), uint64(5000+i)
		snap.Timeline = append(snap.Timeline, e)
	}
	snap.Timeline = append(snap.Timeline, long)
	m := press(newTestModel(snap, 250, 24, true), "3")
	got := ansi.Strip(m.Render())
	checkFrame(t, got, 250, 24)
	if strings.Contains(got, "a what far longer") {
		t.Fatalf("the long event is on screen; the test needs it below:\n%s", got)
	}
	row := func(screen, prefix string) string { // the table's row, not the preview line under it
		for l := range strings.SplitSeq(screen, "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		return ""
	}
	if r := row(got, "▸ 03:11:30"); !strings.Contains(r, evidence) {
		t.Errorf("the top row's evidence is cut while the screen has room for it:\n%s", r)
	}
	// Scrolled down to it, the long what reads whole too.
	got = ansi.Strip(press(m, "G").Render())
	if r := row(got, "▸ "); !strings.Contains(r, strings.TrimSpace(long.Change)) {
		t.Errorf("the long what is cut at 250 columns:\n%s", r)
	}
}

// TestGroupDrill: a grouped event's drill-down lists every host of the
// group with its own time.
func TestGroupDrill(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		m := press(newTestModel(incident(), sz[0], sz[1], false), "3", "G", "k", "k", "k", "enter")
		got := ansi.Strip(m.Render())
		checkGolden(t, fmt.Sprintf("detail-group_%dx%d", sz[0], sz[1]), got)
		checkFrame(t, got, sz[0], sz[1])
		for k, h := range []string{"compute-003", "compute-007", "compute-011", "compute-015", "compute-019", "compute-023"} {
			if want := fmt.Sprintf("03:00:%02d", 4*k) + " "; !strings.Contains(got, want) || !strings.Contains(got, h) {
				t.Errorf("%dx%d: no %s at %s in\n%s", sz[0], sz[1], h, want, got)
			}
		}
	}
}
