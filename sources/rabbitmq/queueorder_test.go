package rabbitmq

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stacktop/stacktop/sources"
)

// TestQueueOrder: poll after poll, the queues come out sorted whatever
// changed since the last poll, and the kept order holds no queue gone.
func TestQueueOrder(t *testing.T) {
	q := func(vhost, name string) sources.Queue {
		return sources.Queue{VHost: vhost, Name: name, Ready: int64(len(name)), Consumers: -1}
	}
	all := []sources.Queue{q("/", "b"), q("/", "a"), q("nova", "compute.c1"), q("/", "reply_1"), q("nova", "conductor"), q("a", "z")}
	polls := []struct {
		name   string
		queues []sources.Queue
	}{
		{"first poll: nothing to go by", all},
		{"the same queues", all},
		{"the same queues, values changed", append(slices.Clone(all[:5]), sources.Queue{VHost: "a", Name: "z", Ready: 99})},
		{"one gone", all[1:]},
		{"one new", append(slices.Clone(all[1:]), q("/", "0-new"))},
		{"one gone, one new: as many as before", append(slices.Clone(all[2:]), q("/", "a"), q("zz", "new"))},
		{"none", nil},
		{"all back", all},
		{"a name in another vhost", append(slices.Clone(all), q("b", "a"))},
	}
	var o queueOrder
	for _, p := range polls {
		byKey := map[queueKey]*sources.Queue{}
		for i := range p.queues {
			c := p.queues[i]
			byKey[queueKey{c.VHost, c.Name}] = &c
		}
		want := slices.Clone(p.queues)
		sortQueues(want)
		got := o.sorted(byKey)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", p.name, got, want)
		}
		var keys []queueKey
		for _, w := range want {
			keys = append(keys, queueKey{w.VHost, w.Name})
		}
		if !slices.Equal(o.keys, keys) || o.expect() != len(want) {
			t.Errorf("%s: kept order %v, want %v", p.name, o.keys, keys)
		}
		if tail := o.keys[len(o.keys):cap(o.keys)]; slices.ContainsFunc(tail, func(k queueKey) bool { return k != queueKey{} }) {
			t.Errorf("%s: names of queues gone kept alive: %v", p.name, tail)
		}
	}
}

// TestQueueOrderLarge: at scale, with queues coming and going between
// polls, against a sort of every poll.
func TestQueueOrderLarge(t *testing.T) {
	name := novaQueueNames(3000)
	var o queueOrder
	for poll := range 6 {
		byKey := map[queueKey]*sources.Queue{}
		var want []sources.Queue
		for i := range 2000 {
			n := name((i + poll*poll*50) % 3000) // the same set twice in a row (polls 0 and 1), then shifting
			if poll == 1 {
				n = name(i)
			}
			c := sources.Queue{VHost: fmt.Sprint(i % 3), Name: n, Ready: int64(poll)}
			byKey[queueKey{c.VHost, c.Name}] = &c
			want = append(want, c)
		}
		sortQueues(want)
		if got := o.sorted(byKey); !slices.Equal(got, want) {
			t.Fatalf("poll %d: %d queues out of order or wrong", poll, len(got))
		}
	}
}
