// Package recordingtest holds a hand-driven clock for tests that pace a
// recording.Replay: time moves only when the test advances it.
package recordingtest

import (
	"sync"
	"testing"
	"time"
)

// Clock is a recording.Clock that moves only by Advance; every wait started
// on it is reported to NextWait.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []timer
	waits  chan time.Duration
}

type timer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, waits: make(chan time.Duration, 1000)}
}

// Now is the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After fires once the clock has been advanced by d (at once when d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.timers = append(c.timers, timer{at: c.now.Add(d), ch: ch})
	}
	c.mu.Unlock()
	c.waits <- d
	return ch
}

// Advance moves the clock on by d and fires the waits that come due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- c.now
	}
	c.timers = kept
}

// NextWait returns the duration of the next wait started on the clock,
// failing t if none starts within guard (a bound on a hang, not a timing).
func (c *Clock) NextWait(t testing.TB, guard time.Duration) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(guard):
		t.Fatal("the replay never waited on its clock")
		return 0
	}
}
