package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// replayModel is the incident on a replay's screen, with status st.
func replayModel(st ReplayStatus, w, h int, noColor bool) Model {
	opts := Options{Initial: incident(), Now: func() time.Time { return fixedNow }, NoColor: noColor, Cloud: "prod-east",
		Seek: func(time.Time) {}, Pause: func() {}}
	if st.Step {
		opts.Step = func() {}
	} else {
		opts.ChangeSpeed = func(bool) {} // as stacktop replay: + and - unless stepping
	}
	m := update(New(opts), ReplayMsg{Status: st})
	return update(m, tea.WindowSizeMsg{Width: w, Height: h})
}

// replayStatuses are a replay of a recording from 02:57:00 to 03:17:00, at the incident's 03:12:00.
var replayStatuses = []struct {
	name string
	st   ReplayStatus
}{
	{"replay-playing", ReplayStatus{Speed: 10, Played: 250, Total: 340, Start: ago(15 * time.Minute), End: fixedNow.Add(5 * time.Minute), At: fixedNow}},
	{"replay-paused", ReplayStatus{Speed: 10, Paused: true, Played: 250, Total: 340, Start: ago(15 * time.Minute), End: fixedNow.Add(5 * time.Minute), At: fixedNow}},
	{"replay-step", ReplayStatus{Speed: 1, Step: true, Played: 12, Total: 340, Start: ago(15 * time.Minute), End: fixedNow.Add(5 * time.Minute), At: fixedNow}},
	{"replay-ended", ReplayStatus{Speed: 10, Ended: true, Played: 340, Total: 340, Start: ago(15 * time.Minute), End: fixedNow, At: fixedNow}},
}

func TestGoldenReplay(t *testing.T) {
	for _, v := range replayStatuses {
		for _, sz := range [][2]int{{80, 24}, {160, 48}} {
			name := fmt.Sprintf("%s_%dx%d", v.name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				got := ansi.Strip(replayModel(v.st, sz[0], sz[1], false).Render())
				checkGolden(t, name, got)
				checkFrame(t, got, sz[0], sz[1])
			})
		}
	}
}

// TestReplayHeader: the replay's status stands first in the header, whole,
// in place of the clock, at any width, with and without colour.
func TestReplayHeader(t *testing.T) {
	tests := []struct {
		name string
		st   ReplayStatus
		want string
	}{
		{"playing", replayStatuses[0].st, " REPLAY 10×  03:12:00 UTC (75%) │ prod-east"},
		{"max speed, extent unknown", ReplayStatus{At: fixedNow}, " REPLAY max  03:12:00 UTC │ prod-east"},
		{"half speed", ReplayStatus{Speed: 0.5, Start: fixedNow, End: fixedNow.Add(time.Hour)}, " REPLAY 0.5×  03:12:00 UTC (0%) │ prod-east"},
		{"paused", replayStatuses[1].st, " REPLAY PAUSED  03:12:00 UTC (75%) │ prod-east"},
		{"paused while stepping", ReplayStatus{Step: true, Paused: true, Played: 12, Total: 340}, " REPLAY PAUSED 12/340  03:12:00 UTC │ prod-east"},
		{"stepping", replayStatuses[2].st, " REPLAY STEP 12/340  03:12:00 UTC │ prod-east"},
		{"stepping, total unknown", ReplayStatus{Step: true, Played: 3}, " REPLAY STEP 3  03:12:00 UTC │ prod-east"},
		{"ended", replayStatuses[3].st, " END OF RECORDING  03:12:00 UTC — t seeks, q quits"},
	}
	for _, tt := range tests {
		for _, width := range []int{80, 160} {
			for _, noColor := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s %d nocolor=%v", tt.name, width, noColor), func(t *testing.T) {
					m := replayModel(tt.st, width, 24, noColor)
					head := m.header()
					if noColor && strings.ContainsRune(head, 0x1b) {
						t.Errorf("escape codes with NO_COLOR: %q", head)
					}
					first, _, _ := strings.Cut(ansi.Strip(head), "\n")
					if !strings.HasPrefix(first, tt.want) {
						t.Errorf("header starts %q, want %q", first, tt.want)
					}
					checkFrame(t, ansi.Strip(m.Render()), width, 24)
				})
			}
		}
	}
	live := ansi.Strip(newTestModel(incident(), 160, 48, false).header())
	if strings.Contains(live, "REPLAY") || !strings.HasPrefix(live, "03:12:00 UTC prod-east") {
		t.Errorf("live header %q", live)
	}
}

