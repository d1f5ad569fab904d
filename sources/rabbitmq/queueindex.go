package rabbitmq

import (
	"cmp"
	"slices"
	"strings"

	"github.com/stacktop/stacktop/sources"
)

// queueIndex holds the prometheus path's queues from one poll to the next.
// A broker lists the same queues in the same order poll after poll, so
// most of a poll is recognising names already known: the parser tries the
// queue after the one its last sample was about (one comparison), else
// looks the name up (one map lookup), and only a queue new since the last
// poll costs a string, an index entry and a place in the order. The
// queues come out sorted (vhost, then name) from the last poll's order,
// with the new ones merged in: no sort of the whole list, no map of the
// poll's queues. At 20,000 queues that is a third of the poll's CPU
// (BENCHMARKS.md).
//
// A poll is begin, then parseDetailedQueues for each node's response, then
// end. A poll that fails before end leaves the index as its last complete
// poll did: begin forgets what the failed one added. Queues gone stay
// indexed, unseen, until they are a quarter of the index; then it is
// rebuilt without them. The zero value is not ready: newQueueIndex.
type queueIndex struct {
	keep   func(name string) bool // the queue-name filter; nil keeps all
	vhosts map[string]*vhostQueues
	list   []indexedQueue // every queue indexed, in the order first seen
	order  []int32        // the last complete poll's kept queues (in list), sorted
	added  []int32        // kept queues the current poll listed that are not in order
	mark   int            // list[mark:] were added by the current (or a failed) poll
	epoch  uint32         // the current poll's number
	live   int            // queues the current poll has listed
}

// vhostQueues indexes one vhost's queues by name: where in list.
type vhostQueues struct {
	name   string
	queues map[string]int32
}

// indexedQueue is a queue known to the index.
type indexedQueue struct {
	vq      *vhostQueues
	name    string
	keep    bool          // the filter keeps it
	inOrder bool          // it is in the last complete poll's order
	epoch   uint32        // the last poll that listed it
	q       sources.Queue // that poll's values
}

// newQueueIndex is an empty index whose queues pass keep (nil: all).
func newQueueIndex(keep func(name string) bool) *queueIndex {
	return &queueIndex{keep: keep, vhosts: map[string]*vhostQueues{}}
}

// begin starts a poll, forgetting what a poll that never ended added.
func (x *queueIndex) begin() {
	for i := x.mark; i < len(x.list); i++ {
		e := &x.list[i]
		delete(e.vq.queues, e.name)
		if len(e.vq.queues) == 0 {
			delete(x.vhosts, e.vq.name)
		}
	}
	clear(x.list[x.mark:])
	x.list = x.list[:x.mark]
	x.added = x.added[:0]
	x.epoch++
	x.live = 0
}

// addVHost indexes a vhost new to the index; name must be valid UTF-8.
func (x *queueIndex) addVHost(name []byte) *vhostQueues {
	vq := &vhostQueues{name: string(name), queues: map[string]int32{}}
	x.vhosts[vq.name] = vq
	return vq
}

// add indexes a queue new to the index (name valid UTF-8) and returns where.
func (x *queueIndex) add(vq *vhostQueues, name string) int {
	i := len(x.list)
	x.list = append(x.list, indexedQueue{vq: vq, name: name, keep: x.keep == nil || x.keep(name)})
	vq.queues[name] = int32(i)
	return i
}

// listed marks list[i] as listed by the current poll and returns its
// values to fill, all unknown at first; nil when the filter drops it. The
// pointer is good until the next add.
func (x *queueIndex) listed(i int) *sources.Queue {
	e := &x.list[i]
	if e.epoch != x.epoch {
		e.epoch = x.epoch
		x.live++
		e.q = sources.Queue{VHost: e.vq.name, Name: e.name, Messages: -1, Ready: -1, Unacked: -1, Consumers: -1}
		if e.keep && !e.inOrder { // new, or back after a poll without it
			x.added = append(x.added, int32(i))
		}
	}
	if !e.keep {
		return nil
	}
	return &e.q
}

// end ends a poll and returns its queues, sorted by vhost, then name.
func (x *queueIndex) end() []sources.Queue {
	added := x.added
	slices.SortFunc(added, x.cmp)
	order := make([]int32, 0, x.live)
	kept := x.order
	for len(kept) > 0 || len(added) > 0 {
		switch {
		case len(kept) > 0 && x.list[kept[0]].epoch != x.epoch: // gone
			x.list[kept[0]].inOrder = false
			kept = kept[1:]
		case len(added) == 0 || len(kept) > 0 && x.cmp(kept[0], added[0]) < 0:
			order, kept = append(order, kept[0]), kept[1:]
		default:
			x.list[added[0]].inOrder = true
			order, added = append(order, added[0]), added[1:]
		}
	}
	x.added = x.added[:0]
	out := make([]sources.Queue, len(order))
	for k, i := range order {
		q := &x.list[i].q
		if q.Ready >= 0 && q.Unacked >= 0 {
			q.Messages = q.Ready + q.Unacked
		}
		out[k] = *q
	}
	x.order, x.mark = order, len(x.list)
	if gone := len(x.list) - x.live; gone > 64 && gone > len(x.list)/4 {
		x.compact()
	}
	return out
}

// cmp orders two indexed queues by vhost, then name.
func (x *queueIndex) cmp(a, b int32) int {
	ea, eb := &x.list[a], &x.list[b]
	return cmp.Or(strings.Compare(ea.vq.name, eb.vq.name), strings.Compare(ea.name, eb.name))
}

// compact rebuilds the index with only the queues the last poll listed.
func (x *queueIndex) compact() {
	at := make([]int32, len(x.list))
	list := make([]indexedQueue, 0, x.live+x.live/8)
	x.vhosts = map[string]*vhostQueues{}
	for i := range x.list {
		e := x.list[i]
		if e.epoch != x.epoch {
			at[i] = -1
			continue
		}
		vq := x.vhosts[e.vq.name]
		if vq == nil {
			vq = &vhostQueues{name: e.vq.name, queues: map[string]int32{}}
			x.vhosts[vq.name] = vq
		}
		e.vq = vq
		at[i] = int32(len(list))
		vq.queues[e.name] = at[i]
		list = append(list, e)
	}
	for k, i := range x.order {
		x.order[k] = at[i]
	}
	x.list, x.mark = list, len(list)
}
