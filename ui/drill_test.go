package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// TestDrillKeys: the keys added for issue 6 (drill-downs, the verdict and
// canary views, the time jump, alt+esc) through Update.
func TestDrillKeys(t *testing.T) {
	screen := func(m Model) string { return ansi.Strip(m.Render()) }
	tests := []struct {
		name  string
		keys  []string
		check func(t *testing.T, m Model)
	}{
		{"v opens the verdict", []string{"v"}, func(t *testing.T, m Model) {
			if _, ok := m.detail().(*verdictDetail); !ok || !strings.Contains(screen(m), "evidence (5)") {
				t.Fatalf("no verdict detail:\n%s", screen(m))
			}
		}},
		{"v twice does not stack", []string{"v", "v"}, func(t *testing.T, m Model) {
			if len(m.details) != 1 {
				t.Fatalf("%d deep", len(m.details))
			}
		}},
		{"v from a drill-down stacks, esc returns", []string{"enter", "v", "esc"}, func(t *testing.T, m Model) {
			if _, ok := m.detail().(*serviceDetail); !ok || len(m.details) != 1 {
				t.Fatalf("top %T, %d deep", m.detail(), len(m.details))
			}
		}},
		{"c opens the canary", []string{"c"}, func(t *testing.T, m Model) {
			if _, ok := m.detail().(*canaryDetail); !ok || !strings.Contains(screen(m), "failures (newest first): 4") {
				t.Fatalf("no canary detail:\n%s", screen(m))
			}
		}},
		{"enter on a node", []string{"4", "enter"}, func(t *testing.T, m Model) {
			d, ok := m.detail().(*nodeDetail)
			if !ok || d.name != "rabbit@ctl-1" || !strings.Contains(screen(m), "ALARM MEMORY") {
				t.Fatalf("no node detail:\n%s", screen(m))
			}
		}},
		{"node detail lists its restarts", []string{"4", "j", "enter"}, func(t *testing.T, m Model) {
			if !strings.Contains(screen(m), "uptime went from 40d02h to 12s") {
				t.Fatalf("restart missing:\n%s", screen(m))
			}
		}},
		{"broker problems only", []string{"4", "f"}, func(t *testing.T, m Model) {
			if n, total := m.tabs[tabBroker].Matches(); n != 1 || total != 3 {
				t.Fatalf("%d/%d nodes: only ctl-1 (alarm, fds, sockets) is trouble", n, total)
			}
		}},
		{"broker sort by trouble", []string{"4", "G", "s"}, func(t *testing.T, m Model) {
			wantRow(t, m, "rabbit@ctl-3") // the cursor follows its node
			m = press(m, "g")
			wantRow(t, m, "rabbit@ctl-1")
		}},
		{"broker filter", []string{"4", "/", "c", "t", "l", "-", "2", "enter"}, func(t *testing.T, m Model) {
			if n, _ := m.tabs[tabBroker].Matches(); n != 1 {
				t.Fatalf("%d nodes", n)
			}
			wantRow(t, m, "rabbit@ctl-2")
		}},
		{"alt+esc is back", []string{"enter", "alt+esc"}, func(t *testing.T, m Model) {
			if m.detail() != nil {
				t.Fatal("alt+esc did not close the drill-down")
			}
		}},
		{"alt+esc clears the filter", []string{"/", "c", "t", "l", "alt+esc"}, func(t *testing.T, m Model) {
			if m.filtering || m.filters[tabServices] != "" {
				t.Fatal("alt+esc did not clear the filter")
			}
		}},
		{"t only in the restarts pane when live", []string{"t"}, func(t *testing.T, m Model) {
			if m.jumping {
				t.Fatal("t opened the time field on the services pane")
			}
		}},
		{"t opens the time field", []string{"3", "t", "0", "3", ":", "1"}, func(t *testing.T, m Model) {
			if !m.jumping || m.jump.Value() != "03:1" || !strings.Contains(lastLine(m), "jump to 03:1") {
				t.Fatalf("jumping %v value %q footer %q", m.jumping, m.jump.Value(), lastLine(m))
			}
		}},
		{"the time field drops bidi controls and invisible characters", []string{"3", "t", "\u202e", "0", "3", "\u200c", ":", "1", "\u2066"}, func(t *testing.T, m Model) {
			if m.jump.Value() != "03:1" || strings.ContainsAny(screen(m), "\u202e\u200c\u2066") {
				t.Fatalf("value %q, footer %q", m.jump.Value(), lastLine(m))
			}
		}},
		{"jump lands at or before the time", []string{"3", "t", "0", "3", ":", "1", "0", ":", "3", "0", "enter"}, func(t *testing.T, m Model) {
			// 03:10:30 falls between compute-015 (03:10:50) and compute-023 (03:10:25).
			wantRow(t, m, "compute-023")
			if m.jumping || !strings.Contains(screen(m), "at or before 03:10:30") {
				t.Fatalf("no jump note:\n%s", screen(m))
			}
		}},
		{"jump to an exact entry", []string{"3", "t", "0", "3", ":", "1", "0", ":", "5", "0", "enter"}, func(t *testing.T, m Model) {
			wantRow(t, m, "compute-015")
		}},
		{"jump before everything lands on the oldest", []string{"3", "t", "0", "1", ":", "0", "0", "enter"}, func(t *testing.T, m Model) {
			wantRow(t, m, "lists 46")
			if !strings.Contains(screen(m), "none before 01:00:00") {
				t.Fatalf("no note:\n%s", screen(m))
			}
		}},
		{"jump after the newest lands on it", []string{"3", "G", "t", "0", "3", ":", "1", "2", "enter"}, func(t *testing.T, m Model) {
			wantRow(t, m, "broker canary")
		}},
		{"a bad time keeps the field open", []string{"3", "t", "2", "5", ":", "0", "0", "enter"}, func(t *testing.T, m Model) {
			if !m.jumping || !strings.Contains(lastLine(m), "not a time") {
				t.Fatalf("footer %q", lastLine(m))
			}
		}},
		{"esc cancels the jump", []string{"3", "j", "j", "t", "0", "1", ":", "0", "0", "esc"}, func(t *testing.T, m Model) {
			if m.jumping {
				t.Fatal("still jumping")
			}
			wantRow(t, m, "compute-015")
		}},
		{"moving clears the jump note", []string{"3", "t", "0", "3", ":", "1", "0", "enter", "k"}, func(t *testing.T, m Model) {
			if strings.Contains(screen(m), "at or before") {
				t.Fatal("note stayed")
			}
		}},
		{"n does nothing live", []string{"n"}, func(t *testing.T, m Model) {
			if m.detail() != nil || m.active != tabServices {
				t.Fatal("n did something")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, press(newTestModel(incident(), 80, 24, false), tt.keys...))
		})
	}
}

