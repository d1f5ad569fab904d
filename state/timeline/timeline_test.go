package timeline

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 8, 12, 22, 30, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func nova(sec int, down ...string) sources.Batch {
	b := sources.Batch{Source: sources.NameNova, At: at(sec), Health: sources.Health{OK: true, Interval: 10 * time.Second, Target: "cloud1", Detail: "microversion 2.69"}}
	for _, h := range []string{"c1", "c2", "c3", "c4"} {
		sv := sources.Service{ID: h, Binary: "nova-compute", Host: h, Status: sources.StatusEnabled, State: sources.StateUp, UpdatedAt: at(sec - 2)}
		for _, d := range down {
			if d == h {
				sv.State, sv.UpdatedAt = sources.StateDown, at(sec-25)
			}
		}
		b.Services = append(b.Services, sv)
	}
	b.Services = append(b.Services, sources.Service{ID: "ctl", Binary: "nova-conductor", Host: "ctl", Status: sources.StatusDisabled, DisabledReason: "maintenance", State: sources.StateUp, UpdatedAt: at(sec - 1)})
	return b
}

func rabbit(sec int, memAlarm bool, uptime time.Duration) sources.Batch {
	mem := int64(800 << 20)
	if memAlarm {
		mem = 1700 << 20
	}
	return sources.Batch{Source: sources.NameRabbitMQ, At: at(sec), Health: sources.Health{OK: true, Interval: 10 * time.Second, Target: "http://mq:15672"},
		Overview: &sources.Overview{ClusterName: "rabbit@mq-1"},
		Nodes: []sources.Node{
			{Name: "rabbit@mq-1", Running: true, MemAlarm: memAlarm, MemUsed: mem, MemLimit: 1600 << 20, DiskFree: 50 << 30, DiskFreeLimit: 50 << 20, Uptime: uptime},
			{Name: "rabbit@mq-2", Running: true, MemUsed: 100 << 20, MemLimit: 1600 << 20, Uptime: time.Hour},
		},
		Queues: []sources.Queue{}}
}

// heartbeats from hosts at sec; pids gives each host's nova-compute pid (default 100).
func heartbeats(sec int, probe sources.ProbeResult, pids map[string]int, hosts ...string) sources.Batch {
	b := sources.Batch{Source: sources.NameHeartbeat, At: at(sec), Health: sources.Health{OK: true, Interval: 5 * time.Second},
		Heartbeats: []sources.Heartbeat{}}
	for _, h := range hosts {
		pid := 100
		if p, ok := pids[h]; ok {
			pid = p
		}
		b.Heartbeats = append(b.Heartbeats, sources.Heartbeat{Host: h, BootID: "boot-" + h, Seq: uint64(sec), SentAt: at(sec), ReceivedAt: at(sec),
			Uptime: time.Hour, Interval: 5 * time.Second,
			Processes: []sources.Process{{Name: "nova-compute", PID: pid, StartedAt: at(-3600 + pid)}}})
	}
	if probe != "" {
		b.Probes = []sources.Probe{{Kind: sources.ProbeCanary, At: at(sec), RTT: 20 * time.Millisecond, Result: probe}}
		if probe != sources.ProbeOK {
			b.Probes[0].RTT, b.Probes[0].Detail = 5*time.Second, "no reply on the canary queue"
		}
	}
	return b
}

// scenario is a broker incident told in batches: an alarm, the canary
// failing, two computes down, the management API failing, the node
// restarted, the computes' nova-compute restarted, recovery; meanwhile
// c4's agent stops sending heartbeats.
func scenario() []sources.Batch {
	all := []string{"c1", "c2", "c3", "c4"}
	noC4 := []string{"c1", "c2", "c3"}
	restarted := map[string]int{"c1": 201, "c2": 202}
	return []sources.Batch{
		nova(0),
		rabbit(1, false, time.Hour),
		heartbeats(2, sources.ProbeOK, nil, all...),
		heartbeats(7, sources.ProbeOK, nil, all...),
		rabbit(11, true, time.Hour),
		heartbeats(12, sources.ProbeTimeout, nil, noC4...),
		nova(20, "c1", "c2"),
		heartbeats(22, sources.ProbeTimeout, nil, noC4...),
		{Source: sources.NameRabbitMQ, At: at(25), Health: sources.Health{Err: `Get "http://mq:15672/api/overview": dial tcp: connect: connection refused`}},
		heartbeats(32, sources.ProbeTimeout, nil, noC4...),
		{Source: sources.NameRabbitMQ, At: at(35), Health: sources.Health{Err: `Get "http://mq:15672/api/overview": dial tcp: connect: connection refused`}},
		rabbit(45, false, 5*time.Second),
		heartbeats(46, sources.ProbeOK, restarted, noC4...),
		heartbeats(47, sources.ProbeOK, restarted, "c2"),
		heartbeats(48, sources.ProbeOK, restarted, "c3"),
		nova(50),
		heartbeats(52, sources.ProbeOK, restarted, all...),
	}
}

