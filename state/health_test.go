package state

import (
	"testing"
	"time"
)

// TestSourceSilent: a source is silent when its last report, good or bad,
// is older than twice its interval, or it never reported.
func TestSourceSilent(t *testing.T) {
	now := time.Date(2026, 8, 12, 3, 12, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		h    SourceHealth
		want bool
	}{
		{"never reported", SourceHealth{Interval: 10 * time.Second}, true},
		{"reported a failure 5s ago", SourceHealth{Interval: 10 * time.Second, LastAttempt: now.Add(-5 * time.Second), LastErr: "blocked"}, false},
		{"at twice the interval", SourceHealth{Interval: 10 * time.Second, LastAttempt: now.Add(-20 * time.Second)}, false},
		{"past twice the interval", SourceHealth{Interval: 10 * time.Second, LastAttempt: now.Add(-21 * time.Second)}, true},
		{"no interval known", SourceHealth{LastAttempt: now.Add(-time.Hour)}, false},
	} {
		if got := tt.h.Silent(now); got != tt.want {
			t.Errorf("%s: Silent = %v, want %v", tt.name, got, tt.want)
		}
	}
}
