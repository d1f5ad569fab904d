package ui

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// Scales of the benchmarks: the scale model (5,000 services on 5,000
// hosts, 20,000 queues) and ten times it.
var benchScales = []struct {
	name     string
	nSvc, nQ int
}{
	{"5k", 5000, 20000},
	{"50k", 50000, 200000},
}

// benchSizes are the terminal sizes the views are measured at.
var benchSizes = []struct {
	name string
	w, h int
}{
	{"160x48", 160, 48},
	{"200x60", 200, 60},
}

// hex32 is a deterministic 32-digit hex string, as in reply_<uuid hex>.
func hex32(i int) string {
	x := uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	y := x ^ (x>>29)*0xbf58476d1ce4e5b9
	return fmt.Sprintf("%016x%016x", x, y)
}

func benchHost(i int) string { return fmt.Sprintf("compute-%05d", i) }

// bigSnapshot scales the incident: nSvc nova-compute services on nSvc
// heartbeating hosts, and nQ queues named as Nova names them: one
// compute.<host> per host, the rest reply_<32 hex> and <topic>_fanout_<32 hex>,
// each with a full history (120 samples; the histories are shared between
// queues, as they are immutable, to keep the benchmark's memory small). It
// is built once per scale and shared: snapshots are never modified.
func bigSnapshot(nSvc, nQ int) *state.Snapshot {
	bigMu.Lock()
	defer bigMu.Unlock()
	k := [2]int{nSvc, nQ}
	if s, ok := bigCache[k]; ok {
		return s
	}
	s := buildBigSnapshot(nSvc, nQ)
	bigCache[k] = s
	return s
}

var (
	bigMu    sync.Mutex
	bigCache = map[[2]int]*state.Snapshot{}
)

func buildBigSnapshot(nSvc, nQ int) *state.Snapshot {
	s := incident()
	s.Services, s.Hosts, s.Queues = nil, nil, nil
	for i := range nSvc {
		host := benchHost(i)
		svc := state.Service{Key: state.ServiceKey{Binary: "nova-compute", Host: host}, Cond: state.Condition(i % 5),
			UpdatedAt: ago(time.Duration(i%30) * time.Second), ReportInterval: 10 * time.Second, FirstSeen: ago(time.Hour), Since: ago(time.Duration(i%3600) * time.Second),
			Flapping: i%17 == 0, FlapPercent: float64(i % 100),
			RPC: &state.RPCPing{RTT: time.Duration(i%900) * time.Millisecond, Result: sources.ProbeOK}}
		s.Services = append(s.Services, &svc)
		s.Hosts = append(s.Hosts, &state.Host{Name: host, LastSeen: ago(time.Duration(i%90) * time.Second), Interval: 10 * time.Second})
	}
	hist := make([]state.QueueHistory, 16)
	for v := range hist {
		h := make([]state.QueueSample, 120)
		for k := range h {
			h[k] = state.QueueSample{At: ago(time.Duration(120-k) * 15 * time.Second), Messages: int64((v * k * 37) % 1000), Consumers: 1}
		}
		hist[v] = state.NewQueueHistory(h...)
	}
	topics := []string{"compute", "conductor", "scheduler", "cert"}
	for i := range nQ {
		q := state.Queue{Messages: int64(i*7919) % 100000, Unacked: int64(i % 50), Consumers: i%4 - 1,
			GrowthPerMin: float64(i%200 - 100), History: hist[i%len(hist)]}
		switch {
		case i < nSvc:
			q.Key.Name, q.Role, q.Host = "compute."+benchHost(i), "compute", benchHost(i)
		case i%2 == 0:
			q.Key.Name, q.Role = "reply_"+hex32(i), "reply"
		default:
			q.Key.Name, q.Role = topics[i%len(topics)]+"_fanout_"+hex32(i), "fanout"
		}
		q.Key.VHost = "/"
		if i%10 == 9 {
			q.Key.VHost = "/nova-cell1"
		}
		s.Queues = append(s.Queues, q)
	}
	slices.SortFunc(s.Queues, func(a, b state.Queue) int {
		return cmp.Or(cmp.Compare(a.Key.VHost, b.Key.VHost), cmp.Compare(a.Key.Name, b.Key.Name))
	})
	// A full timeline (state's MaxEvents), each event on one to 50 hosts.
	s.Timeline = nil
	for i := range 2000 {
		e := state.Event{At: ago(time.Duration(i) * 2 * time.Second), Kind: state.EventService, Level: state.EventLevel(i % 3),
			Subject: "nova-compute", Change: "down", Evidence: "Nova: state down", Source: "nova", ID: uint64(2000 - i)}
		for k := range 1 + i%50 {
			e.Hosts = append(e.Hosts, benchHost((i+k)%max(nSvc, 1)))
		}
		s.Timeline = append(s.Timeline, e)
	}
	return s
}

