package clocktest

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case at := <-ch:
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestTimersAndTickers(t *testing.T) {
	c := New(t0)
	tm := c.NewTimer(3 * time.Second)
	tk := c.NewTicker(time.Second)
	stopped := c.NewTimer(time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop of a pending timer: want true, then false")
	}
	if got := c.Pending(); got != 2 {
		t.Fatalf("%d pending, want 2", got)
	}
	if next, ok := c.Next(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Errorf("Next = %v %v, want the tick at t0+1s", next, ok)
	}
	if n := c.Advance(999 * time.Millisecond); n != 0 {
		t.Errorf("%d timers fired before their time", n)
	}
	if _, ok := fired(tk.C()); ok {
		t.Error("ticker fired before its period")
	}
	c.Advance(time.Millisecond)
	if at, ok := fired(tk.C()); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("tick %v %v, want one at t0+1s", at, ok)
	}
	if n := c.Advance(5 * time.Second); n != 1 {
		t.Errorf("%d timers fired, want 1", n)
	}
	if at, ok := fired(tm.C()); !ok || !at.Equal(t0.Add(3*time.Second)) {
		t.Errorf("timer fired %v %v, want at t0+3s", at, ok)
	}
	if at, ok := fired(tk.C()); !ok || !at.Equal(t0.Add(2*time.Second)) {
		t.Errorf("tick %v %v, want the first untaken one (t0+2s); later ones dropped", at, ok)
	}
	if _, ok := fired(tk.C()); ok {
		t.Error("a ticker holds more than one tick")
	}
	if !c.Now().Equal(t0.Add(6 * time.Second)) {
		t.Errorf("Now %v, want t0+6s", c.Now())
	}
	if _, ok := fired(c.NewTimer(0).C()); !ok {
		t.Error("a zero timer does not fire at once")
	}
	tk.Stop()
	if got := c.Pending(); got != 0 {
		t.Errorf("%d pending after the ticker stopped, want 0", got)
	}
}

func TestWaiters(t *testing.T) {
	c := New(t0)
	done := make(chan time.Time)
	go func() {
		tm := c.NewTimer(time.Minute)
		done <- <-tm.C()
	}()
	c.Waiters(t, 1, 10*time.Second)
	c.Advance(time.Minute)
	if at := <-done; !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("fired at %v", at)
	}
	c.Waiters(t, 0, 10*time.Second)
}

func TestInstant(t *testing.T) {
	c := Instant(func() time.Time { return t0 })
	if _, ok := fired(c.NewTimer(time.Hour).C()); !ok || !c.Now().Equal(t0) {
		t.Error("an instant timer does not fire at once")
	}
}
