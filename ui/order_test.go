package ui

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/state"
)

// TestSortRanked: the radix sort orders as a stable sort by key does,
// whatever bytes the keys differ in.
func TestSortRanked(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		key  func() uint64
	}{
		{"small", func() uint64 { return uint64(r.IntN(5)) }},
		{"low bytes", func() uint64 { return uint64(r.IntN(100000)) }},
		{"high byte only", func() uint64 { return uint64(r.IntN(4)) << 56 }},
		{"full", r.Uint64},
		{"all equal", func() uint64 { return 42 }},
	}
	for _, c := range cases {
		for _, n := range []int{0, 1, 2, 17, 1000} {
			rs := make([]ranked, n)
			for i := range rs {
				rs[i] = ranked{key: c.key(), i: int32(i)}
			}
			want := slices.Clone(rs)
			slices.SortStableFunc(want, func(a, b ranked) int { return cmp.Compare(a.key, b.key) })
			got := sortRanked(slices.Clone(rs), make([]ranked, n))
			if !slices.Equal(got, want) {
				t.Errorf("%s, %d rows: radix order differs from a stable sort", c.name, n)
			}
		}
	}
}

// TestKeysOrderAsCompare: intKey and floatKey order as cmp.Compare does
// (NaN first, -0 equal to 0), desc the other way round.
func TestKeysOrderAsCompare(t *testing.T) {
	fs := []float64{math.NaN(), math.Inf(-1), -1e300, -2.5, -1, math.Copysign(0, -1), 0, 1e-300, 1, 2.5, 1e300, math.Inf(1)}
	for _, a := range fs {
		for _, b := range fs {
			if got, want := cmp.Compare(floatKey(a), floatKey(b)), cmp.Compare(a, b); got != want {
				t.Errorf("floatKey(%v) vs floatKey(%v): %d, cmp.Compare says %d", a, b, got, want)
			}
			if got, want := cmp.Compare(desc(floatKey(a)), desc(floatKey(b))), cmp.Compare(b, a); got != want {
				t.Errorf("desc floatKey(%v) vs (%v): %d, want %d", a, b, got, want)
			}
		}
	}
	is := []int64{math.MinInt64, -5, -1, 0, 1, 7, math.MaxInt64}
	for _, a := range is {
		for _, b := range is {
			if got, want := cmp.Compare(intKey(a), intKey(b)), cmp.Compare(a, b); got != want {
				t.Errorf("intKey(%d) vs intKey(%d): %d, want %d", a, b, got, want)
			}
		}
	}
}

// paneOrders are the rows each table pane shows, by snapshot index.
func paneOrders(m Model) [numTabs][]int32 {
	return [numTabs][]int32{
		m.tabs[tabServices].(*servicesPane).order, m.tabs[tabQueues].(*queuesPane).order,
		m.tabs[tabTimeline].(*timelinePane).order, m.tabs[tabBroker].(*brokerPane).order,
	}
}

// sortCounts are how many times the services and queues were sorted and
// the timeline listed.
func sortCounts(m Model) [3]int {
	return [3]int{m.tabs[tabServices].(*servicesPane).sorts, m.tabs[tabQueues].(*queuesPane).sorts, m.tabs[tabTimeline].(*timelinePane).lists}
}

