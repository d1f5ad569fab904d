package state

import "testing"

// TestQueueProblem: the queues list's "problem" is a backlog of
// QueueBacklog messages, no consumers the broker reported, or growth; a
// consumer count the broker did not give (-1) is no problem by itself.
func TestQueueProblem(t *testing.T) {
	tests := []struct {
		name          string
		q             Queue
		backlog, want bool
	}{
		{"calm", Queue{Messages: QueueBacklog - 1, Consumers: 1}, false, false},
		{"backlog", Queue{Messages: QueueBacklog, Consumers: 1}, true, true},
		{"no consumer", Queue{Consumers: 0}, false, true},
		{"consumers unknown", Queue{Consumers: -1}, false, false},
		{"growing", Queue{Consumers: 2, GrowthPerMin: 0.5}, false, true},
		{"shrinking", Queue{Consumers: 2, GrowthPerMin: -3}, false, false},
	}
	for _, tt := range tests {
		if got := tt.q.Backlogged(); got != tt.backlog {
			t.Errorf("%s: Backlogged() = %v, want %v", tt.name, got, tt.backlog)
		}
		if got := tt.q.Problem(); got != tt.want {
			t.Errorf("%s: Problem() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
