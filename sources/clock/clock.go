// Package clock is the time the streaming sources (heartbeat consumer,
// canary, RPC ping) read and wait on: the machine's clock in production, a
// hand-driven one (package clocktest) in their unit tests, so that what a
// test asserts never depends on how fast the machine runs.
package clock

import "time"

// Clock tells the time and makes timers and tickers that run on it.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
	NewTicker(d time.Duration) Ticker
}

// Timer is a time.Timer of a Clock.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; false if it already fired or stopped.
	Stop() bool
}

// Ticker is a time.Ticker of a Clock.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the machine's clock: time.Now, time.NewTimer and time.NewTicker.
var Real Clock = real{}

// Or is c, or Real when c is nil: what a source uses when its
// configuration leaves the clock unset.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Since is the time elapsed on c since t.
func Since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }

type real struct{}

func (real) Now() time.Time                   { return time.Now() }
func (real) NewTimer(d time.Duration) Timer   { return realTimer{time.NewTimer(d)} }
func (real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }
