package ui

import (
	"image/color"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
)

// currentRow is the text of the cursor row of the active pane.
func currentRow(m Model) string {
	for _, l := range strings.Split(ansi.Strip(m.Render()), "\n") {
		if strings.HasPrefix(l, "▸ ") {
			return l
		}
	}
	return ""
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		check func(t *testing.T, m Model)
	}{
		{"starts on services", nil, func(t *testing.T, m Model) {
			if m.active != tabServices || !strings.Contains(currentRow(m), "compute-001") {
				t.Fatalf("active %d row %q", m.active, currentRow(m))
			}
		}},
		{"tab cycles", []string{"tab", "tab"}, func(t *testing.T, m Model) { wantTab(t, m, tabTimeline) }},
		{"tab reaches the broker", []string{"tab", "tab", "tab"}, func(t *testing.T, m Model) { wantTab(t, m, tabBroker) }},
		{"tab wraps", []string{"tab", "tab", "tab", "tab"}, func(t *testing.T, m Model) { wantTab(t, m, tabServices) }},
		{"shift+tab wraps back", []string{"shift+tab"}, func(t *testing.T, m Model) { wantTab(t, m, tabBroker) }},
		{"number keys", []string{"3", "2"}, func(t *testing.T, m Model) { wantTab(t, m, tabQueues) }},
		{"4 is the broker", []string{"4"}, func(t *testing.T, m Model) { wantTab(t, m, tabBroker); wantRow(t, m, "rabbit@ctl-1") }},
		{"j moves down", []string{"j", "j"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-003") }},
		{"down then up", []string{"down", "down", "up"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-002") }},
		{"k at top stays", []string{"k"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-001") }},
		{"G goes to end", []string{"G"}, func(t *testing.T, m Model) { wantRow(t, m, "ctl-3") }},
		{"g goes home", []string{"G", "g"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-001") }},
		{"page down", []string{"pgdown"}, func(t *testing.T, m Model) {
			// A page keeps one row of context: the cursor lands a window's height less one down.
			l := m.tabs[tabServices].(*servicesPane).list
			if l.height < 10 || l.cursor != l.height-1 {
				t.Fatalf("cursor %d with %d rows shown", l.cursor, l.height)
			}
		}},
		{"ctrl+d pages too", []string{"ctrl+d", "pgup"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-001") }},
		{"filter counts live", []string{"/", "0", "1"}, func(t *testing.T, m Model) {
			if !m.filtering || !strings.Contains(ansi.Strip(m.Render()), "11 of 46 match") {
				t.Fatalf("footer: %q", lastLine(m))
			}
		}},
		{"filter narrows more", []string{"/", "0", "1", "5"}, func(t *testing.T, m Model) {
			if !strings.Contains(lastLine(m), "1 of 46 match") {
				t.Fatalf("footer: %q", lastLine(m))
			}
			wantRow(t, m, "compute-015")
		}},
		{"filter backspace", []string{"/", "0", "1", "5", "backspace"}, func(t *testing.T, m Model) {
			if !strings.Contains(lastLine(m), "11 of 46 match") {
				t.Fatalf("footer: %q", lastLine(m))
			}
		}},
		{"filter keeps on enter", []string{"/", "c", "t", "l", "enter"}, func(t *testing.T, m Model) {
			if m.filtering || !strings.Contains(ansi.Strip(m.Render()), `filter "ctl" 6/46`) {
				t.Fatalf("tab line missing filter: %s", ansi.Strip(m.Render()))
			}
		}},
		{"filter typing q does not quit", []string{"/", "q"}, func(t *testing.T, m Model) {
			if m.filter.Value() != "q" {
				t.Fatalf("filter %q", m.filter.Value())
			}
		}},
		{"esc clears filter", []string{"/", "c", "t", "l", "esc"}, func(t *testing.T, m Model) {
			if n, _ := m.tabs[tabServices].Matches(); m.filtering || m.filter.Value() != "" || n != 46 {
				t.Fatalf("filter not cleared")
			}
		}},
		{"esc after enter clears filter", []string{"/", "c", "t", "l", "enter", "esc"}, func(t *testing.T, m Model) {
			if n, _ := m.tabs[tabServices].Matches(); n != 46 {
				t.Fatalf("%d rows", n)
			}
		}},
		{"sort cycles to severity: the worst on top", []string{"s"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-011") }},
		{"a re-sort keeps the service the user moved to", []string{"j", "s"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-002") }},
		{"severity sort puts down first", []string{"s", "g"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-011") }},
		{"sort wraps", []string{"s", "s", "s", "s"}, func(t *testing.T, m Model) {
			if m.tabs[tabServices].(*servicesPane).sort != svcSortGroup {
				t.Fatal("sort did not wrap")
			}
		}},
		{"flap sort", []string{"s", "s", "s", "g"}, func(t *testing.T, m Model) { wantRow(t, m, "compute-023") }},
		{"problems only", []string{"f"}, func(t *testing.T, m Model) {
			if n, _ := m.tabs[tabServices].Matches(); n != 9 {
				t.Fatalf("%d problem services, want 9 (6 flapping, disabled, forced, unknown)", n)
			}
		}},
		{"queue default sort", []string{"2"}, func(t *testing.T, m Model) { wantRow(t, m, "reply_") }},
		{"queue sort by consumers", []string{"2", "s", "s", "s", "g"}, func(t *testing.T, m Model) { wantRow(t, m, "notifications.info") }},
		{"queue problems", []string{"2", "f"}, func(t *testing.T, m Model) {
			if n, _ := m.tabs[tabQueues].Matches(); n != 9 {
				t.Fatalf("%d problem queues, want 9 (reply, notifications, conductor, six compute)", n)
			}
		}},
		{"drill-down and back", []string{"j", "enter"}, func(t *testing.T, m Model) {
			if m.detail() == nil || !strings.Contains(ansi.Strip(m.Render()), "nova-compute on compute-002") {
				t.Fatal("no service detail")
			}
			m = press(m, "esc")
			if m.detail() != nil {
				t.Fatal("esc did not close detail")
			}
			wantRow(t, m, "compute-002")
		}},
		{"restart drill-down", []string{"3", "j", "j", "enter"}, func(t *testing.T, m Model) {
			if _, ok := m.detail().(*restartDetail); !ok {
				t.Fatal("no restart detail")
			}
		}},
		{"tab closes drill-down", []string{"enter", "tab"}, func(t *testing.T, m Model) {
			if m.detail() != nil || m.active != tabQueues {
				t.Fatal("detail still open")
			}
		}},
		{"help overlay", []string{"?"}, func(t *testing.T, m Model) {
			if !m.showHelp || !strings.Contains(ansi.Strip(m.Render()), "problems only") {
				t.Fatal("no help")
			}
			if m = press(m, "esc"); m.showHelp {
				t.Fatal("esc did not close help")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, press(newTestModel(incident(), 80, 24, false), tt.keys...))
		})
	}
}

func wantTab(t *testing.T, m Model, tab int) {
	t.Helper()
	if m.active != tab {
		t.Fatalf("active tab %d, want %d", m.active, tab)
	}
}

func wantRow(t *testing.T, m Model, sub string) {
	t.Helper()
	if r := currentRow(m); !strings.Contains(r, sub) {
		t.Fatalf("cursor row %q, want %q", r, sub)
	}
}

func lastLine(m Model) string {
	s := ansi.Strip(m.Render())
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		_, cmd := newTestModel(incident(), 80, 24, false).Update(keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s did not quit", k)
		}
	}
}

func TestPauseFreezesSnapshot(t *testing.T) {
	first := incident()
	m := press(newTestModel(first, 120, 30, false), "p")
	second := incident()
	second.Seq = 413
	second.Services[0].Cond = state.CondDown
	m = update(m, SnapshotMsg{Snapshot: second})
	if m.e.snap != first {
		t.Fatal("paused view took the new snapshot")
	}
	if !strings.Contains(ansi.Strip(m.Render()), "PAUSED · newer data waiting") {
		t.Fatal("no PAUSED badge")
	}
	if strings.Contains(currentRow(m), "DOWN") {
		t.Fatal("frozen row changed")
	}
	m = press(m, "p")
	if m.e.snap != second || strings.Contains(ansi.Strip(m.Render()), "PAUSED") {
		t.Fatal("unpause did not show the latest snapshot")
	}
	if !strings.Contains(currentRow(m), "DOWN") {
		t.Fatalf("row %q", currentRow(m))
	}
}

func TestSnapshotsArriveOnChannel(t *testing.T) {
	ch := make(chan *state.Snapshot, 1)
	m := New(Options{Updates: ch, Now: func() time.Time { return fixedNow }})
	ch <- incident()
	msg := m.wait()()
	next, cmd := m.Update(msg)
	if next.(Model).e.snap.Seq != 412 || cmd == nil {
		t.Fatal("snapshot not taken or wait not re-issued")
	}
	close(ch)
	if _, ok := m.wait()().(updatesClosedMsg); !ok {
		t.Fatal("closed channel not reported")
	}
}

func TestClockTicksAges(t *testing.T) {
	now := fixedNow
	m := New(Options{Initial: incident(), Now: func() time.Time { return now }})
	m = update(m, tea.WindowSizeMsg{Width: 100, Height: 30})
	now = now.Add(time.Minute)
	next, _ := m.Update(tickMsg(now)) // not update(): its tick command would sleep
	m = next.(Model)
	if !strings.Contains(ansi.Strip(m.Render()), "nova STALE 1m04s") {
		t.Fatalf("ages did not move: %s", ansi.Strip(m.Render()))
	}
}

// TestTickAfterSnapshot: a tick that comes just after a snapshot moved the
// clock redraws nothing (ages were written twice a second); a tick a
// second on moves the ages.
func TestTickAfterSnapshot(t *testing.T) {
	now := fixedNow
	m := New(Options{Initial: incident(), Now: func() time.Time { return now }})
	m = update(m, tea.WindowSizeMsg{Width: 100, Height: 30})
	shown := m.e.now
	now = now.Add(100 * time.Millisecond)
	if next, _ := m.Update(tickMsg(now)); !next.(Model).e.now.Equal(shown) {
		t.Errorf("a tick 100ms after the clock moved moved it again")
	}
	now = now.Add(time.Second)
	next, _ := m.Update(tickMsg(now))
	if m = next.(Model); !m.e.now.Equal(now) {
		t.Errorf("a tick 1.1s on did not move the clock: %v", m.e.now)
	}
}

func TestQueueDrillDownFocuses(t *testing.T) {
	var got []state.QueueKey
	m := New(Options{Initial: incident(), Now: func() time.Time { return fixedNow }, FocusQueue: func(k state.QueueKey) { got = append(got, k) }})
	m = update(m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m = press(m, "2", "enter")
	// The focus command ran through update's command runner.
	if len(got) != 1 || !strings.HasPrefix(got[0].Name, "reply_") {
		t.Fatalf("focus calls %v", got)
	}
	press(m, "esc")
	if len(got) != 2 || got[1] != (state.QueueKey{}) {
		t.Fatalf("focus calls %v", got)
	}
}

func TestResizeStorm(t *testing.T) {
	m := press(newTestModel(incident(), 80, 24, false), "G")
	sizes := [][2]int{{300, 100}, {10, 3}, {1, 1}, {0, 0}, {2, 40}, {200, 2}, {80, 24}, {13, 7}, {81, 5}, {300, 100}, {-1, -5}, {80, 24}}
	for _, keys := range [][]string{nil, {"2"}, {"3"}, {"enter"}, {"2", "enter"}, {"3", "enter"}, {"?"}, {"/", "x"},
		{"4"}, {"4", "enter"}, {"v"}, {"c"}, {"3", "t", "1"}} {
		mm := press(m, keys...)
		for _, sz := range sizes {
			mm = update(mm, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			mm = press(mm, "j", "G", "pgup")
			out := mm.Render()
			if sz[0] > 0 && sz[1] > 0 {
				checkFrame(t, ansi.Strip(out), sz[0], sz[1])
			}
		}
	}
}

func TestBackgroundColourRebuildsStyles(t *testing.T) {
	tests := []struct {
		name     string
		bg       color.Color
		wantDark bool
	}{
		{"light terminal", color.White, false},
		{"dark terminal", color.Black, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := update(newTestModel(incident(), 80, 24, false), tea.BackgroundColorMsg{Color: tt.bg})
			if m.e.st.Dark != tt.wantDark || m.e.st.NoColor {
				t.Fatalf("dark %v noColor %v", m.e.st.Dark, m.e.st.NoColor)
			}
		})
	}
}
