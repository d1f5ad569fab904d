package rabbitmq

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/sources"
)

// promQueues is a /metrics/detailed response listing queues, in that
// order, with their Ready and Consumers.
func promQueues(queues []sources.Queue) []byte {
	var b bytes.Buffer
	for _, q := range queues {
		fmt.Fprintf(&b, "rabbitmq_detailed_queue_messages_ready{vhost=%q,queue=%q} %d\n", q.VHost, q.Name, q.Ready)
	}
	for _, q := range queues {
		fmt.Fprintf(&b, "rabbitmq_detailed_queue_consumers{vhost=%q,queue=%q} %d\n", q.VHost, q.Name, q.Consumers)
	}
	return b.Bytes()
}

// pollIndex is one poll of x with one response listing queues; the
// response is cut half way when fail is set (the poll fails).
func pollIndex(t *testing.T, x *queueIndex, queues []sources.Queue, fail bool) []sources.Queue {
	t.Helper()
	text := promQueues(queues)
	if fail {
		text = text[:len(text)/2+bytes.IndexByte(text[len(text)/2:], '{')+1] // in a line's labels
	}
	x.begin()
	err := parseDetailedQueues(bytes.NewReader(text), x)
	if fail {
		if err == nil {
			t.Fatal("a cut response parsed")
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return x.end()
}

// sortedAsState is queues sorted as the state sorts them, each as the
// index returns it (Messages unknown: no unacked family).
func sortedAsState(queues []sources.Queue) []sources.Queue {
	want := slices.Clone(queues)
	for i := range want {
		want[i].Messages, want[i].Unacked = -1, -1
	}
	sortQueues(want)
	return want
}

// TestQueueIndex: poll after poll, the queues come out sorted and with
// this poll's values whatever changed since the last poll: queues gone,
// new, back after a poll without them, a poll that failed half way.
func TestQueueIndex(t *testing.T) {
	q := func(vhost, name string) sources.Queue {
		return sources.Queue{VHost: vhost, Name: name, Ready: int64(len(name)), Consumers: 1}
	}
	all := []sources.Queue{q("/", "b"), q("/", "a"), q("nova", "compute.c1"), q("/", "reply_1"), q("nova", "conductor"), q("a", "z")}
	polls := []struct {
		name   string
		queues []sources.Queue
		fail   bool
	}{
		{"first poll: nothing to go by", all, false},
		{"the same queues", all, false},
		{"the same queues, values changed", append(slices.Clone(all[:5]), sources.Queue{VHost: "a", Name: "z", Ready: 99}), false},
		{"the same queues in another order", append(slices.Clone(all[3:]), all[:3]...), false},
		{"one gone", all[1:], false},
		{"one new", append(slices.Clone(all[1:]), q("/", "0-new")), false},
		{"one gone, one new: as many as before", append(slices.Clone(all[2:]), q("/", "a"), q("zz", "new")), false},
		{"a poll that fails half way, with new queues", append(slices.Clone(all), q("/", "failed-1"), q("zz", "failed-2")), true},
		{"none", nil, false},
		{"all back", all, false},
		{"failed again", all[:2], true},
		{"a name in another vhost", append(slices.Clone(all), q("b", "a")), false},
	}
	x := newQueueIndex(nil)
	for _, p := range polls {
		got := pollIndex(t, x, p.queues, p.fail)
		if p.fail {
			continue
		}
		if want := sortedAsState(p.queues); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", p.name, got, want)
		}
	}
	for _, e := range x.list {
		if strings.HasPrefix(e.name, "failed-") {
			t.Errorf("a failed poll's new queue %q still indexed", e.name)
		}
	}
	if _, ok := x.vhosts["zz"]; ok && !slices.ContainsFunc(x.list, func(e indexedQueue) bool { return e.vq.name == "zz" }) {
		t.Error("vhost zz indexed with none of its queues")
	}
}

// TestQueueIndexFilter: the filter drops queues from the output, poll
// after poll, and they cost the index one entry each.
func TestQueueIndexFilter(t *testing.T) {
	x := newQueueIndex(func(name string) bool { return !strings.HasPrefix(name, "reply_") })
	queues := []sources.Queue{{VHost: "/", Name: "reply_2", Ready: 1}, {VHost: "/", Name: "compute", Ready: 2}, {VHost: "/", Name: "reply_1", Ready: 3}}
	for poll := range 3 {
		got := pollIndex(t, x, queues, false)
		if want := sortedAsState(queues[1:2]); !slices.Equal(got, want) {
			t.Fatalf("poll %d: got %v, want %v", poll, got, want)
		}
	}
	if len(x.list) != 3 {
		t.Errorf("index holds %d queues, want 3", len(x.list))
	}
}

// TestQueueIndexLarge: at scale, with queues coming and going between
// polls (and failed polls), against a sort of every poll; queues gone
// are dropped from the index once they are a quarter of it.
func TestQueueIndexLarge(t *testing.T) {
	name := novaQueueNames(6000)
	x := newQueueIndex(nil)
	for poll := range 40 {
		var queues []sources.Queue
		for i := range 2000 {
			n := name((i + poll*poll*50) % 6000) // the same set twice in a row (polls 0 and 1), then shifting
			if poll == 1 {
				n = name(i)
			}
			queues = append(queues, sources.Queue{VHost: fmt.Sprint(i % 3), Name: n, Ready: int64(poll), Consumers: i % 2})
		}
		if poll%7 == 3 {
			pollIndex(t, x, queues[:1500], true)
		}
		got := pollIndex(t, x, queues, false)
		if want := sortedAsState(queues); !slices.Equal(got, want) {
			t.Fatalf("poll %d: %d queues out of order or wrong", poll, len(got))
		}
		if len(x.list) > 2000+2000/3+64 {
			t.Fatalf("poll %d: the index holds %d queues for 2000 listed", poll, len(x.list))
		}
		for i, e := range x.list {
			if j, ok := e.vq.queues[e.name]; !ok || int(j) != i || x.vhosts[e.vq.name] != e.vq {
				t.Fatalf("poll %d: %q at %d indexed at %d (%v)", poll, e.name, i, j, ok)
			}
		}
	}
}

// TestQueueIndexInvalidNameMakesNoVHost: a poll that fails on a queue name
// that is not UTF-8, under a vhost new to the index, leaves no vhost
// behind: polls failing so cannot grow the index.
func TestQueueIndexInvalidNameMakesNoVHost(t *testing.T) {
	x := newQueueIndex(nil)
	for poll := range 3 {
		x.begin()
		text := fmt.Sprintf("rabbitmq_detailed_queue_messages_ready{vhost=\"v%d\",queue=\"\xff\"} 1\n", poll)
		if err := parseDetailedQueues(strings.NewReader(text), x); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
			t.Fatalf("poll %d: err %v, want not UTF-8", poll, err)
		}
	}
	if len(x.vhosts) != 0 || len(x.list) != 0 {
		t.Errorf("%d vhosts, %d queues indexed after failed polls", len(x.vhosts), len(x.list))
	}
}
