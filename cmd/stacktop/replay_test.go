package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/sources/recording/recordingtest"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui"
)

// replayT0 is the first batch of the test recording; the others follow every 10 s.
var replayT0 = time.Date(2026, 8, 12, 6, 14, 0, 0, time.UTC)

// smallRecording writes n Nova polls, 10 s apart from replayT0, to a recording in a temporary directory.
func smallRecording(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "small.jsonl.gz")
	w, err := recording.Create(path, recording.Header{Started: replayT0, Version: "stacktop test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		at := replayT0.Add(time.Duration(i) * 10 * time.Second)
		err := w.Write(sources.Batch{Source: sources.NameNova, At: at,
			Health: sources.Health{OK: true, Interval: 10 * time.Second, Target: "cloud-test"},
			Services: []sources.Service{{ID: "1", Binary: "nova-compute", Host: "c1", Status: sources.StatusEnabled,
				State: sources.StateUp, UpdatedAt: at.Add(-time.Second)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// hangGuard bounds how long a test waits for something that must happen;
// nothing is timed by it.
const hangGuard = 20 * time.Second

// firstFrom returns the first value on ch that ok accepts, failing t
// (saying what was awaited) if none comes within hangGuard.
func firstFrom[T any](t *testing.T, ch <-chan T, what string, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(hangGuard)
	for {
		select {
		case v := <-ch:
			if ok(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("nothing %s within %s", what, hangGuard)
		}
	}
}

// TestReplaySessionReportsTheEnd: however it plays, a replay that has played
// the whole recording says so, standing at the last batch's time, with every
// batch counted.
func TestReplaySessionReportsTheEnd(t *testing.T) {
	last := replayT0.Add(30 * time.Second)
	for _, tc := range []struct {
		name  string
		speed float64
		step  bool
	}{
		{"real time", 1, false},
		{"max", 0, false},
		{"step", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := recordingtest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			sess := newReplaySession(ctx, smallRecording(t, 4), state.DefaultConfig(), tc.speed, tc.step)
			sess.clock = clk
			if err := sess.seek(time.Time{}); err != nil {
				t.Fatal(err)
			}
			first := firstFrom(t, sess.status, "after the seek", func(ui.ReplayStatus) bool { return true })
			paced := tc.speed > 0 || tc.step // at max speed the first status may already be the last
			if first.Ended && paced || first.Speed != tc.speed || first.Step != tc.step {
				t.Errorf("first status %+v", first)
			}
			for i := 1; i < 4; i++ {
				switch {
				case tc.step:
					sess.step()
				case tc.speed > 0:
					if d := clk.NextWait(t, hangGuard); d != 10*time.Second {
						t.Fatalf("wait %d: %v, want the recording's 10s", i, d)
					}
					clk.Advance(10 * time.Second)
				}
			}
			ended := func(st ui.ReplayStatus) bool { return st.Ended && st.Total > 0 }
			st := first // at max speed, on a loaded machine, the first status read can be the last one sent (scripts/test, session 7)
			if !ended(st) {
				st = firstFrom(t, sess.status, "ended, with the totals", ended)
			}
			want := ui.ReplayStatus{Speed: tc.speed, Step: tc.step, Ended: true, Played: 4, Total: 4, Start: replayT0, End: last, At: last}
			if fmt.Sprint(st) != fmt.Sprint(want) {
				t.Errorf("status at the end\n got %+v\nwant %+v", st, want)
			}
			if now := sess.Now(); !now.Equal(last) {
				t.Errorf("clock %v at the end, want %v", now, last)
			}
			firstFrom(t, sess.out, "of the last batch", func(s *state.Snapshot) bool { return s.Seq == 4 })
		})
	}
}

// TestReplaySessionPauses: p stops the replay itself, emission and clock,
// for as long as it stays paused (an hour of the test's clock here); p
// again plays on from the same position with what was left of the
// recording's gap, and a seek while paused shows the state sought and
// stays paused.
func TestReplaySessionPauses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := recordingtest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	sess := newReplaySession(ctx, smallRecording(t, 4), state.DefaultConfig(), 1, false)
	sess.clock = clk
	if err := sess.seek(time.Time{}); err != nil {
		t.Fatal(err)
	}
	firstFrom(t, sess.out, "of the first batch", func(s *state.Snapshot) bool { return s.Seq == 1 })
	if d := clk.NextWait(t, hangGuard); d != 10*time.Second {
		t.Fatalf("wait %v for the second batch", d)
	}
	clk.Advance(4 * time.Second)
	at := replayT0.Add(4 * time.Second)
	if now := sess.Now(); !now.Equal(at) {
		t.Fatalf("clock %v before the pause, want %v", now, at)
	}

	sess.togglePause()
	st := firstFrom(t, sess.status, "paused", func(st ui.ReplayStatus) bool { return st.Paused })
	if !st.At.Equal(at) || st.Played != 1 {
		t.Errorf("paused status at %v after %d batches, want %v after 1", st.At, st.Played, at)
	}
	clk.Advance(time.Hour) // the wait that was running comes due while paused
	if now := sess.Now(); !now.Equal(at) {
		t.Errorf("clock %v after an hour paused, want %v", now, at)
	}

	sess.togglePause()
	st = firstFrom(t, sess.status, "resumed", func(st ui.ReplayStatus) bool { return !st.Paused })
	if !st.At.Equal(at) {
		t.Errorf("resumed at %v, want %v", st.At, at)
	}
	// Had the second batch played during the pause, the replay would now
	// wait for the third, and the hour would have let it go at once.
	if d := clk.NextWait(t, hangGuard); d != 6*time.Second {
		t.Fatalf("wait %v after resuming, want the 6s left of the gap", d)
	}
	select {
	case s := <-sess.out:
		t.Fatalf("snapshot %d at %v played while paused", s.Seq, s.At)
	default:
	}
	clk.Advance(3 * time.Second)
	if now := sess.Now(); !now.Equal(at.Add(3 * time.Second)) {
		t.Errorf("clock %v 3s after resuming, want %v", now, at.Add(3*time.Second))
	}
	clk.Advance(3 * time.Second)
	s := firstFrom(t, sess.out, "of the second batch", func(s *state.Snapshot) bool { return s.Seq == 2 })
	if !s.At.Equal(replayT0.Add(10 * time.Second)) {
		t.Errorf("second batch at %v", s.At)
	}
	if d := clk.NextWait(t, hangGuard); d != 10*time.Second {
		t.Fatalf("wait %v for the third batch", d)
	}

	// Paused, a seek folds up to the time sought and stays there.
	sess.togglePause()
	firstFrom(t, sess.status, "paused again", func(st ui.ReplayStatus) bool { return st.Paused })
	sought := replayT0.Add(15 * time.Second)
	if err := sess.seek(sought); err != nil {
		t.Fatal(err)
	}
	firstFrom(t, sess.out, "of the state sought", func(s *state.Snapshot) bool { return s.Seq == 2 })
	st = firstFrom(t, sess.status, "paused where sought", func(st ui.ReplayStatus) bool { return st.Played == 2 })
	if !st.Paused || st.At.After(sought) {
		t.Errorf("after a seek while paused: %+v", st)
	}
	sess.togglePause()
	if d := clk.NextWait(t, hangGuard); d != 5*time.Second {
		t.Fatalf("wait %v after resuming at %v, want 5s to the batch at +20s", d, sought)
	}
	if now := sess.Now(); !now.Equal(sought) {
		t.Errorf("clock %v on resuming after the seek, want %v", now, sought)
	}
}

func TestNextSpeed(t *testing.T) {
	for _, tt := range []struct {
		cur, faster, slower float64
	}{
		{1, 2, 1}, // 1× is the slowest step
		{2, 5, 1},
		{5, 10, 2},
		{10, 30, 5},
		{30, 0, 10},   // then max
		{0, 0, 30},    // max is the fastest
		{3, 5, 2},     // --speed 3: to the nearest step each way
		{0.5, 1, 0.5}, // a slower --speed stays when slowed
		{100, 0, 30},
	} {
		if got := nextSpeed(tt.cur, true); got != tt.faster {
			t.Errorf("faster than %v: %v, want %v", tt.cur, got, tt.faster)
		}
		if got := nextSpeed(tt.cur, false); got != tt.slower {
			t.Errorf("slower than %v: %v, want %v", tt.cur, got, tt.slower)
		}
	}
}

// TestReplaySessionChangesSpeed: + and - take effect from where the replay
// stands: the clock goes on from the same time, the rest of the gap to the
// next batch played at the new speed, and a seek keeps the speed.
func TestReplaySessionChangesSpeed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := recordingtest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	sess := newReplaySession(ctx, smallRecording(t, 4), state.DefaultConfig(), 1, false)
	sess.clock = clk
	if err := sess.seek(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if d := clk.NextWait(t, hangGuard); d != 10*time.Second {
		t.Fatalf("wait %v for the second batch at 1×", d)
	}
	clock := func(want time.Time, when string) {
		t.Helper()
		if now := sess.Now(); !now.Equal(want) {
			t.Errorf("clock %v %s, want %v", now.Sub(replayT0), when, want.Sub(replayT0))
		}
	}

	clk.Advance(4 * time.Second)
	at := replayT0.Add(4 * time.Second)
	clock(at, "before +")
	sess.changeSpeed(true) // 2×
	clock(at, "on going 2×")
	st := firstFrom(t, sess.status, "at 2×", func(st ui.ReplayStatus) bool { return st.Speed == 2 })
	if !st.At.Equal(at) {
		t.Errorf("status at %v on going 2×, want %v", st.At.Sub(replayT0), at.Sub(replayT0))
	}
	if d := clk.NextWait(t, hangGuard); d != 3*time.Second {
		t.Fatalf("wait %v for the 6s left at 2×, want 3s", d)
	}
	clk.Advance(time.Second)
	clock(at.Add(2*time.Second), "a second into 2×")

	sess.changeSpeed(true) // 5×
	clock(at.Add(2*time.Second), "on going 5×")
	if d := clk.NextWait(t, hangGuard); d != 800*time.Millisecond {
		t.Fatalf("wait %v for the 4s left at 5×, want 800ms", d)
	}
	clk.Advance(800 * time.Millisecond)
	firstFrom(t, sess.out, "of the second batch", func(s *state.Snapshot) bool { return s.Seq == 2 })
	if d := clk.NextWait(t, hangGuard); d != 2*time.Second {
		t.Fatalf("wait %v for the third batch at 5×, want 2s", d)
	}

	clk.Advance(time.Second)
	at = replayT0.Add(15 * time.Second)
	sess.changeSpeed(false) // 2×
	clock(at, "on going back to 2×")
	if d := clk.NextWait(t, hangGuard); d != 2500*time.Millisecond {
		t.Fatalf("wait %v for the 5s left at 2×, want 2.5s", d)
	}

	// A seek keeps the speed.
	if err := sess.seek(replayT0.Add(25 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := clk.NextWait(t, hangGuard); d != 2500*time.Millisecond {
		t.Fatalf("wait %v after the seek to +25s, want 2.5s: the 5s to the last batch at 2×", d)
	}
	st = firstFrom(t, sess.status, "after the seek", func(st ui.ReplayStatus) bool { return st.Played == 3 })
	if st.Speed != 2 {
		t.Errorf("speed %v after the seek, want 2", st.Speed)
	}

	// Up to max: what is left plays at once, and the end is where it always is.
	for range 3 { // 5×, 10×, 30×
		sess.changeSpeed(true)
	}
	firstFrom(t, sess.status, "at 30×", func(st ui.ReplayStatus) bool { return st.Speed == 30 })
	clock(replayT0.Add(25*time.Second), "at 30×")
	sess.changeSpeed(true)
	st = firstFrom(t, sess.status, "ended at max", func(st ui.ReplayStatus) bool { return st.Ended })
	if st.Speed != 0 || !st.At.Equal(replayT0.Add(30*time.Second)) {
		t.Errorf("status at the end %+v", st)
	}
}
