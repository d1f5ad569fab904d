package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// bigSnapshot scales the incident: nSvc services on nSvc hosts, nQ queues
// with 30 samples of history each.
func bigSnapshot(nSvc, nQ int) *state.Snapshot {
	s := incident()
	s.Services, s.Hosts, s.Queues = nil, nil, nil
	for i := range nSvc {
		host := fmt.Sprintf("compute-%05d", i)
		svc := state.Service{Key: state.ServiceKey{Binary: "nova-compute", Host: host}, Cond: state.Condition(i % 5),
			UpdatedAt: ago(time.Duration(i%30) * time.Second), ReportInterval: 10 * time.Second, FirstSeen: ago(time.Hour), Since: ago(time.Duration(i%3600) * time.Second),
			Flapping: i%17 == 0, FlapPercent: float64(i % 100),
			RPC: &sources.Probe{Kind: sources.ProbeRPC, RTT: time.Duration(i%900) * time.Millisecond, Result: sources.ProbeOK}}
		s.Services = append(s.Services, svc)
		s.Hosts = append(s.Hosts, &state.Host{Name: host, LastSeen: ago(time.Duration(i%90) * time.Second), Interval: 10 * time.Second})
	}
	for i := range nQ {
		h := make([]state.QueueSample, 30)
		for k := range h {
			h[k] = state.QueueSample{At: ago(time.Duration(30-k) * 15 * time.Second), Messages: int64((i * k) % 1000)}
		}
		s.Queues = append(s.Queues, state.Queue{Key: state.QueueKey{VHost: "/", Name: fmt.Sprintf("q.%06d", i)},
			Messages: int64(i*7919) % 100000, Unacked: int64(i % 50), Consumers: i%4 - 1, GrowthPerMin: float64(i%200 - 100), History: state.NewQueueHistory(h...)})
	}
	// A full timeline (state's MaxEvents), each event on one to 50 hosts.
	s.Timeline = nil
	for i := range 2000 {
		e := state.Event{At: ago(time.Duration(i) * 2 * time.Second), Kind: state.EventService, Level: state.EventLevel(i % 3),
			Subject: "nova-compute", Change: "down", Evidence: "Nova: state down", Source: "nova", ID: uint64(2000 - i)}
		for k := range 1 + i%50 {
			e.Hosts = append(e.Hosts, fmt.Sprintf("compute-%05d", (i+k)%max(nSvc, 1)))
		}
		s.Timeline = append(s.Timeline, e)
	}
	return s
}

func benchModel(b *testing.B, nSvc, nQ int, keys ...string) Model {
	m := New(Options{Initial: bigSnapshot(nSvc, nQ), Now: func() time.Time { return fixedNow }})
	m = update(m, tea.WindowSizeMsg{Width: 200, Height: 60})
	return press(m, keys...)
}

func BenchmarkView(b *testing.B) {
	cases := []struct {
		name     string
		nSvc, nQ int
		keys     []string
	}{
		{"services/500", 500, 2000, nil},
		{"services/5000", 5000, 20000, nil},
		{"queues/2000", 500, 2000, []string{"2"}},
		{"queues/20000", 5000, 20000, []string{"2"}},
		{"timeline/2000", 5000, 20000, []string{"3"}},
		{"detail-service/5000", 5000, 20000, []string{"G", "enter"}},
		{"detail-queue/20000", 5000, 20000, []string{"2", "enter"}},
		{"broker", 5000, 20000, []string{"4"}},
		{"detail-node", 5000, 20000, []string{"4", "enter"}},
		{"detail-verdict/5000", 5000, 20000, []string{"v"}},
		{"detail-canary", 5000, 20000, []string{"c"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m := benchModel(b, c.nSvc, c.nQ, c.keys...)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkKeypress is one key's Update plus the View that follows it.
func BenchmarkKeypress(b *testing.B) {
	cases := []struct {
		name     string
		nSvc, nQ int
		pre      []string
		keys     []string // pressed in turn, one per iteration
	}{
		{"services-jk/500", 500, 2000, nil, []string{"j", "k"}},
		{"services-jk/5000", 5000, 20000, nil, []string{"j", "k"}},
		{"queues-jk/2000", 500, 2000, []string{"2"}, []string{"j", "k"}},
		{"queues-jk/20000", 5000, 20000, []string{"2"}, []string{"j", "k"}},
		{"services-sort/5000", 5000, 20000, nil, []string{"s"}},
		{"queues-sort/20000", 5000, 20000, []string{"2"}, []string{"s"}},
		{"queues-filter/20000", 5000, 20000, []string{"2", "/"}, []string{"1", "backspace"}},
		{"services-problems/5000", 5000, 20000, nil, []string{"f"}},
		{"detail-service-jk/5000", 5000, 20000, []string{"G", "enter"}, []string{"j", "k"}},
		{"detail-queue-jk/20000", 5000, 20000, []string{"2", "enter"}, []string{"j", "k"}},
		{"timeline-jump/2000", 5000, 20000, []string{"3", "t", "0", "3", ":", "1", "0"}, []string{"enter", "t"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m := benchModel(b, c.nSvc, c.nQ, c.pre...)
			msgs := make([]tea.Msg, len(c.keys))
			for i, k := range c.keys {
				msgs[i] = keyMsg(k)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				next, _ := m.Update(msgs[i%len(msgs)])
				m = next.(Model)
				_ = m.View()
				i++
			}
		})
	}
}
