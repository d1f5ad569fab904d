package ui

import (
	"fmt"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// fixedNow is the clock of every test: 03:12 during the incident.
var fixedNow = time.Date(2025, 3, 14, 3, 12, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return fixedNow.Add(-d) }

// incident builds the mini incident: 40 computes, six flapping, a backed-up
// reply queue, a broker memory alarm, a failing canary and restarts.
func incident() *state.Snapshot {
	s := &state.Snapshot{At: ago(2 * time.Second), Seq: 412, Retention: time.Hour}
	s.Sources = []state.SourceHealth{
		{Name: "heartbeat", Target: "amqp://rabbit.prod-east:5672", Interval: 10 * time.Second, LastAttempt: ago(time.Second), LastSuccess: ago(time.Second), Polls: 360},
		{Name: "nova", Target: "prod-east", Detail: "microversion 2.69", Interval: 10 * time.Second, LastAttempt: ago(4 * time.Second), LastSuccess: ago(4 * time.Second), Latency: 420 * time.Millisecond, Polls: 360},
		{Name: "rabbitmq", Target: "https://rabbit.prod-east:15672", Detail: "management API", Interval: 15 * time.Second, LastAttempt: ago(5 * time.Second), LastSuccess: ago(95 * time.Second), LastErr: "GET /api/queues: context deadline exceeded", Polls: 240, Failures: 6},
	}
	s.Overview = &sources.Overview{ClusterName: "rabbit@prod-east", RabbitVersion: "3.12.13", ErlangVersion: "26.2.5", Queues: 126, Connections: 812,
		Channels: 1630, Consumers: 640, MessagesReady: 48213, MessagesUnacked: 253, Via: "management"}
	s.Nodes = []state.Node{
		{Node: sources.Node{Name: "rabbit@ctl-1", Running: true, MemUsed: 7 << 30, MemLimit: 6 << 30, MemAlarm: true, DiskFree: 41 << 30, DiskFreeLimit: 50 << 20,
			FDUsed: 931, FDTotal: 1024, SocketsUsed: 812, SocketsTotal: 829, ProcUsed: 9120, ProcTotal: 1048576, Uptime: 40 * 24 * time.Hour}},
		{Node: sources.Node{Name: "rabbit@ctl-2", Running: true, MemUsed: 2 << 30, MemLimit: 6 << 30, DiskFree: 38 << 30, DiskFreeLimit: 50 << 20,
			FDUsed: 212, FDTotal: 1024, SocketsUsed: 180, SocketsTotal: 829, ProcUsed: 2300, ProcTotal: 1048576, Uptime: 31 * time.Minute}, Restarts: 1},
		// Metrics collector off on this one: only name and running are known.
		{Node: sources.Node{Name: "rabbit@ctl-3", Running: true, MemUsed: -1, MemLimit: -1, DiskFree: -1, DiskFreeLimit: -1,
			FDUsed: -1, FDTotal: -1, SocketsUsed: -1, SocketsTotal: -1, ProcUsed: -1, ProcTotal: -1, Uptime: -1}},
	}
	flapping := map[int]bool{3: true, 7: true, 11: true, 15: true, 19: true, 23: true}
	for i := 1; i <= 40; i++ {
		host := fmt.Sprintf("compute-%03d", i)
		svc := state.Service{
			Key: state.ServiceKey{Binary: "nova-compute", Host: host}, ID: fmt.Sprint(100 + i), Zone: "nova",
			Status: sources.StatusEnabled, State: sources.StateUp, Cond: state.CondUp,
			UpdatedAt: ago(time.Duration(i%9+1) * time.Second), ReportInterval: 10 * time.Second,
			FirstSeen: ago(58 * time.Minute), Since: ago(58 * time.Minute), CondSince: ago(58 * time.Minute),
			RPC: &state.RPCPing{At: ago(20 * time.Second), RTT: time.Duration(8+i) * time.Millisecond, Result: sources.ProbeOK},
		}
		for k := 11; k >= 1; k-- { // earlier pings, every 30 s
			svc.RPCHistory = append(svc.RPCHistory, state.RPCPing{
				At: ago(time.Duration(20+30*k) * time.Second), RTT: time.Duration(8+i+k%4) * time.Millisecond, Result: sources.ProbeOK})
		}
		if flapping[i] {
			svc.Flapping, svc.FlapPercent = true, float64(30+i)
			cond := state.CondUp
			for k := 0; k < 8; k++ {
				next := state.CondDown
				if cond == state.CondDown {
					next = state.CondUp
				}
				svc.History = append(svc.History, state.Transition{At: ago(time.Duration(50-6*k)*time.Minute - time.Duration(i)*time.Second), From: cond, To: next})
				cond = next
			}
			if i%2 == 1 && i != 3 {
				svc.History = append(svc.History, state.Transition{At: ago(time.Duration(i) * 5 * time.Second), From: cond, To: state.CondDown})
				cond = state.CondDown
				svc.State = sources.StateDown
				svc.UpdatedAt = ago(75 * time.Second)
				svc.RPC.Result, svc.RPC.RTT = sources.ProbeTimeout, 30*time.Second
				svc.RPC.Detail = "MessagingTimeout: no reply on reply_5d2f9c0e"
				for k := len(svc.RPCHistory) - 3; k < len(svc.RPCHistory); k++ {
					svc.RPCHistory[k].Result, svc.RPCHistory[k].RTT = sources.ProbeTimeout, 30*time.Second
				}
			}
			svc.Cond = cond
			svc.Since = svc.History[len(svc.History)-1].At
			svc.CondSince, svc.SinceBasis = svc.Since, state.SinceSeen
		} else if i <= 20 { // up when first listed: up at most since the process started
			svc.CondSince, svc.SinceBasis = ago(3*time.Hour), state.SinceProcessStart
		}
		switch i {
		case 30:
			svc.Cond, svc.Status, svc.DisabledReason = state.CondDisabled, sources.StatusDisabled, "maintenance: RAM replacement (ticket OPS-4411)"
		case 31:
			svc.Cond, svc.ForcedDown, svc.State = state.CondForcedDown, true, sources.StateDown
		case 32:
			svc.Cond, svc.State, svc.RPC = state.CondUnknown, sources.StateUnknown, nil
		}
		if svc.RPC != nil {
			svc.RPCHistory = append(svc.RPCHistory, *svc.RPC)
		}
		s.Services = append(s.Services, &svc)
		hb := state.Host{Name: host, LastSeen: ago(time.Duration(i%7+1) * time.Second), Interval: 10 * time.Second, Seq: 2000 + uint64(i), BootID: "b00t", Uptime: 90 * 24 * time.Hour, AgentVersion: "0.3.1",
			Processes: []sources.Process{{Name: "nova-compute", PID: 4000 + i, StartedAt: ago(3 * time.Hour)}}}
		switch i {
		case 7:
			hb.LastSeen = ago(31 * time.Second)
		case 11:
			hb.LastSeen, hb.Gaps = ago(72*time.Second), 6
		case 19:
			hb.Uptime = 9 * time.Minute
		}
		s.Hosts = append(s.Hosts, &hb)
	}
	for _, ctl := range []string{"ctl-1", "ctl-2", "ctl-3"} {
		for _, bin := range []string{"nova-conductor", "nova-scheduler"} {
			s.Services = append(s.Services, &state.Service{
				Key: state.ServiceKey{Binary: bin, Host: ctl}, ID: bin + "-" + ctl, Zone: "internal",
				Status: sources.StatusEnabled, State: sources.StateUp, Cond: state.CondUp,
				UpdatedAt: ago(3 * time.Second), ReportInterval: 10 * time.Second, FirstSeen: ago(58 * time.Minute), Since: ago(58 * time.Minute), CondSince: ago(58 * time.Minute),
			})
		}
	}
	hist := func(base, step int64, cons int) state.QueueHistory {
		var h []state.QueueSample
		for k := 0; k < 30; k++ {
			h = append(h, state.QueueSample{At: ago(time.Duration(29-k) * 15 * time.Second), Messages: max(0, base+step*int64(k)), Consumers: cons})
		}
		return state.NewQueueHistory(h...)
	}
	add := func(q state.Queue) { s.Queues = append(s.Queues, q) }
	add(state.Queue{Key: state.QueueKey{VHost: "/", Name: "conductor"}, Role: "conductor", Messages: 1840, Ready: 1700, Unacked: 140, Consumers: 12, GrowthPerMin: 220, History: hist(800, 36, 12)})
	add(state.Queue{Key: state.QueueKey{VHost: "/", Name: "notifications.info"}, Messages: 9120, Ready: 9120, Consumers: 0, GrowthPerMin: 31, History: hist(8200, 31, 0)})
	add(state.Queue{Key: state.QueueKey{VHost: "/", Name: "reply_5d2f9c0e8a6b4e1f9d3c7a2b1e0f4d6c"}, Role: "reply", Messages: 48213, Ready: 48100, Unacked: 113, Consumers: 1, GrowthPerMin: 2310, History: hist(36000, 420, 1),
		Rates: &sources.QueueRates{Publish: 41.5, Deliver: 3.2, Ack: 3.1}})
	add(state.Queue{Key: state.QueueKey{VHost: "/", Name: "scheduler"}, Role: "scheduler", Messages: 3, Consumers: 6, History: hist(2, 0, 6)})
	add(state.Queue{Key: state.QueueKey{VHost: "/", Name: "scheduler_fanout_8d1e"}, Role: "fanout", Messages: 0, Consumers: -1, History: hist(0, 0, 0)})
	for i := 1; i <= 40; i++ {
		host := fmt.Sprintf("compute-%03d", i)
		msgs := int64(0)
		if flapping[i] {
			msgs = int64(40 + i*3)
		}
		add(state.Queue{Key: state.QueueKey{VHost: "/", Name: "compute." + host}, Role: "compute", Host: host, Messages: msgs, Consumers: 1, History: hist(msgs/2, 1, 1)})
	}
	sortQueues(s.Queues)
	// The canary every 15 s for ten minutes: a few ms, slower as the broker
	// fills, blocked once by the memory alarm, then timing out.
	s.Canary = state.ProbeSeries{Failures: 4, Source: "heartbeat"}
	// The broker's data is as old as its last good poll: stale.
	read := state.Reading{Source: "rabbitmq", At: ago(95 * time.Second)}
	s.Read.Overview, s.Read.Nodes, s.Read.Queues = read, read, read
	s.Read.Services = state.Reading{Source: "nova", At: ago(4 * time.Second)}
	for k := 40; k >= 2; k-- {
		p := sources.Probe{Kind: sources.ProbeCanary, At: ago(time.Duration(15*k) * time.Second), RTT: time.Duration(3+(40-k)*(40-k)) * time.Millisecond, Result: sources.ProbeOK}
		switch k {
		case 10:
			p.Result, p.RTT, p.Detail = sources.ProbeBlocked, 5*time.Second, "connection.blocked: low on memory"
		case 6, 5, 2:
			p.Result, p.RTT = sources.ProbeTimeout, 5*time.Second
		}
		s.Canary.History = append(s.Canary.History, p)
	}
	s.Restarts = []state.Restart{
		{At: ago(45 * time.Second), Kind: state.RestartRecovered, Where: "compute-003", What: "nova-compute", Evidence: "state down → up after 2m10s", Source: "nova"},
		{At: ago(70 * time.Second), Kind: state.RestartProcess, Where: "compute-015", What: "nova-compute", Evidence: "pid 4015 → 9915, started 03:10:50", Source: "heartbeat"},
		{At: ago(95 * time.Second), Kind: state.RestartProcess, Where: "compute-023", What: "nova-compute", Evidence: "pid 4023 → 9923, started 03:10:25", Source: "heartbeat"},
		{At: ago(9 * time.Minute), Kind: state.RestartHost, Where: "compute-019", What: "host", Evidence: "boot id b00t → 7e11; uptime 9m", Source: "heartbeat"},
		{At: ago(31 * time.Minute), Kind: state.RestartBrokerNode, Where: "rabbit@ctl-2", What: "rabbitmq-server", Evidence: "uptime went from 40d02h to 12s", Source: "rabbitmq"},
		{At: ago(31*time.Minute + 20*time.Second), Kind: state.RestartProcess, Where: "ctl-2", What: "nova-conductor", Evidence: "pid 2211 → 3120", Source: "heartbeat"},
	}
	s.Timeline = incidentTimeline()
	s.Verdict = state.Verdict{
		Summary: "BROKER: 6 services flapping on 6 hosts while rabbit@ctl-1 has a memory alarm and the canary times out",
		Evidence: []string{"nova: 6 services flapping on 6 hosts within 50m", "rabbitmq: memory alarm on rabbit@ctl-1 (7.0G of 6.0G)",
			"heartbeat: canary 4 of 39 failed, the last a timeout at 03:11:30", "heartbeat: compute-007 late, compute-011 lost"},
		Cause: state.CauseBroker, Since: ago(90 * time.Second), Started: ago(50 * time.Minute),
		Findings: []state.Finding{
			{Source: "nova", Text: "6 services down or flapping on 6 hosts within 50m"},
			{Source: "rabbitmq", Text: "memory alarm: 7.0G used of a 6.0G high watermark, publishers blocked", At: ago(5 * time.Second), Host: "rabbit@ctl-1"},
			{Source: "heartbeat", Text: "canary 4 of the last 10 failed, the last a timeout after 5.0s", At: ago(30 * time.Second)},
			{Source: "rabbitmq", Text: "reply/conductor queues hold 50053 messages, +2530/min", At: ago(95 * time.Second)},
			{Source: "heartbeat", Text: "lost (last heartbeat 1m12s ago)", At: ago(72 * time.Second), Host: "compute-011"},
		},
		Inputs: incidentInputs(),
	}
	return s
}

// incidentInputs are what the rules saw in the incident, as the state
// package would record them.
func incidentInputs() *state.VerdictInputs {
	return &state.VerdictInputs{
		At: fixedNow, Since: ago(2 * time.Minute),
		Services: 45, NovaHosts: 43, Affected: 6, AffectedHosts: 6, Down: 1, Flapping: 5, DownHosts: 1, ManyAffected: true,
		RPCPinged: 12, RPCFailed: 4, RPCFailHost: 3, CondPinged: 2, CompPinged: 10, CompAnswered: 7,
		Signals: []state.Signal{
			{Kind: state.SigAlarm, Source: "rabbitmq", At: ago(5 * time.Second), Now: true, Text: "mem alarm on rabbit@ctl-1"},
			{Kind: state.SigCanary, Source: "heartbeat", At: ago(30 * time.Second), Now: true, Text: "canary 4/10 failed (last timeout 5.0s)"},
			{Kind: state.SigBacklog, Source: "rabbitmq", At: ago(95 * time.Second), Text: "was: reply/conductor queues +2.5k/min (50k queued) (last 03:10:25)"},
		},
		DownByHost: []state.HostInput{{Host: "compute-011", Down: "nova-compute", Since: ago(80 * time.Second), Beat: state.BeatLost,
			LastSeen: ago(72 * time.Second), Ping: state.PingFailed, PingText: "RPC ping of nova-compute timeout at 03:10:40"}},
		HeartbeatOK: true, HostsKnown: 43, HostsLost: 1,
		Sources: []state.SourceInput{{Name: "heartbeat"}, {Name: "nova"},
			{Name: "rabbitmq", Failing: true, Failures: 2, Kind: sources.FailTimeout, Err: "GET /api/queues: context deadline exceeded"}},
	}
}

// incidentTimeline is the incident's timeline as the store derives it,
// newest first: every kind of event, the restarts among them.
func incidentTimeline() []state.Event {
	down6 := []string{"compute-003", "compute-007", "compute-011", "compute-015", "compute-019", "compute-023"}
	ev := []state.Event{
		{At: ago(30 * time.Second), Kind: state.EventCanary, Level: state.LevelProblem, Subject: "broker canary", Change: "failing", Evidence: "timeout after 5s", Source: "heartbeat"},
		{At: ago(45 * time.Second), Kind: state.EventService, Level: state.LevelRecovery, Subject: "nova-compute", Change: "up", Hosts: []string{"compute-003"}, Evidence: "Nova: state up, after 2m10s down", Source: "nova"},
		{At: ago(70 * time.Second), Kind: state.EventRestart, Level: state.LevelProblem, Subject: "nova-compute", Change: "restarted", Hosts: []string{"compute-015"}, Evidence: "pid 4015 → 9915, started 03:10:50", Source: "heartbeat"},
		{At: ago(72 * time.Second), Kind: state.EventHeartbeat, Level: state.LevelProblem, Subject: "heartbeats", Change: "lost", Hosts: []string{"compute-011"}, Evidence: "last heartbeat 03:09:58 (seq 4410), none for 5 intervals of 10s", Source: "heartbeat"},
		{At: ago(80 * time.Second), Kind: state.EventSource, Level: state.LevelProblem, Subject: "rabbitmq polls", Change: "failing", Evidence: "GET /api/queues: context deadline exceeded (last success 03:10:25)", Source: "rabbitmq"},
		{At: ago(88 * time.Second), Kind: state.EventVerdict, Level: state.LevelProblem, Subject: "verdict:", Change: "BROKER: 6 services flapping on 6 hosts while rabbit@ctl-1 has a memory alarm", Evidence: "nova: 6 services flapping on 6 hosts within 50m; rabbitmq: memory alarm on rabbit@ctl-1", Source: "stacktop"},
		{At: ago(95 * time.Second), Kind: state.EventRestart, Level: state.LevelProblem, Subject: "nova-compute", Change: "restarted", Hosts: []string{"compute-023"}, Evidence: "pid 4023 → 9923, started 03:10:25", Source: "heartbeat"},
		{At: ago(5 * time.Minute), Kind: state.EventBroker, Level: state.LevelProblem, Subject: "rabbit@ctl-1", Change: "memory alarm raised", Evidence: "memory 7.0 GiB, high watermark 6.0 GiB", Source: "rabbitmq"},
		{At: ago(9 * time.Minute), Kind: state.EventRestart, Level: state.LevelProblem, Change: "rebooted", Hosts: []string{"compute-019"}, Evidence: "boot id b00t → 7e11; uptime 9m", Source: "heartbeat"},
		{At: ago(12 * time.Minute), Until: ago(12*time.Minute - 20*time.Second), Kind: state.EventService, Level: state.LevelProblem, Subject: "nova-compute", Change: "down", Hosts: down6, Evidence: "Nova: state down", Source: "nova"},
		{At: ago(31 * time.Minute), Kind: state.EventBroker, Level: state.LevelProblem, Subject: "rabbit@ctl-2", Change: "restarted", Evidence: "uptime went from 40d02h to 12s", Source: "rabbitmq"},
		{At: ago(31*time.Minute + 20*time.Second), Kind: state.EventRestart, Level: state.LevelProblem, Subject: "nova-conductor", Change: "restarted", Hosts: []string{"ctl-2"}, Evidence: "pid 2211 → 3120", Source: "heartbeat"},
		{At: ago(50 * time.Minute), Kind: state.EventStart, Subject: "Nova", Change: "lists 46 services: 46 up", Evidence: "all up", Source: "nova"},
	}
	for i := range ev {
		ev[i].ID = uint64(len(ev) - i)
		if len(ev[i].Hosts) > 1 { // each host at its own time, 4 s apart
			for k, h := range ev[i].Hosts {
				ev[i].Members = append(ev[i].Members, state.Member{Host: h, At: ev[i].At.Add(time.Duration(4*k) * time.Second),
					Evidence: fmt.Sprintf("Nova: state down, last report 02:58:%02d (%ds before)", 10+k, 50-k)})
			}
		}
	}
	return ev
}

func sortQueues(qs []state.Queue) {
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && (qs[j].Key.VHost < qs[j-1].Key.VHost || qs[j].Key.VHost == qs[j-1].Key.VHost && qs[j].Key.Name < qs[j-1].Key.Name); j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
}

// newTestModel builds a model at a size showing snap.
func newTestModel(snap *state.Snapshot, w, h int, noColor bool) Model {
	m := New(Options{Initial: snap, Now: func() time.Time { return fixedNow }, NoColor: noColor, Cloud: "prod-east"})
	return update(m, tea.WindowSizeMsg{Width: w, Height: h})
}

// update applies msg and feeds back what its commands produce for the UI
// (drill-down openings, the queues' rows computed off the UI goroutine),
// without running timers.
func update(m Model, msg tea.Msg) Model {
	next, cmd := m.Update(msg)
	m = next.(Model)
	for _, out := range runCmd(cmd) {
		m = update(m, out)
	}
	return m
}

func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case openDetailMsg, qOrderMsg:
		return []tea.Msg{msg}
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, runCmd(c)...)
		}
		return out
	}
	return nil
}

