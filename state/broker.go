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
	return out
}

// Node returns the broker node called name.
func (s *Snapshot) Node(name string) (Node, bool) {
	i, ok := slices.BinarySearchFunc(s.Nodes, name, func(n Node, name string) int { return strings.Compare(n.Name, name) })
	if !ok {
		return Node{}, false
	}
	return s.Nodes[i], true
}