// TestReplayStatusArrives: the status is read from Options.Replay by a
// command, the clock is read again when it arrives, and the next status is
// waited for.
func TestReplayStatusArrives(t *testing.T) {
	ch := make(chan ReplayStatus, 1)
	now := fixedNow
	m := New(Options{Initial: incident(), Replay: ch, Now: func() time.Time { return now }})
	m = update(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	if m.replay != nil {
		t.Fatal("status before any arrived")
	}
	ch <- ReplayStatus{Speed: 2, At: now}
	now = now.Add(time.Minute)
	next, cmd := m.Update(m.waitReplay()())
	m = next.(Model)
	if m.replay == nil || m.replay.Speed != 2 || cmd == nil {
		t.Fatalf("status %+v, wait re-issued %v", m.replay, cmd != nil)
	}
	if head := ansi.Strip(m.header()); !strings.HasPrefix(head, " REPLAY 2×  03:13:00") {
		t.Errorf("header %q", head)
	}
	if New(Options{}).waitReplay() != nil {
		t.Error("a live UI waits for replay status")
	}
}

func TestReplayPercent(t *testing.T) {
	start := fixedNow
	for _, tt := range []struct {
		st   ReplayStatus
		now  time.Time
		want int
		ok   bool
	}{
		{ReplayStatus{Start: start, End: start.Add(100 * time.Second)}, start.Add(43 * time.Second), 43, true},
		{ReplayStatus{Start: start, End: start.Add(100 * time.Second)}, start.Add(43999 * time.Millisecond), 43, true}, // not rounded up to 44
		{ReplayStatus{Start: start, End: start.Add(100 * time.Second)}, start.Add(-time.Second), 0, true},
		{ReplayStatus{Start: start, End: start.Add(100 * time.Second)}, start.Add(time.Hour), 100, true},
		{ReplayStatus{Start: start, End: start}, start, 0, false}, // one batch: no span
		{ReplayStatus{End: start}, start, 0, false},               // not yet measured
	} {
		if got, ok := tt.st.percent(tt.now); got != tt.want || ok != tt.ok {
			t.Errorf("%v..%v at %v: %d %v, want %d %v", tt.st.Start, tt.st.End, tt.now, got, ok, tt.want, tt.ok)
		}
	}
}

// TestReplayPauseKey: in a replay p pauses the replay itself, through
// Options.Pause called from a command; the screen does not freeze (the
// snapshots stop coming instead), and the help says what p does.
func TestReplayPauseKey(t *testing.T) {
	pauses := 0
	m := New(Options{Initial: incident(), Now: func() time.Time { return fixedNow }, Pause: func() { pauses++ }})
	m = update(m, ReplayMsg{Status: replayStatuses[0].st})
	m = update(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	next, cmd := m.Update(keyMsg("p"))
	m = next.(Model)
	if pauses != 0 || cmd == nil {
		t.Fatalf("pauses %d before the command ran", pauses)
	}
	cmd()
	if pauses != 1 || m.paused {
		t.Fatalf("pauses %d, screen frozen %v", pauses, m.paused)
	}
	// The replay's paused status arrives; a snapshot still shows (a seek while paused).
	m = update(m, ReplayMsg{Status: replayStatuses[1].st})
	later := incident()
	later.Seq++
	m = update(m, SnapshotMsg{Snapshot: later})
	if m.e.snap != later {
		t.Error("a snapshot was held back on a paused replay's screen")
	}
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "REPLAY PAUSED") || strings.Contains(screen, " PAUSED  prod-east") {
		t.Errorf("header %q", strings.SplitN(screen, "\n", 2)[0])
	}
	if help := ansi.Strip(press(m, "?").Render()); !strings.Contains(help, "pause replay") {
		t.Errorf("replay help lacks p:\n%s", help)
	}
	if !strings.Contains(lastLine(m), "p pause replay") {
		t.Errorf("footer %q", lastLine(m))
	}
	live := press(newTestModel(incident(), 160, 48, false), "p")
	if !live.paused || strings.Contains(ansi.Strip(press(live, "?").Render()), "pause replay") {
		t.Error("live p no longer freezes the screen, or its help speaks of a replay")
	}
}

// TestReplaySpeedKeys: + (or =) and - ask the replay for the next speed up
// or down from a command; they show in the help only when the replay takes
// them, and do nothing live.
func TestReplaySpeedKeys(t *testing.T) {
	var changes []bool
	m := New(Options{Initial: incident(), Now: func() time.Time { return fixedNow }, Pause: func() {},
		ChangeSpeed: func(faster bool) { changes = append(changes, faster) }})
	m = update(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, tt := range []struct {
		key    string
		faster bool
	}{{"+", true}, {"=", true}, {"-", false}} {
		next, cmd := m.Update(keyMsg(tt.key))
		m = next.(Model)
		if cmd == nil || len(changes) != 0 {
			t.Fatalf("%s: speed changed inside Update (%v) or no command", tt.key, changes)
		}
		cmd()
		if len(changes) != 1 || changes[0] != tt.faster {
			t.Fatalf("%s: changes %v, want [%v]", tt.key, changes, tt.faster)
		}
		changes = nil
	}
	for _, pane := range []string{"1", "3"} {
		if footer := lastLine(press(m, pane)); !strings.Contains(footer, " • +/- speed • ") {
			t.Errorf("pane %s: footer %q", pane, footer)
		}
	}
	if help := ansi.Strip(press(m, "?").Render()); !strings.Contains(help, "faster") || !strings.Contains(help, "slower") {
		t.Errorf("replay help lacks + and -:\n%s", help)
	}
	checkFrame(t, ansi.Strip(press(m, "?").Render()), 160, 48)
	narrow := update(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	checkFrame(t, ansi.Strip(press(narrow, "?").Render()), 80, 24)

	stepping := New(Options{Initial: incident(), Now: func() time.Time { return fixedNow }, Step: func() {}})
	live := newTestModel(incident(), 160, 48, false)
	for name, m := range map[string]Model{"live": live, "stepping": update(stepping, tea.WindowSizeMsg{Width: 160, Height: 48})} {
		if help := ansi.Strip(press(m, "?").Render()); strings.Contains(help, "faster") || strings.Contains(help, "slower") {
			t.Errorf("%s help shows + and -", name)
		}
		if _, cmd := m.Update(keyMsg("+")); cmd != nil {
			t.Errorf("%s: + did something", name)
		}
	}
}
