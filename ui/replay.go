package ui

import (
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
)

// ReplayStatus is where a replay stands, for the header; the replay sends a
// new one whenever it changes (on Options.Replay, or as a ReplayMsg).
type ReplayStatus struct {
	Speed  float64   // recording seconds played per second; 0 for as fast as possible
	Step   bool      // one batch per n (--step); Speed does not apply
	Paused bool      // p: nothing plays and the replay's clock stands still
	Ended  bool      // the whole recording has played
	Played int       // batches played so far, counted from the recording's start
	Total  int       // batches in the recording; 0 while not yet counted
	Start  time.Time // the recording's first batch time; zero while not yet known
	End    time.Time // its latest batch time, where the replay ends; zero while not yet known
	At     time.Time // the replay's clock when the status was taken
}

// ReplayMsg delivers a replay's status; the UI sends these itself from
// Options.Replay, and a program may also Send them.
type ReplayMsg struct{ Status ReplayStatus }

func (m Model) waitReplay() tea.Cmd {
	ch := m.opts.Replay
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return nil // the replay is over; its last status stays
		}
		return ReplayMsg{Status: s}
	}
}

// replayItem puts the replay's status where a live run shows its clock: a
// badge saying how it plays (its speed, or STEP with the batches played)
// (or PAUSED), followed by the replay's clock and how much of the recording lies behind
// it; at the end, that it ended, when, and what the keys can still do.
func (m Model) replayItem(f *flow) {
	r := m.replay
	h := &m.e.st.Header
	clock := format.Clock(m.e.now) + " " + format.ZoneName(m.e.now)
	if r.Ended {
		badge, rest := " END OF RECORDING ", clock+" — t seeks, q quits"
		f.put("", textWidth(badge)+1+textWidth(rest), f.paint(h.Ended, badge)+" "+f.paint(h.Dim, rest))
		return
	}
	badge, ink := "REPLAY "+speedLabel(r.Speed), h.Replay
	switch {
	case r.Paused:
		badge, ink = "REPLAY PAUSED", h.Paused
	case r.Step:
		badge = "REPLAY STEP"
	}
	if r.Step {
		badge += " " + strconv.Itoa(r.Played)
		if r.Total > 0 {
			badge += "/" + strconv.Itoa(r.Total)
		}
	}
	badge = " " + badge + " "
	rest := clock
	if p, ok := r.percent(m.e.now); ok && !r.Step {
		rest += " (" + strconv.Itoa(p) + "%)"
	}
	f.put("", textWidth(badge)+1+textWidth(rest), f.paint(ink, badge)+" "+f.paint(h.Dim, rest))
}

// percent is how much of the recording's time lies before now.
func (r *ReplayStatus) percent(now time.Time) (int, bool) {
	span := r.End.Sub(r.Start)
	if r.Start.IsZero() || span <= 0 {
		return 0, false
	}
	return min(100, max(0, int(100*float64(now.Sub(r.Start))/float64(span)))), true
}

// speedLabel is 10×, 0.5× or max.
func speedLabel(speed float64) string {
	if speed <= 0 {
		return "max"
	}
	return strconv.FormatFloat(speed, 'f', -1, 64) + "×"
}