// TestOrderRedoneWhenSliceChanges: a pane redoes its order exactly when a
// slice it depends on changed, told by the store's count or by the slice
// itself; its rows are then those a fresh model shows for the snapshot
// (a cache that ignored a change would show the old ones).
func TestOrderRedoneWhenSliceChanges(t *testing.T) {
	base := bigSnapshot(40, 120)
	base.Gen = state.Generations{Services: 5, Queues: 5, Hosts: 5, Timeline: 5}
	reversedQueues := func(s *state.Snapshot) {
		s.Queues = slices.Clone(s.Queues)
		for i := range s.Queues {
			s.Queues[i].Messages = int64(i) // the last by name the biggest now
			s.Queues[i].GrowthPerMin = float64(-i)
		}
	}
	cases := []struct {
		name   string
		keys   []string // the panes' sorts and filters
		change func(s *state.Snapshot)
		redone [3]int // services sorted, queues sorted, timeline listed again
	}{
		{"same slices, new snapshot", nil, func(s *state.Snapshot) { s.Seq++ }, [3]int{}},
		{"heartbeats, host sort", nil, func(s *state.Snapshot) {
			s.Hosts = slices.Clone(s.Hosts)
			s.Gen.Hosts++
		}, [3]int{}},
		{"heartbeats, severity sort", []string{"s"}, func(s *state.Snapshot) {
			s.Hosts = slices.Clone(s.Hosts)
			h := *s.Hosts[3]
			h.LastSeen = fixedNow.Add(-time.Hour) // lost: its service rises
			s.Hosts[3] = &h
			s.Gen.Hosts++
		}, [3]int{1, 0, 0}},
		{"queue poll counted", []string{"2"}, func(s *state.Snapshot) { reversedQueues(s); s.Gen.Queues++ }, [3]int{0, 1, 0}},
		{"queue poll, count not kept", []string{"2"}, reversedQueues, [3]int{0, 1, 0}},
		{"queues counted, same slice", []string{"2"}, func(s *state.Snapshot) { s.Gen.Queues++ }, [3]int{0, 1, 0}},
		{"queue poll, a queue gone", []string{"2", "s"}, func(s *state.Snapshot) { s.Queues = slices.Clone(s.Queues[1:]); s.Gen.Queues++ }, [3]int{0, 1, 0}},
		{"queue poll, growth sort, filtered", []string{"2", "s", "/", "r", "e", "enter"}, func(s *state.Snapshot) { reversedQueues(s); s.Gen.Queues++ }, [3]int{0, 1, 0}},
		{"nova poll, flap sort", []string{"s", "s", "s"}, func(s *state.Snapshot) {
			s.Services = slices.Clone(s.Services)
			for i := range s.Services {
				c := *s.Services[i] // base's services are shared: change copies
				c.FlapPercent = float64(i)
				s.Services[i] = &c
			}
			s.Gen.Services++
		}, [3]int{1, 0, 0}},
		{"nova poll, by binary", []string{"b"}, func(s *state.Snapshot) {
			s.Services = slices.Clone(s.Services)
			c := *s.Services[0]
			c.Key.Binary = "nova-api"
			s.Services[0] = &c
			s.Gen.Services++
		}, [3]int{1, 0, 0}},
		{"timeline", []string{"3"}, func(s *state.Snapshot) {
			s.Timeline = slices.Clone(s.Timeline[5:])
			s.Gen.Timeline++
		}, [3]int{0, 0, 1}},
	}
	for _, c := range cases {
		for _, async := range []bool{false, true} {
			name := c.name
			if async {
				name += ", sorted off the UI goroutine"
			}
			t.Run(name, func(t *testing.T) {
				m := press(newTestModel(base, 160, 48, true), c.keys...)
				if async {
					m.e.asyncQueues = 0 // update runs the commands and delivers their results
				}
				before := sortCounts(m)
				next := *base
				c.change(&next)
				m = update(m, SnapshotMsg{Snapshot: &next})
				after := sortCounts(m)
				for i := range after {
					if d := after[i] - before[i]; d != c.redone[i] {
						t.Errorf("order %d redone %d times, want %d", i, d, c.redone[i])
					}
				}
				fresh := press(newTestModel(&next, 160, 48, true), c.keys...)
				if got, want := paneOrders(m), paneOrders(fresh); !slices.EqualFunc(got[:], want[:], slices.Equal) {
					t.Errorf("rows after the change differ from a fresh model's:\n got %v\nwant %v", got, want)
				}
				if got, want := m.Render(), fresh.Render(); got != want {
					t.Errorf("screen after the change differs from a fresh model's:\n%s\n---\n%s", got, want)
				}
			})
		}
	}
}

// TestFilterNarrowing: after every key that edits a filter (typing
// narrows the rows the last text matched, deleting widens them again) the
// pane shows the rows the same filter set at once shows.
func TestFilterNarrowing(t *testing.T) {
	s := bigSnapshot(40, 400)
	for _, c := range []struct {
		tab  string
		keys []string
	}{
		{"1", []string{"c", "o", "m", "p", "backspace", "backspace", "backspace", "backspace", "0", "1", "backspace", "2"}},
		{"2", []string{"/", "n", "o", "backspace", "backspace", "backspace", "r", "e", "backspace", "a", "3"}},
		{"3", []string{"0", "0", "0", "3", "backspace", "backspace", "7"}},
	} {
		for _, async := range []bool{false, true} {
			m := press(newTestModel(s, 160, 48, true), c.tab, "/")
			if async {
				m.e.asyncQueues = 0
			}
			tab := m.active
			for _, k := range c.keys {
				m = press(m, k)
				f := m.filters[tab]
				fresh := press(newTestModel(s, 160, 48, true), c.tab)
				fresh.tabs[tab].SetFilter(strings.ToLower(f))
				got, want := paneOrders(m)[tab], paneOrders(fresh)[tab]
				if !slices.Equal(got, want) {
					t.Errorf("tab %s, filter %q, async %v: %d rows %v, want %d %v", c.tab, f, async, len(got), got, len(want), want)
				}
			}
		}
	}
}

