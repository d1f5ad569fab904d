package state

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/sources"
)

func rabbitBatch(n int, queues ...sources.Queue) sources.Batch {
	if queues == nil {
		queues = []sources.Queue{}
	}
	return sources.Batch{Source: sources.NameRabbitMQ, At: at(n), Health: sources.Health{OK: true, Interval: poll}, Queues: queues}
}

func queue(name string, messages int64) sources.Queue {
	return sources.Queue{VHost: "/", Name: name, Messages: messages, Ready: messages, Consumers: 1}
}

func TestQueueRole(t *testing.T) {
	cases := []struct {
		name, role, host string
	}{
		{"compute", "compute", ""},
		{"compute.compute-07", "compute", "compute-07"},
		{"compute.compute-07.example.org", "compute", "compute-07.example.org"},
		{"conductor", "conductor", ""},
		{"conductor.ctl-1", "conductor", "ctl-1"},
		{"scheduler", "scheduler", ""},
		{"scheduler.ctl-1", "scheduler", "ctl-1"},
		{"reply_3f1c0e5a9b8d4c2e8f7a6b5c4d3e2f10", "reply", ""},
		{"reply_", "", ""},
		{"reply_not-hex", "", ""},
		{"compute_fanout_9c2b7e0d1a3f4b5c6d7e8f9a0b1c2d3e", "fanout", ""},
		{"q-agent-notifier-port-update_fanout_0a1b2c", "fanout", ""},
		{"compute_fanout_", "", ""},
		{"notifications.info", "notifications", ""},
		{"versioned_notifications.error", "notifications", ""},
		{"q-plugin", "neutron", ""},
		{"q-agent-notifier-security_group-update", "neutron", ""},
		{"cinder-volume.ctl-1@lvm", "cinder-volume", "ctl-1@lvm"},
		{"computer", "", ""},
		{"my-app-queue", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		role, host := QueueRole(c.name)
		if role != c.role || host != c.host {
			t.Errorf("QueueRole(%q) = %q, %q; want %q, %q", c.name, role, host, c.role, c.host)
		}
	}
}

func TestQueuesFold(t *testing.T) {
	s := NewStore(DefaultConfig())
	s.Apply(rabbitBatch(0, queue("conductor", 10), queue("compute.c1", 0), queue("gone", 5)))
	rates := &sources.QueueRates{Publish: 3, Deliver: 2, Ack: 1}
	q := queue("conductor", 40)
	q.Rates = rates
	other := sources.Queue{VHost: "/other", Name: "conductor", Messages: 1, Consumers: -1}
	snap := s.Apply(rabbitBatch(6, queue("compute.c1", 0), q, other)) // one minute later
	rates.Publish = 99                                                // the batch's memory is not the snapshot's

	var keys []string
	for _, q := range snap.Queues {
		keys = append(keys, q.Key.VHost+"|"+q.Key.Name)
	}
	if got, want := strings.Join(keys, " "), "/|compute.c1 /|conductor /other|conductor"; got != want {
		t.Fatalf("queues %q, want %q", got, want)
	}
	c, _ := snap.Queue(QueueKey{"/", "conductor"})
	if c.GrowthPerMin != 30 || c.Role != "conductor" || c.History.Len() != 2 || c.Rates == nil || c.Rates.Publish != 3 {
		t.Errorf("conductor %+v rates %+v", c, c.Rates)
	}
	if o, _ := snap.Queue(QueueKey{"/other", "conductor"}); o.GrowthPerMin != 0 || o.Consumers != -1 || o.History.Len() != 1 {
		t.Errorf("new queue %+v: no growth before two polls", o)
	}
	if cq, _ := snap.Queue(QueueKey{"/", "compute.c1"}); cq.Role != "compute" || cq.Host != "c1" {
		t.Errorf("compute.c1 role %q host %q", cq.Role, cq.Host)
	}
	snap = s.Apply(rabbitBatch(7, queue("conductor", 35)))
	c, _ = snap.Queue(QueueKey{"/", "conductor"})
	if math.Abs(c.GrowthPerMin-(-30)) > 1e-9 || c.Rates != nil {
		t.Errorf("growth %v rates %v, want -30/min and no rates", c.GrowthPerMin, c.Rates)
	}
	if len(snap.Queues) != 1 {
		t.Errorf("%d queues after a complete list of one", len(snap.Queues))
	}
}

// TestQueueHistorySharedSafely checks the ring invariant: a snapshot's
// History never changes after later Applies, even across the reallocations
// of a full ring.
func TestQueueHistorySharedSafely(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueSamples = 10
	s := NewStore(cfg)
	type kept struct {
		snap *Snapshot
		want []QueueSample
	}
	var olds []kept
	for i := range 60 {
		snap := s.Apply(rabbitBatch(i, queue("conductor", int64(i)), queue(fmt.Sprintf("q%d", i%3), int64(i))))
		q, _ := snap.Queue(QueueKey{"/", "conductor"})
		h := q.History.Samples()
		if len(h) > cfg.QueueSamples {
			t.Fatalf("poll %d: %d samples, bound %d", i, len(h), cfg.QueueSamples)
		}
		last := h[len(h)-1]
		if last.Messages != int64(i) || !last.At.Equal(at(i)) {
			t.Fatalf("poll %d: last sample %+v", i, last)
		}
		olds = append(olds, kept{snap, h})
		// Another Apply that says nothing about queues shares the slice.
		hb := s.Apply(sources.Batch{Source: sources.NameHeartbeat, At: at(i), Health: sources.Health{OK: true}})
		if &hb.Queues[0] != &snap.Queues[0] {
			t.Fatalf("poll %d: a batch without queues rebuilt the queue slice", i)
		}
	}
	for i, o := range olds {
		q, _ := o.snap.Queue(QueueKey{"/", "conductor"})
		h := q.History.Samples()
		if len(h) != len(o.want) {
			t.Fatalf("snapshot %d: history length changed from %d to %d", i, len(o.want), len(h))
		}
		for j := range h {
			if h[j] != o.want[j] {
				t.Fatalf("snapshot %d: sample %d changed from %+v to %+v", i, j, o.want[j], h[j])
			}
		}
	}
}

func TestAppendBounded(t *testing.T) {
	for _, bound := range []int{1, 2, 5, 40} {
		var s []int
		var views [][]int
		var copies [][]int
		for i := range 300 {
			s = appendBounded(s, i, bound)
			if len(s) > bound || s[len(s)-1] != i {
				t.Fatalf("bound %d, append %d: len %d last %d", bound, i, len(s), s[len(s)-1])
			}
			if cap(s) > bound+max(bound/4, 8) {
				t.Fatalf("bound %d: cap %d exceeds the slack limit", bound, cap(s))
			}
			if want := min(i+1, bound); len(s) != want {
				t.Fatalf("bound %d, append %d: len %d, want %d", bound, i, len(s), want)
			}
			views = append(views, s)
			copies = append(copies, append([]int(nil), s...))
		}
		for i := range views {
			for j := range views[i] {
				if views[i][j] != copies[i][j] {
					t.Fatalf("bound %d: view %d overwritten at %d", bound, i, j)
				}
			}
		}
	}
}
