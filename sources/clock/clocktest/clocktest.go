// Package clocktest is a hand-driven clock.Clock for tests: time moves only
// when the test calls Advance, and the test can wait until the code under
// test is blocked on the clock (Waiters) before moving it on.
package clocktest

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources/clock"
)

// Clock is a clock.Clock that moves only by Advance.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waits   []*wait       // pending timers and tickers
	changed chan struct{} // closed and replaced whenever waits changes
	seq     int
}

// wait is a pending timer, or a ticker (period > 0).
type wait struct {
	c      *Clock
	at     time.Time
	period time.Duration
	ch     chan time.Time
	seq    int // creation order, to fire waits due at the same time in order
}

// New returns a Clock reading start.
func New(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now is the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer fires once the clock has been advanced by d; at once when d <= 0.
func (c *Clock) NewTimer(d time.Duration) clock.Timer { return c.add(d, 0) }

// NewTicker fires every d of advanced time. Like a time.Ticker it holds one
// tick: ticks nobody took are dropped.
func (c *Clock) NewTicker(d time.Duration) clock.Ticker {
	if d <= 0 {
		panic("clocktest: non-positive ticker period")
	}
	return ticker{c.add(d, d)}
}

func (c *Clock) add(d, period time.Duration) *wait {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	w := &wait{c: c, at: c.now.Add(d), period: period, ch: make(chan time.Time, 1), seq: c.seq}
	if d <= 0 && period == 0 {
		w.ch <- c.now
		return w
	}
	c.waits = append(c.waits, w)
	c.notify()
	return w
}

// notify wakes Waiters; c.mu is held.
func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// C is the channel the timer or ticker fires on.
func (w *wait) C() <-chan time.Time { return w.ch }

// Stop removes the wait; false if it was no longer pending.
func (w *wait) Stop() bool {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.waits {
		if o == w {
			c.waits = append(c.waits[:i], c.waits[i+1:]...)
			c.notify()
			return true
		}
	}
	return false
}

type ticker struct{ *wait }

func (t ticker) Stop() { t.wait.Stop() }

// Advance moves the clock on by d, firing, in time order, every timer and
// tick that comes due (the clock reads each one's time as it fires). It
// returns how many timers (not ticks) fired.
func (c *Clock) Advance(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	fired := 0
	for {
		sort.SliceStable(c.waits, func(i, j int) bool {
			a, b := c.waits[i], c.waits[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.seq < b.seq
		})
		if len(c.waits) == 0 || c.waits[0].at.After(end) {
			break
		}
		w := c.waits[0]
		c.now = w.at
		select {
		case w.ch <- w.at:
		default: // a tick nobody took
		}
		if w.period > 0 {
			w.at = w.at.Add(w.period)
		} else {
			c.waits = c.waits[1:]
			fired++
		}
	}
	c.now = end
	c.notify()
	return fired
}

// Next is when the earliest pending timer or tick comes due; false when
// nothing waits on the clock.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, w := range c.waits {
		if next.IsZero() || w.at.Before(next) {
			next = w.at
		}
	}
	return next, !next.IsZero()
}

// Pending is how many timers and tickers wait on the clock.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waits)
}

// Waiters blocks until exactly n timers and tickers wait on the clock,
// failing t if that does not happen within guard (a bound on a hang, not a
// timing: a correct program gets there in microseconds).
func (c *Clock) Waiters(t testing.TB, n int, guard time.Duration) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got, changed := len(c.waits), c.changed
		c.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("clocktest: %d timers and tickers wait on the clock after %v, want %d", got, guard, n)
			return
		}
	}
}

// Instant is a clock.Clock that reads now and fires every timer at once: a
// wait on it is over as soon as it starts, for a test that steps time
// itself and takes a source's own account of how long things took.
func Instant(now func() time.Time) clock.Clock { return instant{now} }

type instant struct{ now func() time.Time }

type firedTimer struct{ ch chan time.Time }

func (f firedTimer) C() <-chan time.Time { return f.ch }
func (f firedTimer) Stop() bool          { return false }

type firedTicker struct{ firedTimer }

func (firedTicker) Stop() {}

func (c instant) Now() time.Time { return c.now() }

func (c instant) NewTimer(time.Duration) clock.Timer {
	ch := make(chan time.Time, 1)
	ch <- c.now()
	return firedTimer{ch}
}

// NewTicker ticks at once, and then never again.
func (c instant) NewTicker(time.Duration) clock.Ticker {
	ch := make(chan time.Time, 1)
	ch <- c.now()
	return firedTicker{firedTimer{ch}}
}
