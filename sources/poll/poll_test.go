package poll

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func TestDelay(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name     string
		failures int
		j        float64
		want     time.Duration
	}{
		{"healthy uses the interval", 0, 0.9, 10 * s},
		{"first failure doubles, low jitter", 1, 0, 10 * s},
		{"first failure doubles, high jitter", 1, 0.999999, 20*s - 20*time.Microsecond},
		{"second failure", 2, 0.5, 30 * s},
		{"capped at max", 10, 0, 40 * s},
		{"capped at max, full jitter", 10, 0.5, 60 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Delay(10*s, 80*s, tt.failures, tt.j)
			if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("Delay(failures=%d, j=%v) = %v, want %v", tt.failures, tt.j, got, tt.want)
			}
		})
	}
}

func TestRunNeverOverlapsAndReportsFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var inFlight, maxInFlight, calls atomic.Int32
	poll := func(ctx context.Context) (sources.Batch, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		c := calls.Add(1)
		time.Sleep(3 * time.Millisecond) // longer than the interval: a ticker would overlap
		if c == 2 {
			return sources.Batch{Health: sources.Health{Target: "t"}}, errors.New("boom")
		}
		return sources.Batch{Services: []sources.Service{{Binary: "nova-compute", Host: "h"}}}, nil
	}
	var got []sources.Batch
	emit := func(b sources.Batch) {
		got = append(got, b)
		if len(got) == 3 {
			cancel()
		}
	}
	err := Run(ctx, Options{Name: "nova", Interval: time.Millisecond, Jitter: func() float64 { return 0 }}, poll, emit)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if maxInFlight.Load() != 1 {
		t.Errorf("polls in flight at once = %d, want 1", maxInFlight.Load())
	}
	if len(got) != 3 {
		t.Fatalf("emitted %d batches, want 3", len(got))
	}
	if !got[0].Health.OK || got[0].Source != "nova" || len(got[0].Services) != 1 || got[0].Health.Latency <= 0 {
		t.Errorf("first batch = %+v, want OK from nova with one service and a latency", got[0])
	}
	if got[1].Health.OK || got[1].Health.Err != "boom" || got[1].Services != nil || got[1].Health.Target != "t" {
		t.Errorf("failed batch = %+v, want not OK, err boom, no data, target kept", got[1])
	}
	if !got[2].Health.OK {
		t.Errorf("batch after recovery not OK: %+v", got[2])
	}
}

func TestRunPassesADeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var left time.Duration
	poll := func(ctx context.Context) (sources.Batch, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			t.Error("poll context has no deadline")
		}
		left = time.Until(dl)
		cancel()
		return sources.Batch{}, nil
	}
	_ = Run(ctx, Options{Name: "x", Interval: 10 * time.Second}, poll, func(sources.Batch) {})
	if left <= 0 || left > 8*time.Second {
		t.Errorf("deadline %v ahead, want within the default 80%% of the 10s interval", left)
	}
}

