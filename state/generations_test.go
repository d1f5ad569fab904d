package state

import (
	"testing"

	"github.com/stacktop/stacktop/sources"
)

// TestGenerations: each Apply counts once more exactly the slices it built
// anew; a batch that says nothing of a slice leaves its count, and the
// slice, as they were.
func TestGenerations(t *testing.T) {
	s := NewStore(DefaultConfig())
	steps := []struct {
		name    string
		b       sources.Batch
		changed Generations // 1 where the slice must be new, 0 where it must be shared
		check   Generations // 1 where changed is asserted (the timeline follows the events derived)
	}{
		{"nova", novaBatch(at(1), svc("nova-compute", "c1", sources.StateUp, at(1)), svc("nova-compute", "c2", sources.StateUp, at(1))),
			Generations{Services: 1}, Generations{1, 1, 1, 0}},
		{"queues", rabbitBatch(2, queue("compute.c1", 3), queue("conductor", 0)),
			Generations{Queues: 1}, Generations{1, 1, 1, 0}},
		{"heartbeats", hbBatch(hb("c1", 1, at(3)), hb("c2", 1, at(3))),
			Generations{Hosts: 1}, Generations{1, 1, 1, 0}},
		{"health only", sources.Batch{Source: sources.NameRabbitMQ, At: at(4), Health: sources.Health{OK: true}},
			Generations{}, Generations{1, 1, 1, 0}},
		{"queues again", rabbitBatch(5, queue("compute.c1", 4), queue("conductor", 0)),
			Generations{Queues: 1}, Generations{1, 1, 1, 0}},
		{"a service down", novaBatch(at(6), svc("nova-compute", "c1", sources.StateDown, at(1)), svc("nova-compute", "c2", sources.StateUp, at(6))),
			Generations{Services: 1, Timeline: 1}, Generations{1, 1, 1, 1}},
	}
	prev := s.Snapshot()
	for _, st := range steps {
		next := s.Apply(st.b)
		got := Generations{
			Services: next.Gen.Services - prev.Gen.Services, Queues: next.Gen.Queues - prev.Gen.Queues,
			Hosts: next.Gen.Hosts - prev.Gen.Hosts, Timeline: next.Gen.Timeline - prev.Gen.Timeline,
		}
		// Whatever the batch, a count moves by one exactly when its slice is new.
		same := [4]bool{sameSlice(prev.Services, next.Services), sameSlice(prev.Queues, next.Queues),
			sameSlice(prev.Hosts, next.Hosts), sameSlice(prev.Timeline, next.Timeline)}
		for i, d := range [4]uint64{got.Services, got.Queues, got.Hosts, got.Timeline} {
			if d > 1 || (d == 0) != same[i] {
				t.Errorf("%s: slice %d count moved by %d, slice shared %v", st.name, i, d, same[i])
			}
		}
		want, chk := st.changed, st.check
		if (chk.Services == 1 && got.Services != want.Services) || (chk.Queues == 1 && got.Queues != want.Queues) ||
			(chk.Hosts == 1 && got.Hosts != want.Hosts) || (chk.Timeline == 1 && got.Timeline != want.Timeline) {
			t.Errorf("%s: counts moved by %+v, want %+v (checked %+v)", st.name, got, want, chk)
		}
		prev = next
	}
}

func TestSameSlice(t *testing.T) {
	a := []int{1, 2, 3}
	cases := []struct {
		name string
		x, y []int
		want bool
	}{
		{"itself", a, a, true},
		{"a copy", a, append([]int(nil), a...), false},
		{"a prefix", a, a[:2], false},
		{"a tail", a[1:], a[1:], true},
		{"both empty", nil, []int{}, true},
	}
	for _, c := range cases {
		if got := sameSlice(c.x, c.y); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
