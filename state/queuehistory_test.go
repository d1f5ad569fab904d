package state

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func TestQueueHistoryPacking(t *testing.T) {
	base := t0.Add(123456789 * time.Nanosecond)
	cases := []struct {
		name string
		in   QueueSample
		want QueueSample
	}{
		{"zero is zero", QueueSample{At: base}, QueueSample{At: base}},
		{"unknown stays unknown", QueueSample{At: base, Messages: -1, Unacked: -1, Consumers: -1}, QueueSample{At: base, Messages: -1, Unacked: -1, Consumers: -1}},
		{"any negative is unknown", QueueSample{At: base, Messages: -7, Unacked: math.MinInt64, Consumers: -2}, QueueSample{At: base, Messages: -1, Unacked: -1, Consumers: -1}},
		{"large counts", QueueSample{At: base, Messages: 4_294_967_294, Unacked: 2_000_000_000, Consumers: 65536}, QueueSample{At: base, Messages: 4_294_967_294, Unacked: 2_000_000_000, Consumers: 65536}},
		{"beyond the range saturates", QueueSample{At: base, Messages: 1 << 40, Unacked: math.MaxInt64}, QueueSample{At: base, Messages: 4_294_967_294, Unacked: 4_294_967_294}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewQueueHistory(c.in)
			if got := h.Sample(0); got != c.want || h.Len() != 1 {
				t.Errorf("got %+v (len %d), want %+v", got, h.Len(), c.want)
			}
		})
	}
}

// TestQueueHistoryTimes checks that sample times survive packing to the
// millisecond, across rebasing and clock jumps.
func TestQueueHistoryTimes(t *testing.T) {
	start := t0.Add(500 * time.Microsecond)
	cases := []struct {
		name  string
		steps []time.Duration // each sample's time after start
	}{
		{"regular polls", []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}},
		{"sub-millisecond parts are dropped after the first", []time.Duration{0, 10*time.Second + 999*time.Microsecond}},
		{"backwards", []time.Duration{0, -5 * time.Second, 10 * time.Second}},
		{"a jump of 30 days starts afresh", []time.Duration{0, 10 * time.Second, 30 * 24 * time.Hour, 30*24*time.Hour + 10*time.Second}},
		{"a jump of 30 days back starts afresh", []time.Duration{0, -30 * 24 * time.Hour}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h QueueHistory
			var want []time.Time
			for i, d := range c.steps {
				at := start.Add(d)
				h = h.with(QueueSample{At: at, Messages: int64(i)}, time.Time{}, 3, 1)
				want = append(want, at)
				if len(want) > 3 {
					want = want[1:]
				}
				// A jump beyond what 32-bit milliseconds reach drops the rest.
				if i > 0 && (d-c.steps[i-1] > 24*24*time.Hour || c.steps[i-1]-d > 24*24*time.Hour) {
					want = want[len(want)-1:]
				}
			}
			if h.Len() != len(want) {
				t.Fatalf("%d samples, want %d", h.Len(), len(want))
			}
			for i, w := range want {
				got := h.Sample(i).At
				if got.After(w) || w.Sub(got) >= time.Millisecond {
					t.Errorf("sample %d at %v, want %v to the millisecond", i, got, w)
				}
			}
			if last := h.Sample(h.Len() - 1); last.Messages != int64(len(c.steps)-1) {
				t.Errorf("last sample %+v", last)
			}
		})
	}
}

// arrayEnd identifies a history's backing array: its last element's
// address does not change when the front is dropped.
func arrayEnd(h QueueHistory) *queueSample {
	if cap(h.s) == 0 {
		return nil
	}
	return &h.s[:cap(h.s)][cap(h.s)-1]
}

// TestQueueHistoryNoReallocationStorm folds 1,000 queues first seen in the
// same poll for 400 polls: each array is allocated once, with room for the
// bound and a slack, and then copied about every slack polls; since the
// queues start at different points of their arrays, only about
// 1,000/slack of them are copied in any one poll, never all at once.
func TestQueueHistoryNoReallocationStorm(t *testing.T) {
	const n, polls = 1000, 400
	cfg := DefaultConfig()
	s := NewStore(cfg)
	qs := make([]sources.Queue, n)
	for i := range qs {
		qs[i] = queue(fmt.Sprintf("reply_%032x", i), 0)
	}
	ends := make([]*queueSample, n)
	var most, total int
	for p := range polls {
		snap := s.Apply(rabbitBatch(p, qs...))
		moved := 0
		for i := range snap.Queues {
			h := snap.Queues[i].History
			if e := arrayEnd(h); e != ends[i] {
				moved++
				ends[i] = e
			}
			if h.Len() > cfg.QueueSamples {
				t.Fatalf("poll %d: %d samples, bound %d", p, h.Len(), cfg.QueueSamples)
			}
		}
		if p > 0 {
			most = max(most, moved)
			total += moved
		}
	}
	slack := queueSlack(cfg.QueueSamples)
	if limit := n/slack + n/20; most > limit {
		t.Errorf("up to %d of %d histories copied in one poll, want at most %d (slack %d)", most, n, limit, slack)
	}
	// Each history is copied once per slack+1 polls or more rarely.
	if limit := n * polls / (slack + 1); total > limit {
		t.Errorf("%d copies over %d polls, want at most %d", total, polls, limit)
	}
	if c := cap(s.Snapshot().Queues[0].History.s); c > cfg.QueueSamples+2*slack+8 {
		t.Errorf("capacity %d for a bound of %d", c, cfg.QueueSamples)
	}
}

// TestQueueGrowthUnknown: a depth the broker did not say gives no growth,
// before or after, and stays unknown in the history.
func TestQueueGrowthUnknown(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(rabbitBatch(0, queue("conductor", 10)))
	snap := s.Apply(rabbitBatch(1, queue("conductor", -1)))
	q, _ := snap.Queue(QueueKey{"/", "conductor"})
	if q.GrowthPerMin != 0 || q.History.Len() != 2 || q.History.Messages(1) != -1 {
		t.Errorf("after an unknown depth: growth %v, history %+v", q.GrowthPerMin, q.History.Samples())
	}
	snap = s.Apply(rabbitBatch(2, queue("conductor", 30)))
	q, _ = snap.Queue(QueueKey{"/", "conductor"})
	if q.GrowthPerMin != 0 {
		t.Errorf("growth %v from an unknown depth", q.GrowthPerMin)
	}
	snap = s.Apply(rabbitBatch(3, queue("conductor", 40)))
	q, _ = snap.Queue(QueueKey{"/", "conductor"})
	if q.GrowthPerMin != 60 { // 10 more in 10 s
		t.Errorf("growth %v, want 60/min", q.GrowthPerMin)
	}
}