func build(bs []sources.Batch) *Builder {
	b := NewBuilder(state.Config{})
	for _, x := range bs {
		b.Add(x)
	}
	return b
}

// withoutVerdicts drops verdict entries: the rules are state's (and tested
// there); TestVerdictChanges covers how the timeline reports them.
func withoutVerdicts(entries []state.Event) []state.Event {
	var out []state.Event
	for _, e := range entries {
		if e.Kind != state.EventVerdict {
			out = append(out, e)
		}
	}
	return out
}

func TestScenarioTimeline(t *testing.T) {
	b := build(scenario())
	entries := withoutVerdicts(b.Events())
	var text bytes.Buffer
	if err := Text(&text, entries, b.Meta(), Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"22:30:00  Nova lists 5 services: 4 up, 1 disabled — disabled: nova-conductor on ctl [nova]",
		"22:30:00  nova polls started — cloud1; microversion 2.69; every 10s [nova]",
		"22:30:01  broker rabbit@mq-1 lists 2 nodes: rabbit@mq-1, rabbit@mq-2 — all running, no alarms, no partitions [rabbitmq]",
		"22:30:02  heartbeats from 4 hosts — all fresh [heartbeat]",
		"22:30:11  rabbit@mq-1 memory alarm raised — memory 1.7G, high watermark 1.6G [rabbitmq]",
		"22:30:12  broker canary failing — timeout after 5s: no reply on the canary queue [heartbeat]",
		"22:30:20  nova-compute down on c1 — Nova: state down, last report 22:29:55 (25s before) [nova]",
		"22:30:25  rabbitmq polls failing — Get \"http://mq:15672/api/overview\": dial tcp: connect: connection refused (last success 22:30:11) [rabbitmq]",
		"22:30:32  heartbeats lost on c4 — last heartbeat 22:30:07 (seq 7), none for 5 intervals of 5s [heartbeat]",
		"22:30:45  rabbitmq polls recovered — after 20s, 2 failed polls [rabbitmq]",
		"22:30:45  rabbit@mq-1 restarted — uptime went from 1h0m0s to 5s [rabbitmq]",
		"22:30:45  rabbit@mq-1 memory alarm cleared",
		"22:30:46  nova-compute restarted on c1 — pid 100 → 201",
		"22:30:46  broker canary answering again — round trip 20ms, after 3 failed probes [heartbeat]",
		"22:30:50  nova-compute up on c1 — Nova: state up, after 30s down [nova]",
		"22:30:52  heartbeats back on c4 — heartbeat seq 52; 48 missed so far, by sequence number [heartbeat]",
	} {
		if !strings.Contains(text.String(), want+"") {
			t.Errorf("timeline lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("timeline:\n%s", text.String())
	}

	var out bytes.Buffer
	if err := Markdown(&out, state.GroupEvents(entries, 30*time.Second), b.Meta(), Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scenario.md", out.Bytes())
	for _, want := range []string{
		"- [22:30:20] nova-compute down on 2 hosts: c1, c2 — Nova: state down, last report 22:29:55 (25s before) (nova)",
		"- [22:30:46] nova-compute restarted on 2 hosts: c1, c2 — new pid or start time in the hosts' heartbeats (heartbeat)",
		"- [22:30:45] rabbit@mq-1 memory alarm cleared — memory 800M, high watermark 1.6G (rabbitmq)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("compacted markdown lacks %q", want)
		}
	}
}

func TestFormatIsSafeAndSpansDays(t *testing.T) {
	m := Meta{First: at(0), Last: at(0).Add(26 * time.Hour), Batches: 2, Sources: []string{"nova"}}
	entries := []state.Event{{At: at(0).Add(25 * time.Hour), Kind: state.EventSource, Subject: "nova polls", Change: "failing",
		Evidence: "<b>boom</b> *bold* [link](http://x) \x1b[31mred\x1b[0m | `code`\nnext line", Source: "nova"}}
	var out bytes.Buffer
	if err := Markdown(&out, entries, m, Options{}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "\x1b") {
		t.Errorf("an escape got through:\n%q", s)
	}
	for _, want := range []string{"- [2026-08-13 23:30:00] nova polls failing — \\<b\\>boom\\</b\\> \\*bold\\* \\[link\\](http://x)", "\\| \\`code\\`"} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "\n") != 5 { // heading, blank, intro, blank, one entry
		t.Errorf("%d lines:\n%s", strings.Count(s, "\n"), s)
	}
}