// Changes a new snapshot brings, as a store makes them: only the slices a
// batch touched are new, the rest shared with the snapshot before.
const (
	changeHeartbeat = iota // a heartbeat batch: a tenth of the hosts heard from
	changeQueues           // a queue poll: every queue's counts moved
	changeNova             // a Nova poll: a few services changed condition
)

// changed is base after one batch of the kind what, variant v (0 or 1:
// two different outcomes, so alternating them always changes something).
func changed(base *state.Snapshot, what, v int) *state.Snapshot {
	next := *base
	next.Seq = base.Seq + 1 + uint64(v)
	switch what {
	case changeHeartbeat:
		next.Hosts = slices.Clone(base.Hosts)
		for i := v; i < len(next.Hosts); i += 10 {
			h := *next.Hosts[i]
			h.LastSeen = fixedNow.Add(-time.Duration(v) * time.Second)
			h.Seq++
			next.Hosts[i] = &h
		}
	case changeQueues:
		next.Queues = slices.Clone(base.Queues)
		for i := range next.Queues {
			q := &next.Queues[i]
			q.Messages = (q.Messages + int64(i%7)*int64(v+1)) % 100000
			q.GrowthPerMin = float64((i+v)%200 - 100)
		}
	case changeNova:
		next.Services = slices.Clone(base.Services)
		for i := v; i < len(next.Services); i += 97 {
			s := *next.Services[i] // base's services are shared: change a copy
			s.Cond = state.Condition((int(s.Cond) + 1 + v) % 5)
			s.Since = fixedNow
			next.Services[i] = &s
		}
	}
	return &next
}

func benchModel(b *testing.B, nSvc, nQ, w, h int, keys ...string) Model {
	b.Helper()
	m := New(Options{Initial: bigSnapshot(nSvc, nQ), Now: func() time.Time { return fixedNow }})
	m = update(m, tea.WindowSizeMsg{Width: w, Height: h})
	return press(m, keys...)
}

// viewCases are the panes and drill-downs, each reached by its keys.
var viewCases = []struct {
	name string
	keys []string
}{
	{"services", nil},
	{"queues", []string{"2"}},
	{"timeline", []string{"3"}},
	{"broker", []string{"4"}},
	{"detail-service", []string{"G", "enter"}},
	{"detail-queue", []string{"2", "enter"}},
	{"detail-node", []string{"4", "enter"}},
	{"detail-verdict", []string{"v"}},
	{"detail-canary", []string{"c"}},
}

// BenchmarkView is one View of each pane and drill-down, at both scales and sizes.
func BenchmarkView(b *testing.B) {
	for _, c := range viewCases {
		for _, sc := range benchScales {
			for _, sz := range benchSizes {
				b.Run(c.name+"/"+sc.name+"/"+sz.name, func(b *testing.B) {
					m := benchModel(b, sc.nSvc, sc.nQ, sz.w, sz.h, c.keys...)
					b.ReportAllocs()
					for b.Loop() {
						_ = m.View()
					}
				})
			}
		}
	}
}

// deliverOrders runs, with the timer stopped, the commands computing the
// queues' rows off the UI goroutine (past e.asyncQueues), and delivers
// their results as Bubble Tea would: each an Update plus a View, timed as
// the UI goroutine's.
func deliverOrders(b *testing.B, m Model, cmd tea.Cmd) Model {
	if cmd == nil {
		return m
	}
	b.StopTimer()
	rs := orderMsgs(cmd)
	b.StartTimer()
	for _, r := range rs {
		next, _ := m.Update(r)
		m = next.(Model)
		_ = m.View()
	}
	return m
}

