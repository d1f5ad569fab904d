package ui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/stacktop/stacktop/state"
)

// TestEndToEnd runs the real program: a snapshot arrives on the channel, the
// user opens the queues pane, drills into a queue, leaves, and quits with q.
func TestEndToEnd(t *testing.T) {
	ch := make(chan *state.Snapshot, 1)
	focused := make(chan state.QueueKey, 4)
	m := New(Options{Updates: ch, Now: func() time.Time { return fixedNow }, NoColor: true,
		FocusQueue: func(k state.QueueKey) { focused <- k }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	ch <- incident()

	waitFor := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	waitFor("compute-001")
	tm.Send(tea.KeyPressMsg{Code: '2', Text: "2"})
	waitFor("notifications.info")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor("history 30 samples")
	if k := <-focused; k.Name == "" {
		t.Fatal("drill-down did not focus its queue")
	}
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	if k := <-focused; k != (state.QueueKey{}) {
		t.Fatalf("leaving did not unfocus: %v", k)
	}
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	final := tm.FinalModel(t).(Model)
	if final.active != tabQueues || len(final.details) != 0 {
		t.Fatalf("final state: tab %d detail %v", final.active, final.details)
	}
}
