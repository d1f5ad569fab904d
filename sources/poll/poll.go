// Package poll runs a source's poll function on a schedule: one poll in
// flight at a time, a deadline per poll, the next poll scheduled when the
// previous one returns, and exponential backoff with jitter on failure.
package poll

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Func performs one poll. It fills the batch's observations and may set
// Health.Target, Health.Detail and Health.Requests; Run sets the rest.
type Func func(ctx context.Context) (sources.Batch, error)

// Options configure Run.
type Options struct {
	Name       string           // the source's name, stamped on every batch
	Interval   time.Duration    // time between the end of one poll and the start of the next
	Timeout    time.Duration    // deadline of one poll; default 80% of Interval
	MaxBackoff time.Duration    // ceiling of the backoff; default DefaultMaxBackoff(Interval)
	Now        func() time.Time // clock; default time.Now
	Jitter     func() float64   // returns a value in [0,1); default math/rand/v2
	// After waits between polls; default time.After (a test's fake timer).
	After func(time.Duration) <-chan time.Time
}

func (o *Options) defaults() {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Timeout <= 0 || o.Timeout >= o.Interval {
		o.Timeout = o.Interval * 8 / 10
	}
	if o.MaxBackoff < o.Interval {
		o.MaxBackoff = DefaultMaxBackoff(o.Interval)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.After == nil {
		o.After = time.After
	}
}

// MaxRetryAfter bounds how long a server's Retry-After can hold a source back.
const MaxRetryAfter = 5 * time.Minute

// RetryAfterError is a failed poll whose server asked, with Retry-After,
// to be left alone for Wait. Run waits that long (at most MaxRetryAfter),
// or its backoff when longer, before the next poll, and says so in the
// batch's Health.Err.
type RetryAfterError struct {
	Wait time.Duration
	Err  error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter reads the Retry-After header of a 429 or 503 answer at now:
// delay-seconds or an HTTP date. ok is false for other statuses, or no or
// an unreadable header; a date in the past is a wait of 0.
func RetryAfter(status int, h http.Header, now time.Time) (wait time.Duration, ok bool) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0, false
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return min(time.Duration(n)*time.Second, MaxRetryAfter), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

// backoffCeiling bounds the default backoff: a recovered API is seen at most
// this long after it came back, so a verdict can clear within 30 s of
// recovery (one GET every 15 s is no burden on a sick API).
const backoffCeiling = 15 * time.Second

// DefaultMaxBackoff is the backoff ceiling for a poll interval: 8× the
// interval, at most backoffCeiling, never less than the interval itself.
func DefaultMaxBackoff(interval time.Duration) time.Duration {
	return max(interval, min(8*interval, backoffCeiling))
}

// earlyKey is the context key of a poll's early emitter.
type earlyKey struct{}

// Early emits b ahead of the poll's own batch, stamped as a successful
// batch of the poll (source, time, latency so far, interval): for a poll
// whose first part (a broker's nodes and alarms) is worth showing while its
// second (20,000 queues) is still being read. b must carry only what the
// poll has read in full; the poll's own batch follows as usual. It reports
// false, emitting nothing, when ctx is not a poll's context of Run.
func Early(ctx context.Context, b sources.Batch) bool {
	emit, ok := ctx.Value(earlyKey{}).(func(sources.Batch))
	if ok {
		emit(b)
	}
	return ok
}

// Run polls until ctx is cancelled, calling emit with one batch per poll.
// A failed poll emits a batch with Health.OK false, the error and its kind
// (sources.KindOf), and no data.
func Run(ctx context.Context, opt Options, poll Func, emit func(sources.Batch)) error {
	opt.defaults()
	failures := 0
	for {
		start := opt.Now()
		pctx, cancel := context.WithTimeout(ctx, opt.Timeout)
		pctx = context.WithValue(pctx, earlyKey{}, func(b sources.Batch) {
			b.Source, b.At = opt.Name, opt.Now()
			b.Health.OK, b.Health.Err, b.Health.Kind = true, "", ""
			b.Health.Latency, b.Health.Interval = b.At.Sub(start), opt.Interval
			emit(b)
		})
		b, err := poll(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		end := opt.Now()
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		wait := Delay(opt.Interval, opt.MaxBackoff, failures, opt.Jitter())
		if err != nil {
			msg := err.Error()
			var ra *RetryAfterError
			if errors.As(err, &ra) {
				// Not before the server said; later if the backoff says so.
				wait = max(wait, min(ra.Wait, MaxRetryAfter))
				msg += fmt.Sprintf("; next poll in %s, as the server asked (Retry-After)", wait.Round(100*time.Millisecond))
			}
			b = sources.Batch{Health: sources.Health{
				Err: msg, Kind: sources.KindOf(err), Target: b.Health.Target, Detail: b.Health.Detail, Requests: b.Health.Requests,
			}}
		} else {
			b.Health.OK = true
			b.Health.Err = ""
		}
		b.Source = opt.Name
		b.At = end
		b.Health.Latency = end.Sub(start)
		b.Health.Interval = opt.Interval
		emit(b)

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-opt.After(wait):
		}
	}
}

// Delay is the wait before the next poll after the given number of
// consecutive failures: the interval when healthy, otherwise the interval
// doubled per failure up to max, with "equal jitter" (half fixed, half
// random, from j in [0,1)) so that many stacktops do not retry in step.
func Delay(interval, max time.Duration, failures int, j float64) time.Duration {
	if failures <= 0 {
		return interval
	}
	d := interval
	for i := 0; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(j*float64(half))
}