// BenchmarkQueueOrder is the queues' rows computed off the UI goroutine
// (qOrderJob.run, with no scratch, as a command runs it): a new queue
// poll's sort, and the first character of a filter on the sorted order.
func BenchmarkQueueOrder(b *testing.B) {
	for _, sc := range benchScales {
		s := bigSnapshot(sc.nSvc, sc.nQ)
		k := qOrderKey{sorted: qSortKey{queues: keyOf(s.Gen.Queues, s.Queues), sort: qSortMessages}}
		b.Run("sort/"+sc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = qOrderJob{key: k, snap: s}.run(nil, nil)
			}
		})
		sorted := qOrderJob{key: k, snap: s}.run(nil, nil)
		f := k
		f.filter = "1"
		b.Run("filter/"+sc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = qOrderJob{key: f, snap: s, sorted: sorted.sorted, all: sorted.all, from: sorted.sorted, whole: true}.run(nil, nil)
			}
		})
	}
}

// BenchmarkKeypress is one key's Update plus the View that follows it, and
// for the queues past e.asyncQueues the Update and View of the rows
// computed off the UI goroutine (not timed: BenchmarkQueueOrder).
func BenchmarkKeypress(b *testing.B) {
	cases := []struct {
		name string
		pre  []string
		keys []string // pressed in turn, one per iteration
	}{
		{"services-jk", nil, []string{"j", "k"}},
		{"queues-jk", []string{"2"}, []string{"j", "k"}},
		{"pane-switch", nil, []string{"2", "1"}},
		{"services-sort", nil, []string{"s"}},
		{"queues-sort", []string{"2"}, []string{"s"}},
		{"queues-filter", []string{"2", "/"}, []string{"1", "backspace"}},
		{"queues-filter-narrow", []string{"2", "/", "r", "e", "p"}, []string{"l", "backspace"}},
		{"services-filter", []string{"/"}, []string{"1", "backspace"}},
		{"services-problems", nil, []string{"f"}},
		{"detail-service-jk", []string{"G", "enter"}, []string{"j", "k"}},
		{"detail-queue-jk", []string{"2", "enter"}, []string{"j", "k"}},
		{"timeline-jump", []string{"3", "t", "0", "3", ":", "1", "0"}, []string{"enter", "t"}},
	}
	for _, c := range cases {
		for _, sc := range benchScales {
			b.Run(c.name+"/"+sc.name, func(b *testing.B) {
				m := benchModel(b, sc.nSvc, sc.nQ, 200, 60, c.pre...)
				msgs := make([]tea.Msg, len(c.keys))
				for i, k := range c.keys {
					msgs[i] = keyMsg(k)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					next, cmd := m.Update(msgs[i%len(msgs)])
					m = next.(Model)
					_ = m.View()
					m = deliverOrders(b, m, cmd)
					i++
				}
			})
		}
	}
}

// BenchmarkSnapshot is the UI's cost of taking a new snapshot: its Update
// plus the View that follows (and those of the queues' rows computed off
// the UI goroutine, as BenchmarkKeypress), with the services or the queues pane shown.
// Two snapshots that differ from the scale's base in one kind of batch
// alternate, so every iteration brings a change of that kind.
func BenchmarkSnapshot(b *testing.B) {
	changes := []struct {
		name string
		what int
	}{
		{"heartbeat", changeHeartbeat},
		{"queue-poll", changeQueues},
		{"nova", changeNova},
	}
	panes := []struct {
		name string
		keys []string
	}{
		{"services", nil},
		{"queues", []string{"2"}},
		{"queues-held", []string{"2", "j", "j"}}, // the cursor held on the queue the user moved to
	}
	for _, ch := range changes {
		for _, pn := range panes {
			for _, sc := range benchScales {
				b.Run(ch.name+"/"+pn.name+"/"+sc.name, func(b *testing.B) {
					base := bigSnapshot(sc.nSvc, sc.nQ)
					msgs := [2]tea.Msg{SnapshotMsg{Snapshot: changed(base, ch.what, 0)}, SnapshotMsg{Snapshot: changed(base, ch.what, 1)}}
					m := benchModel(b, sc.nSvc, sc.nQ, 200, 60, pn.keys...)
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						next, cmd := m.Update(msgs[i%2])
						m = next.(Model)
						_ = m.View()
						m = deliverOrders(b, m, cmd)
						i++
					}
				})
			}
		}
	}
}
