package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// maxNodeRestarts bounds the restart times remembered per broker node.
const maxNodeRestarts = 64

// nodeState is what folding needs about a broker node beyond its Node.
type nodeState struct {
	uptime   time.Duration // last known uptime, -1 when never known
	restarts []time.Time   // restart times within Retention, oldest first
}

// foldNodes turns a complete node list into a new sorted list, detecting
// restarts from uptime going down. Nodes missing from the list are dropped;
// a duplicate name keeps the last row.
func (s *Store) foldNodes(f *fold, in []sources.Node) []Node {
	out := make([]Node, 0, len(in))
	for _, n := range in {
		n.Partitions = slices.Clone(n.Partitions)
		out = append(out, Node{Node: n})
	}
	slices.SortStableFunc(out, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	// Keep the last of equal names: compact from the back.
	dedup := out[:0]
	for i := range out {
		if i+1 < len(out) && out[i+1].Name == out[i].Name {
			continue
		}
		dedup = append(dedup, out[i])
	}
	out = dedup

	uptimeRestart := false
	seen := make(map[string]bool, len(out))
	for i := range out {
		n := &out[i]
		seen[n.Name] = true
		st := s.nodes[n.Name]
		if st == nil {
			st = &nodeState{uptime: -1}
			s.nodes[n.Name] = st
		}
		if n.Uptime >= 0 {
			if st.uptime >= 0 && n.Uptime < st.uptime {
				st.restarts = appendBounded(st.restarts, f.at, maxNodeRestarts)
				f.restarts = append(f.restarts, Restart{
					At:       f.at,
					Kind:     RestartBrokerNode,
					Where:    n.Name,
					What:     "rabbitmq",
					Evidence: fmt.Sprintf("uptime went from %s to %s", st.uptime.Round(time.Second), n.Uptime.Round(time.Second)),
					Source:   f.b.Source,
				})
				uptimeRestart = true
			}
			st.uptime = n.Uptime
		}
		st.restarts = trimBefore(st.restarts, f.cutoff, func(t *time.Time) time.Time { return *t })
		n.Restarts = len(st.restarts)
	}
	for name := range s.nodes {
		if !seen[name] {
			delete(s.nodes, name)
		}
	}
	s.nodeSrc = f.b.Source
	if r := s.refused; !r.since.IsZero() {
		s.refused = refusal{}
		if !uptimeRestart && len(out) > 0 {
			where := out[0].Name
			if len(out) > 1 {
				where = r.target // which node's listener refused is not known
			} else {
				st := s.nodes[where]
				st.restarts = appendBounded(st.restarts, f.at, maxNodeRestarts)
				out[0].Restarts = len(st.restarts)
			}
			f.restarts = append(f.restarts, Restart{
				At: f.at, Kind: RestartBrokerNode, Where: where, What: "rabbitmq",
				Evidence: fmt.Sprintf("refused connections for %s (%s), then answered with node uptime continuous: "+
					"the RabbitMQ application was restarted, not the node (stop_app/start_app)",
					f.at.Sub(r.since).Round(time.Second), r.err),
				Source: f.b.Source,
			})
		}
	}
	return out
}

// refusal remembers the broker source failing with "connection refused":
// something answered on the host but nothing listened on the port, so the
// RabbitMQ application (and its management listener) was down. When the
// node list comes back with uptimes that kept growing, the Erlang VM stayed
// up: that is an application restart (rabbitmqctl stop_app / start_app), the
// way the seed incident's broker restart may be done, and no uptime reset
// would ever show it. A timeout proves nothing (a network problem looks the
// same), so only refusals count.
type refusal struct {
	since  time.Time // first refused poll
	target string    // what the source polls, for a cluster's "where"
	err    string    // what failed, in short
}

// noteRefusal starts a refusal when the source that delivers the node list
// fails because its broker refused the connection.
func (s *Store) noteRefusal(b sources.Batch, at time.Time) {
	if b.Health.OK || b.Source != s.nodeSrc || !s.refused.since.IsZero() || !strings.Contains(b.Health.Err, "connection refused") {
		return
	}
	s.refused = refusal{since: at, target: b.Health.Target, err: "connection refused"}
}

// Node returns the broker node called name.
func (s *Snapshot) Node(name string) (Node, bool) {
	i, ok := slices.BinarySearchFunc(s.Nodes, name, func(n Node, name string) int { return strings.Compare(n.Name, name) })
	if !ok {
		return Node{}, false
	}
	return s.Nodes[i], true
}
