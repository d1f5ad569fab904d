package state

import (
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func nodesBatch(n int, ov *sources.Overview, nodes ...sources.Node) sources.Batch {
	if nodes == nil {
		nodes = []sources.Node{}
	}
	return sources.Batch{Source: sources.NameRabbitMQ, At: at(n), Health: sources.Health{OK: true, Interval: poll}, Overview: ov, Nodes: nodes}
}

func node(name string, uptime time.Duration) sources.Node {
	return sources.Node{Name: name, Running: true, Uptime: uptime}
}

func TestNodesRestarts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Retention = 10 * time.Minute
	s := NewStore(cfg)
	ov := &sources.Overview{ClusterName: "rabbit@cluster", Queues: 3}
	s.Apply(nodesBatch(0, ov, node("rabbit@b", 5*time.Hour), node("rabbit@a", 2*time.Hour)))
	ov.Queues = 99 // the snapshot holds a copy
	steps := []struct {
		poll          int
		a, b          time.Duration
		wantA, wantB  int
		wantRestartsB int // restarts of b in the timeline
	}{
		{1, 2*time.Hour + poll, 5*time.Hour + poll, 0, 0, 0},
		{2, 2*time.Hour + 2*poll, 3 * time.Second, 0, 1, 1}, // b restarted
		{3, -1, 13 * time.Second, 0, 1, 1},                  // a unknown: not a restart
		{4, 2*time.Hour + 4*poll, 23 * time.Second, 0, 1, 1},
		{5, 2*time.Hour + 5*poll, 2 * time.Second, 0, 2, 2},           // b again
		{70, 2*time.Hour + 70*poll, 2*time.Second + 65*poll, 0, 0, 0}, // both out of the 10 min retention
	}
	var snap *Snapshot
	for _, st := range steps {
		snap = s.Apply(nodesBatch(st.poll, nil, node("rabbit@a", st.a), node("rabbit@b", st.b)))
		if snap.Nodes[0].Name != "rabbit@a" || snap.Nodes[1].Name != "rabbit@b" {
			t.Fatalf("poll %d: nodes not sorted: %s, %s", st.poll, snap.Nodes[0].Name, snap.Nodes[1].Name)
		}
		if snap.Nodes[0].Restarts != st.wantA || snap.Nodes[1].Restarts != st.wantB {
			t.Errorf("poll %d: restarts a=%d b=%d, want %d %d", st.poll, snap.Nodes[0].Restarts, snap.Nodes[1].Restarts, st.wantA, st.wantB)
		}
		n := 0
		for _, r := range snap.Restarts {
			if r.Kind == RestartBrokerNode && r.Where == "rabbit@b" {
				n++
			}
		}
		if n != st.wantRestartsB {
			t.Errorf("poll %d: %d broker restarts in the timeline, want %d", st.poll, n, st.wantRestartsB)
		}
	}
	if snap.Overview == nil || snap.Overview.Queues != 3 || snap.Overview.ClusterName != "rabbit@cluster" {
		t.Errorf("overview %+v, want the first poll's, copied", snap.Overview)
	}
	s2 := NewStore(DefaultConfig())
	s2.Apply(nodesBatch(0, nil, node("rabbit@a", time.Hour)))
	snap = s2.Apply(nodesBatch(1, nil, node("rabbit@a", time.Minute)))
	if len(snap.Restarts) != 1 || snap.Restarts[0].Evidence != "uptime went from 1h0m0s to 1m0s" || snap.Restarts[0].Source != sources.NameRabbitMQ {
		t.Errorf("restart %+v", snap.Restarts)
	}
	if n, ok := snap.Node("rabbit@a"); !ok || n.Restarts != 1 {
		t.Errorf("Node lookup %+v %v", n, ok)
	}
	snap = s2.Apply(nodesBatch(2, nil))
	if len(snap.Nodes) != 0 {
		t.Errorf("empty node list left %d nodes", len(snap.Nodes))
	}
}

func TestBrokerApplicationRestart(t *testing.T) {
	refused := func(n int, src string) sources.Batch {
		return sources.Batch{Source: src, At: at(n), Health: sources.Health{Interval: poll, Target: "http://127.0.0.1:15672",
			Err: "rabbitmq: list nodes: broker unreachable: http://127.0.0.1:15672/api/nodes: dial tcp 127.0.0.1:15672: connect: connection refused"}}
	}
	timedOut := func(n int, src string) sources.Batch {
		return sources.Batch{Source: src, At: at(n), Health: sources.Health{Interval: poll, Err: "rabbitmq: list nodes: timed out after 8s"}}
	}
	up := func(n int, uptime time.Duration) sources.Batch {
		return nodesBatch(n, nil, node("rabbit@mq-1", uptime))
	}
	tests := []struct {
		name         string
		batches      []sources.Batch
		wantRestarts int
		wantEvidence string
	}{
		{"stop_app then start_app: refused, back with uptime continuous",
			[]sources.Batch{up(0, time.Hour), refused(1, sources.NameRabbitMQ), refused(2, sources.NameRabbitMQ), up(3, time.Hour+3*poll)},
			1, "refused connections for 20s (connection refused), then answered with node uptime continuous"},
		{"node restarted: the uptime reset says it, once",
			[]sources.Batch{up(0, time.Hour), refused(1, sources.NameRabbitMQ), up(2, 5*time.Second)},
			1, "uptime went from 1h0m0s to 5s"},
		{"timeouts prove nothing: a network problem looks the same",
			[]sources.Batch{up(0, time.Hour), timedOut(1, sources.NameRabbitMQ), up(2, time.Hour+2*poll)}, 0, ""},
		{"another source's refusal is not the management listener",
			[]sources.Batch{up(0, time.Hour), refused(1, sources.NameHeartbeat), up(2, time.Hour+2*poll)}, 0, ""},
		{"refused before any node was ever listed",
			[]sources.Batch{refused(0, sources.NameRabbitMQ), up(1, time.Hour)}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(DefaultConfig())
			var snap *Snapshot
			for _, b := range tt.batches {
				snap = s.Apply(b)
			}
			var got []Restart
			for _, r := range snap.Restarts {
				if r.Kind == RestartBrokerNode {
					got = append(got, r)
				}
			}
			if len(got) != tt.wantRestarts {
				t.Fatalf("broker restarts %+v, want %d", got, tt.wantRestarts)
			}
			if tt.wantRestarts == 0 {
				return
			}
			if got[0].Where != "rabbit@mq-1" || !strings.Contains(got[0].Evidence, tt.wantEvidence) {
				t.Errorf("restart %+v, want rabbit@mq-1 with evidence %q", got[0], tt.wantEvidence)
			}
			if snap.Nodes[0].Restarts != 1 {
				t.Errorf("node counts %d restarts, want 1", snap.Nodes[0].Restarts)
			}
		})
	}
}