// TestContainsFold: containsFold says what strings.Contains says of the
// lower-cased text (ASCII case only), on random texts over a small alphabet.
func TestContainsFold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aAbB_.é1"
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	lower := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	for range 20000 {
		s, sub := word(r.IntN(12)), lower(word(r.IntN(4)))
		if got, want := containsFold(s, sub), strings.Contains(lower(s), sub); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
	}
	for _, c := range []struct {
		s, sub string
		want   bool
	}{{"reply_ABC", "abc", true}, {"compute.Host-1", "host-1", true}, {"x", "xy", false}, {"aaaaaaaaab", "ab", true}, {"AAAAAAAAAC", "ab", false}} {
		if got := containsFold(c.s, c.sub); got != c.want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", c.s, c.sub, got, c.want)
		}
	}
}

// orderMsgs runs cmd and returns the queues' rows it computed.
func orderMsgs(cmd tea.Cmd) []qOrderMsg {
	var out []qOrderMsg
	for _, msg := range runCmd(cmd) {
		if r, ok := msg.(qOrderMsg); ok {
			out = append(out, r)
		}
	}
	return out
}

// step applies msg without running its commands, and returns them.
func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

// queuePoll is base after a queue poll that numbered the queues' messages
// in list order (the order by messages reversed): a new Queues slice, its
// generation counted.
func queuePoll(base *state.Snapshot) state.Snapshot {
	poll := *base
	poll.Queues = slices.Clone(base.Queues)
	for i := range poll.Queues {
		poll.Queues[i].Messages = int64(i)
	}
	poll.Gen.Queues++
	return poll
}

// TestStaleOrderDropped: past e.asyncQueues the queues' rows are computed
// by a command; until its result comes the pane shows its rows as they
// were (of the snapshot they were made from), marked as sorting. A result
// of an older sort, filter or queue poll than what the pane should show is
// dropped, and the rows asked for again; only then do they change, to what
// a model that sorted at once shows.
func TestStaleOrderDropped(t *testing.T) {
	base := bigSnapshot(40, 400)
	base.Gen.Queues = 3
	poll := queuePoll(base)
	cases := []struct {
		name  string
		pre   []string // pressed before the pane sorts off the UI goroutine
		start tea.Msg  // asks for rows
		then  tea.Msg  // while they are computed: makes them stale
		final *state.Snapshot
		keys  []string // what a fresh model presses to show the same
		back  bool     // then asks for the rows shown: nothing to compute
	}{
		{"sort changed again", []string{"2"}, keyMsg("s"), keyMsg("s"), base, []string{"2", "s", "s"}, false},
		{"filter typed on", []string{"2", "/"}, keyMsg("r"), keyMsg("e"), base, []string{"2", "/", "r", "e"}, false},
		{"filter typed on, then back", []string{"2", "/", "r"}, keyMsg("e"), keyMsg("backspace"), base, []string{"2", "/", "r"}, true},
		{"filter deleted", []string{"2", "/", "r", "e"}, keyMsg("backspace"), keyMsg("p"), base, []string{"2", "/", "r", "p"}, false},
		{"problems toggled", []string{"2"}, keyMsg("s"), keyMsg("f"), base, []string{"2", "s", "f"}, false},
		{"queue poll", []string{"2"}, keyMsg("s"), SnapshotMsg{Snapshot: &poll}, &poll, []string{"2", "s"}, false},
		{"poll, then sort", []string{"2"}, SnapshotMsg{Snapshot: &poll}, keyMsg("s"), &poll, []string{"2", "s"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := press(newTestModel(base, 160, 48, true), c.pre...)
			m.e.asyncQueues = 0
			p := m.queues()
			shown, rows := slices.Clone(p.order), m.Render()

			m, cmd := step(t, m, c.start)
			stale := orderMsgs(cmd)
			if len(stale) != 1 {
				t.Fatalf("%d commands computing rows, want 1", len(stale))
			}
			m, cmd = step(t, m, c.then)
			if n := len(orderMsgs(cmd)); n != 0 {
				t.Fatalf("%d commands computing rows while one runs, want 0", n)
			}
			if !slices.Equal(p.order, shown) || p.snap != base {
				t.Fatalf("rows changed before the result came")
			}
			if got := strings.Contains(p.Status(), sortingNote); got == c.back {
				t.Errorf("status %q while sorting, want %q in it: %v", p.Status(), sortingNote, !c.back)
			}
			if c.start == keyMsg("s") && c.then != keyMsg("f") && tableLines(m.Render()) != tableLines(rows) {
				t.Errorf("the table's rows changed before the result came")
			}

			m, cmd = step(t, m, stale[0])
			if !slices.Equal(p.order, shown) {
				t.Fatalf("a stale result was shown")
			}
			again := orderMsgs(cmd)
			if want := map[bool]int{false: 1, true: 0}[c.back]; len(again) != want {
				t.Fatalf("after a stale result, %d commands computing rows, want %d", len(again), want)
			}
			for _, r := range again {
				m, _ = step(t, m, r)
			}
			fresh := press(newTestModel(c.final, 160, 48, true), c.keys...)
			if got, want := p.order, fresh.queues().order; !slices.Equal(got, want) {
				t.Errorf("rows %v, want %v", got, want)
			}
			if strings.Contains(p.Status(), sortingNote) {
				t.Errorf("status %q once sorted", p.Status())
			}
			if got, want := m.Render(), fresh.Render(); got != want {
				t.Errorf("screen differs from a fresh model's:\n%s\n---\n%s", got, want)
			}
		})
	}
}