func TestDefaultMaxBackoff(t *testing.T) {
	const s = time.Second
	tests := []struct {
		interval, want time.Duration
	}{
		{1 * s, 8 * s},   // 8× the interval while under the ceiling
		{2 * s, 15 * s},  // the ceiling: recovery seen within 15 s
		{10 * s, 15 * s}, // the default interval
		{60 * s, 60 * s}, // never below the interval itself
		{100 * time.Millisecond, 800 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := DefaultMaxBackoff(tt.interval); got != tt.want {
			t.Errorf("DefaultMaxBackoff(%v) = %v, want %v", tt.interval, got, tt.want)
		}
	}
}

// TestRunHonoursRetryAfter: a poll whose server answered with Retry-After
// waits that long before the next one (at most MaxRetryAfter), whatever the
// backoff says, and the batch's error says so. The waits are read off a
// fake timer: no wall clock.
func TestRunHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name     string
		wait     time.Duration
		wantWait time.Duration
		wantErr  string
	}{
		{"42 s", 42 * time.Second, 42 * time.Second, "HTTP 429; next poll in 42s, as the server asked (Retry-After)"},
		{"an hour is capped", time.Hour, MaxRetryAfter, "HTTP 429; next poll in 5m0s, as the server asked (Retry-After)"},
		// The backoff after one failure at 10 s, no jitter: 7.5 s (see TestDelay).
		{"shorter than the backoff: the backoff", 3 * time.Second, 7500 * time.Millisecond, "HTTP 429; next poll in 7.5s, as the server asked (Retry-After)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			poll := func(ctx context.Context) (sources.Batch, error) {
				calls++
				if calls == 1 {
					return sources.Batch{}, fmt.Errorf("rabbitmq: overview: %w", &RetryAfterError{Wait: tt.wait, Err: errors.New("HTTP 429")})
				}
				return sources.Batch{}, nil
			}
			var waits []time.Duration
			after := func(d time.Duration) <-chan time.Time {
				waits = append(waits, d)
				c := make(chan time.Time, 1)
				c <- time.Time{}
				return c
			}
			var got []sources.Batch
			emit := func(b sources.Batch) {
				if got = append(got, b); len(got) == 2 {
					cancel()
				}
			}
			_ = Run(ctx, Options{Name: "x", Interval: 10 * time.Second, After: after, Jitter: func() float64 { return 0 }}, poll, emit)
			// After the second poll Run may or may not ask for its next wait.
			if len(waits) == 0 || waits[0] != tt.wantWait || (len(waits) > 1 && waits[1] != 10*time.Second) { // then healthy: the interval
				t.Errorf("waits %v, want [%v 10s]", waits, tt.wantWait)
			}
			if len(got) != 2 || got[0].Health.OK || got[0].Health.Err != "rabbitmq: overview: "+tt.wantErr || !got[1].Health.OK {
				t.Errorf("batches %+v", got)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)
	h := func(v string) http.Header { return http.Header{"Retry-After": []string{v}} }
	tests := []struct {
		name   string
		status int
		h      http.Header
		want   time.Duration
		ok     bool
	}{
		{"seconds", 429, h("30"), 30 * time.Second, true},
		{"503 too", 503, h("7"), 7 * time.Second, true},
		{"an HTTP date", 429, h(now.Add(90 * time.Second).Format(http.TimeFormat)), 90 * time.Second, true},
		{"a date past", 429, h(now.Add(-time.Hour).Format(http.TimeFormat)), 0, true},
		{"a day is capped", 429, h("86400"), MaxRetryAfter, true},
		{"negative", 429, h("-5"), 0, false},
		{"garbage", 429, h("soon"), 0, false},
		{"no header", 429, http.Header{}, 0, false},
		{"another status", 500, h("30"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.status, tt.h, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("RetryAfter = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestEarly: a poll may emit what it has read in full before it is done; the
// early batch is stamped as the poll's own (source, time, latency so far,
// interval, OK) and comes before it; outside Run, Early emits nothing.
func TestEarly(t *testing.T) {
	clk := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { clk = clk.Add(100 * time.Millisecond); return clk }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	poll := func(ctx context.Context) (sources.Batch, error) {
		if !Early(ctx, sources.Batch{Nodes: []sources.Node{{Name: "rabbit@a"}}, Health: sources.Health{Target: "t", Err: "left by mistake"}}) {
			t.Error("Early outside Run's poll context")
		}
		return sources.Batch{Nodes: []sources.Node{{Name: "rabbit@a"}}, Queues: []sources.Queue{}}, nil
	}
	var got []sources.Batch
	_ = Run(ctx, Options{Name: "rabbitmq", Interval: 5 * time.Second, Now: now}, poll, func(b sources.Batch) {
		if got = append(got, b); len(got) == 2 {
			cancel()
		}
	})
	if len(got) != 2 {
		t.Fatalf("%d batches, want the early one and the poll's", len(got))
	}
	e, full := got[0], got[1]
	if e.Source != "rabbitmq" || !e.Health.OK || e.Health.Err != "" || e.Health.Interval != 5*time.Second || e.Health.Target != "t" ||
		e.Health.Latency != 100*time.Millisecond || e.Queues != nil || len(e.Nodes) != 1 {
		t.Errorf("early batch %+v", e)
	}
	if !e.At.Before(full.At) || full.Queues == nil || !full.Health.OK {
		t.Errorf("early at %v, full %+v at %v", e.At, full, full.At)
	}
	if Early(context.Background(), sources.Batch{}) {
		t.Error("Early emitted outside a poll")
	}
}
