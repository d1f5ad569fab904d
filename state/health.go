package state

import (
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// foldHealth returns a copy of list (sorted by Name) with b's poll recorded.
// A failed poll (Health.OK false) counts as a failure and keeps LastSuccess.
func foldHealth(list []SourceHealth, b sources.Batch, at time.Time) []SourceHealth {
	i, found := slices.BinarySearchFunc(list, b.Source, func(h SourceHealth, name string) int {
		return strings.Compare(h.Name, name)
	})
	out := make([]SourceHealth, len(list), len(list)+1)
	copy(out, list)
	if !found {
		out = slices.Insert(out, i, SourceHealth{Name: b.Source})
	}
	h := &out[i]
	h.LastAttempt = at
	h.Polls++
	h.Latency = b.Health.Latency
	if b.Health.Interval > 0 {
		h.Interval = b.Health.Interval
	}
	if b.Health.Target != "" {
		h.Target = b.Health.Target
	}
	if b.Health.Detail != "" {
		h.Detail = b.Health.Detail
	}
	if b.Health.OK {
		h.LastSuccess = at
		h.LastErr = ""
		h.Kind = sources.FailNone
		h.Failures = 0
	} else {
		h.LastErr = b.Health.Err
		if h.LastErr == "" {
			h.LastErr = "poll failed"
		}
		h.Kind = b.Health.Kind
		if h.Kind == sources.FailNone {
			h.Kind = sources.FailUnknown // a recording made before kinds, or a source that did not say
		}
		h.Failures++
	}
	return out
}

// Age returns how long ago the source last succeeded; 0 when it never did.
func (h SourceHealth) Age(now time.Time) time.Duration {
	if h.LastSuccess.IsZero() {
		return 0
	}
	return now.Sub(h.LastSuccess)
}

// Stale reports whether the source's data is out of date: it never
// succeeded, or its last success is older than twice its poll interval.
// With no known interval only "never succeeded" counts as stale.
func (h SourceHealth) Stale(now time.Time) bool {
	if h.LastSuccess.IsZero() {
		return true
	}
	return h.Interval > 0 && now.Sub(h.LastSuccess) > 2*h.Interval
}

// Silent reports whether the source has not reported at all, good or bad,
// for twice its poll interval: what its last batch said (a failure's kind
// included) is then no longer news of now.
func (h SourceHealth) Silent(now time.Time) bool {
	if h.LastAttempt.IsZero() {
		return true
	}
	return h.Interval > 0 && now.Sub(h.LastAttempt) > 2*h.Interval
}