// tableLines are a screen's lines from the column titles on.
func tableLines(screen string) string {
	_, rest, _ := strings.Cut(screen, "vhost")
	return rest
}

// TestOrderOffGoroutine: a command computing the queues' rows runs beside
// the UI goroutine's keys and snapshots (under -race: they share nothing
// that is written), and what it finally shows is a fresh model's.
func TestOrderOffGoroutine(t *testing.T) {
	base := bigSnapshot(40, 400)
	poll := queuePoll(base)
	m := press(newTestModel(base, 160, 48, true), "2")
	m.e.asyncQueues = 0
	m, cmd := step(t, m, keyMsg("s"))
	done := make(chan []tea.Msg)
	go func() { done <- runCmd(cmd) }()
	for _, msg := range []tea.Msg{keyMsg("j"), SnapshotMsg{Snapshot: &poll}, keyMsg("s"), keyMsg("/"), keyMsg("r"), keyMsg("enter"), keyMsg("k")} {
		m = update(m, msg) // runs nothing more: one command at a time
	}
	for _, msg := range <-done {
		m = update(m, msg) // stale: dropped, and the rows computed again
	}
	fresh := press(newTestModel(&poll, 160, 48, true), "2", "s", "s", "/", "r", "enter")
	if got, want := m.queues().order, fresh.queues().order; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestHiddenOrderOfOldQueuesDropped: a result computed for queues that a
// poll replaced while the pane was hidden (a hidden pane does not follow
// the polls, so it still wants the same sort and filters) is dropped,
// not shown with the new queues' counts.
func TestHiddenOrderOfOldQueuesDropped(t *testing.T) {
	base := bigSnapshot(40, 400)
	poll := queuePoll(base)
	m := press(newTestModel(base, 160, 48, true), "2")
	m.e.asyncQueues = 0
	p := m.queues()
	shown := slices.Clone(p.order)
	m, cmd := step(t, m, keyMsg("s"))
	stale := orderMsgs(cmd)
	if len(stale) != 1 {
		t.Fatalf("%d commands computing rows, want 1", len(stale))
	}
	m = update(m, keyMsg("1"))
	m = update(m, SnapshotMsg{Snapshot: &poll})
	m, cmd = step(t, m, stale[0])
	if !slices.Equal(p.order, shown) || p.snap != base {
		t.Fatalf("rows of the replaced queues shown")
	}
	for _, r := range orderMsgs(cmd) {
		m = update(m, r)
	}
	m = press(m, "2")
	fresh := press(newTestModel(&poll, 160, 48, true), "2", "s")
	if got, want := p.order, fresh.queues().order; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}
