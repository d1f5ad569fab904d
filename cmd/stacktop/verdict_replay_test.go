package main

import (
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
)

// TestRecordingsWrongCauseTime replays the real recordings through the
// rules and adds up how long each shows a cause that is not the truth:
// it must be zero, not even one poll.
func TestRecordingsWrongCauseTime(t *testing.T) {
	for _, tt := range []struct {
		path  string
		truth []state.Cause // causes that are right (besides none)
		need  state.Cause   // a cause that must be reached
	}{
		// rabbitmqctl stop_app / start_app: the broker, never the
		// conductor, a host, a process or stacktop's own blindness.
		{harnessRecording, []state.Cause{state.CauseBroker}, state.CauseBroker},
		// The demo's 2015 incident: a sick broker.
		{demoRecording, []state.Cause{state.CauseBroker}, state.CauseBroker},
		// One nova-compute killed, its host's agent alive: the process
		// (and, before the kill, the scheduler's late report, thinly).
		{computeKillRecording, []state.Cause{state.CauseProcess, state.CauseServiceDown}, state.CauseProcess},
		// nova-scheduler stopped: its process (thinly "cause unclear" until
		// a ping sent after Nova's "down" times out).
		{schedulerStopRecording, []state.Cause{state.CauseProcess, state.CauseServiceDown}, state.CauseProcess},
	} {
		t.Run(tt.path, func(t *testing.T) {
			rd, err := recording.Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			store := state.NewStore(state.DefaultConfig())
			var wrong time.Duration
			var prev state.Verdict
			var prevAt time.Time
			reached := false
			for {
				b, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					continue
				}
				v := store.Apply(b).Verdict
				if prev.Cause != state.CauseNone && !slices.Contains(tt.truth, prev.Cause) {
					wrong += b.At.Sub(prevAt)
				}
				if v.Cause != state.CauseNone && !slices.Contains(tt.truth, v.Cause) && (prev.Cause != v.Cause || prev.Summary != v.Summary) {
					t.Errorf("%s: wrong cause %v: %q", b.At.Format(time.TimeOnly), v.Cause, v.Summary)
				}
				reached = reached || v.Cause == tt.need
				prev, prevAt = v, b.At
			}
			if wrong > 0 {
				t.Errorf("wrong cause shown for %v", wrong)
			}
			if !reached {
				t.Errorf("never reached %v", tt.need)
			}
		})
	}
}