// keyMsg builds a key press from its string form.
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "alt+esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape, Mod: tea.ModAlt}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	case "ctrl+d":
		return tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// press applies keys in order.
func press(m Model, keys ...string) Model {
	for _, k := range keys {
		m = update(m, keyMsg(k))
	}
	return m
}

// freshBroker is the incident with the broker's last poll 5 s ago: its
// figures are current.
func freshBroker() *state.Snapshot {
	s := incident()
	s.Sources = slices.Clone(s.Sources)
	s.Sources[2].LastSuccess, s.Sources[2].LastErr, s.Sources[2].Failures = ago(5*time.Second), "", 0
	read := state.Reading{Source: "rabbitmq", At: ago(5 * time.Second)}
	s.Read.Overview, s.Read.Nodes, s.Read.Queues = read, read, read
	return s
}

// canaryAlarm is the broker's management API failing for 40 s while the
// canary is blocked by a memory alarm, the reason as RabbitMQ gives it
// (no node named): the alarm shows, from the canary.
func canaryAlarm() *state.Snapshot {
	s := freshBroker()
	for i := range s.Nodes {
		s.Nodes[i].MemAlarm = false
	}
	s.Sources[2].LastSuccess, s.Sources[2].LastErr, s.Sources[2].Failures = ago(40*time.Second), "GET /api/nodes: context deadline exceeded", 3
	read := state.Reading{Source: "rabbitmq", At: ago(40 * time.Second)}
	s.Read.Overview, s.Read.Nodes, s.Read.Queues = read, read, read
	h := slices.Clone(s.Canary.History)
	h[len(h)-1] = sources.Probe{Kind: sources.ProbeCanary, At: ago(2 * time.Second), RTT: 5 * time.Second, Result: sources.ProbeBlocked,
		Detail: "connection.blocked: low on memory"}
	s.Canary.History = h
	return s
}

// unknownCounts is a fresh broker that did not say its counts (-1): a
// metrics collector off, a queue listing without depths.
func unknownCounts() *state.Snapshot {
	s := freshBroker()
	ov := *s.Overview
	ov.Connections, ov.Channels, ov.Consumers, ov.MessagesReady, ov.MessagesUnacked = -1, -1, -1, -1, -1
	s.Overview = &ov
	s.Queues = slices.Clone(s.Queues)
	for i := range s.Queues {
		s.Queues[i].Messages, s.Queues[i].Ready, s.Queues[i].Unacked, s.Queues[i].Consumers = -1, -1, -1, -1
	}
	return s
}

// withoutAlarms is s with the broker's resource alarms cleared: a host's
// silence then proves it late or lost (with an alarm raised, it proves
// nothing and reads "?").
func withoutAlarms(s *state.Snapshot) *state.Snapshot {
	for i := range s.Nodes {
		s.Nodes[i].MemAlarm, s.Nodes[i].DiskAlarm = false, false
	}
	return s
}