// TestReplayHooks: Step and Seek are called from commands, their keys show
// in the help only when set, and a seek re-jumps the timeline when the next
// snapshot arrives.
func TestReplayHooks(t *testing.T) {
	live := newTestModel(incident(), 160, 48, false)
	if help := ansi.Strip(press(live, "?").Render()); strings.Contains(help, "next batch") || strings.Contains(help, "seek") {
		t.Fatalf("live help shows replay keys:\n%s", help)
	}

	steps := 0
	var seeks []time.Time
	m := New(Options{Initial: incident(), Now: func() time.Time { return fixedNow },
		Step: func() { steps++ }, Seek: func(t time.Time) { seeks = append(seeks, t) }})
	m = update(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	if help := ansi.Strip(press(m, "?").Render()); !strings.Contains(help, "next batch") || !strings.Contains(help, "seek to time") {
		t.Fatalf("replay help lacks n and t:\n%s", help)
	}
	if !strings.Contains(lastLine(m), "n next batch") {
		t.Fatalf("footer %q", lastLine(m))
	}

	// n: the Step call is in the returned command, not in Update.
	next, cmd := m.Update(keyMsg("n"))
	m = next.(Model)
	if steps != 0 || cmd == nil {
		t.Fatalf("steps %d before the command ran", steps)
	}
	cmd()
	if steps != 1 {
		t.Fatalf("steps %d", steps)
	}

	// t works from any pane in replay and seeks.
	m = press(m, "t", "0", "3", ":", "1", "0", ":", "3", "0")
	next, cmd = m.Update(keyMsg("enter"))
	m = next.(Model)
	if len(seeks) != 0 || cmd == nil {
		t.Fatal("seek ran inside Update")
	}
	cmd()
	want := time.Date(2025, 3, 14, 3, 10, 30, 0, time.UTC)
	if len(seeks) != 1 || !seeks[0].Equal(want) {
		t.Fatalf("seeks %v", seeks)
	}

	// The replay's next snapshot is the state at 03:10:30: the timeline jumps again.
	at := incident()
	at.Seq++
	at.Restarts = at.Restarts[2:] // as it stood then
	m = update(m, SnapshotMsg{Snapshot: at})
	m = press(m, "3")
	wantRow(t, m, "compute-023")

	// Live, a time later than the clock is yesterday's; in a replay, whose
	// seek may go ahead of its clock, it is the nearest occurrence.
	for _, tc := range []struct {
		in    string
		ahead bool
		want  time.Time
	}{
		{"03:30", false, fixedNow.Add(18*time.Minute - 24*time.Hour)},
		{"03:30", true, fixedNow.Add(18 * time.Minute)},
		{"03:00", false, fixedNow.Add(-12 * time.Minute)},
		{"03:00", true, fixedNow.Add(-12 * time.Minute)},
		{"23:00", true, time.Date(fixedNow.Year(), fixedNow.Month(), fixedNow.Day()-1, 23, 0, 0, 0, fixedNow.Location())},
		{"15:00", true, time.Date(fixedNow.Year(), fixedNow.Month(), fixedNow.Day(), 15, 0, 0, 0, fixedNow.Location())},   // 11h48m ahead
		{"16:00", true, time.Date(fixedNow.Year(), fixedNow.Month(), fixedNow.Day()-1, 16, 0, 0, 0, fixedNow.Location())}, // 11h12m behind, not 12h48m ahead
	} {
		got, err := format.ParseClock(tc.in, fixedNow, tc.ahead)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s (ahead %v) at %v: %v %v, want %v", tc.in, tc.ahead, fixedNow, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "3", "24:00", "03:60", "03:10:61", "a:b", "1:2:3:4", "003:10"} {
		if _, err := format.ParseClock(bad, fixedNow, false); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestNodeDetailPartitionsAndDown: a partitioned node that is not running.
func TestNodeDetailPartitionsAndDown(t *testing.T) {
	s := incident()
	s.Nodes[1].Running = false
	s.Nodes[1].Partitions = []string{"rabbit@ctl-1", "rabbit@ctl-3"}
	s.Nodes[1].DiskAlarm = true
	s.Nodes[1].DiskFree = 10 << 20
	s.Read.Nodes.At = ago(2 * time.Second) // a fresh node list: its figures are current
	m := press(newTestModel(s, 100, 40, true), "4", "j", "enter")
	out := ansi.Strip(m.Render())
	for _, want := range []string{"NOT RUNNING", "PARTITIONED", "rabbit@ctl-3", "ALARM DISK", "disk free  10M, under the 50M limit"} {
		if !strings.Contains(out, want) {
			t.Errorf("node detail lacks %q:\n%s", want, out)
		}
	}
	m = press(newTestModel(s, 160, 40, true), "4")
	if !strings.Contains(currentRow(press(m, "j")), "DOWN") || !strings.Contains(ansi.Strip(m.Render()), "2 rabbit@ctl-1,rabbit@ctl-3") {
		t.Errorf("broker pane:\n%s", ansi.Strip(m.Render()))
	}
}

// TestVerdictEvidenceSources: "source: text" pieces are split, others kept whole.
func TestVerdictEvidenceSources(t *testing.T) {
	for _, tt := range []struct{ in, src, text string }{
		{"nova: 6 flapping", "nova", "6 flapping"},
		{"no source here", "", "no source here"},
		{"two words: not a source", "", "two words: not a source"},
		{"rabbitmq: alarm: memory", "rabbitmq", "alarm: memory"},
	} {
		src, text, _ := evidenceSource(tt.in)
		if src != tt.src || text != tt.text {
			t.Errorf("%q: %q %q", tt.in, src, text)
		}
	}
	s := incident()
	s.Verdict.Findings = nil // only the strings: split at the source
	if out := ansi.Strip(press(newTestModel(s, 80, 24, true), "v").Render()); !strings.Contains(out, "• rabbitmq") || !strings.Contains(out, "  memory alarm on rabbit@ctl-1") {
		t.Errorf("evidence strings:\n%s", out)
	}
	s.Verdict.Evidence = nil
	if out := ansi.Strip(press(newTestModel(s, 80, 24, true), "v").Render()); !strings.Contains(out, "none given") {
		t.Errorf("empty evidence:\n%s", out)
	}
	s = incident()
	s.Canary = state.ProbeSeries{}
	s.Nodes = nil
	s.Verdict = state.Verdict{Inputs: s.Verdict.Inputs} // what the rules saw, not recomputed
	out := ansi.Strip(press(newTestModel(s, 80, 24, true), "v").Render())
	for _, want := range []string{"no verdict: no rule fired", "signals    broker alarms (now): mem alarm on", "hosts      compute-011: nova-compute down"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if out := ansi.Strip(press(newTestModel(s, 80, 24, true), "c").Render()); !strings.Contains(out, "no probe yet") {
		t.Errorf("empty canary:\n%s", out)
	}
	s.Canary.History = []sources.Probe{{Kind: sources.ProbeCanary, At: fixedNow, RTT: time.Millisecond, Result: sources.ProbeOK}}
	checkFrame(t, ansi.Strip(press(newTestModel(s, 80, 24, true), "c").Render()), 80, 24)
}

// TestTimelineDrill: enter on an event opens what shows its evidence.
func TestTimelineDrill(t *testing.T) {
	down := func(n int) []string {
		keys := []string{"3"}
		for range n {
			keys = append(keys, "j")
		}
		return append(keys, "enter")
	}
	tests := []struct {
		name string
		keys []string
		want func(p pane) bool
		text string
	}{
		{"canary → the canary view", down(0), func(p pane) bool { _, ok := p.(*canaryDetail); return ok }, ""},
		{"service transition → its drill-down", down(1), func(p pane) bool { _, ok := p.(*serviceDetail); return ok }, "nova-compute on compute-003"},
		{"restart → the restart view", down(2), func(p pane) bool { _, ok := p.(*restartDetail); return ok }, "pid 4015 → 9915"},
		{"heartbeats lost → the host's service", down(3), func(p pane) bool { _, ok := p.(*serviceDetail); return ok }, "compute-011"},
		{"verdict change → the verdict view", down(5), func(p pane) bool { _, ok := p.(*verdictDetail); return ok }, ""},
		{"reboot → the restart view", down(8), func(p pane) bool { _, ok := p.(*restartDetail); return ok }, "boot id b00t"},
		{"alarm → the node view", down(7), func(p pane) bool { _, ok := p.(*nodeDetail); return ok }, "rabbit@ctl-1"},
		{"grouped transition → every host with its time", down(9), func(p pane) bool { _, ok := p.(*groupDetail); return ok }, "03:00:20 11m40s compute-023"},
		{"a grouped host → its service", append(down(9), "G", "enter"), func(p pane) bool { d, ok := p.(*serviceDetail); return ok && d.key.Host == "compute-023" }, "compute-023"},
		{"a source failing → the event in full", down(4), func(p pane) bool { _, ok := p.(*eventDoc); return ok }, "GET /api/queues: context deadline exceeded (last success 03:10:25)"},
		{"a start → the event in full", down(12), func(p pane) bool { _, ok := p.(*eventDoc); return ok }, "lists 46 services: 46 up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(incident(), 160, 48, true), tt.keys...)
			d := m.detail()
			if !tt.want(d) {
				t.Fatalf("opened %T", d)
			}
			if tt.text != "" && !strings.Contains(ansi.Strip(m.Render()), tt.text) {
				t.Fatalf("no %q in\n%s", tt.text, ansi.Strip(m.Render()))
			}
		})
	}
}

// TestTimelineProblemsAndFilter: f hides recoveries and starts; / matches
// hosts of grouped events, kinds and evidence.
func TestTimelineProblemsAndFilter(t *testing.T) {
	m := press(newTestModel(incident(), 160, 48, true), "3", "f")
	if n, total := m.tabs[tabTimeline].Matches(); n != 11 || total != 13 {
		t.Errorf("problems only: %d/%d rows, want 11/13", n, total)
	}
	if s := ansi.Strip(m.Render()); strings.Contains(s, "nova-compute up") || strings.Contains(s, "lists 46") || !strings.Contains(s, "problems only") {
		t.Errorf("problems only shows a recovery or a start:\n%s", s)
	}
	for _, tt := range []struct {
		filter string
		want   int
	}{{"compute-007", 1}, {"restart", 5}, {"heartbeat", 6}, {"deadline", 1}} {
		m := press(newTestModel(incident(), 160, 48, true), append([]string{"3", "/"}, append(strings.Split(tt.filter, ""), "enter")...)...)
		if n, _ := m.tabs[tabTimeline].Matches(); n != tt.want {
			t.Errorf("filter %q: %d rows, want %d", tt.filter, n, tt.want)
		}
	}
}
