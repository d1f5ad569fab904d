package poll

import (
	"context"
	"errors"
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
