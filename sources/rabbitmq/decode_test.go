package rabbitmq

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/httppolicy"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeNodes(t *testing.T) {
	tests := []struct {
		file    string
		metrics bool
		want    sources.Node
	}{
		{"rabbitmq-3.10-nodes.json", true, sources.Node{
			Name: "rabbit@vm", Running: true,
			MemUsed: 168140800, MemLimit: 10110605721,
			DiskFree: 84793958400, DiskFreeLimit: 50000000,
			FDUsed: 54, FDTotal: 1024, SocketsUsed: 10, SocketsTotal: 832,
			ProcUsed: 541, ProcTotal: 1048576, Partitions: []string{},
			Uptime: 12217 * time.Millisecond,
		}},
		{"rabbitmq-3.10-metrics-off-nodes.json", false, sources.Node{
			Name: "rabbit@vm", Running: true,
			MemUsed: -1, MemLimit: -1, DiskFree: -1, DiskFreeLimit: -1,
			FDUsed: -1, FDTotal: -1, SocketsUsed: -1, SocketsTotal: -1,
			ProcUsed: -1, ProcTotal: -1, Uptime: -1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			nodes, metrics, nameless, err := decodeNodes(bytes.NewReader(fixture(t, tt.file)))
			if err != nil || nameless != 0 {
				t.Fatal(err, nameless)
			}
			if metrics != tt.metrics {
				t.Errorf("metrics = %v, want %v", metrics, tt.metrics)
			}
			if len(nodes) != 1 {
				t.Fatalf("got %d nodes, want 1", len(nodes))
			}
			assertNode(t, nodes[0], tt.want)
		})
	}
}

// TestDecodeNodesNameless: a node without a name is dropped and counted,
// its missing gauges are unknown (-1), not zero.
func TestDecodeNodesNameless(t *testing.T) {
	in := `[{"name":"","running":true,"mem_used":5},{"running":true},{"name":"rabbit@a","running":true,"fd_used":-1}]`
	nodes, _, nameless, err := decodeNodes(strings.NewReader(in))
	if err != nil || nameless != 2 || len(nodes) != 1 || nodes[0].Name != "rabbit@a" {
		t.Fatalf("nodes %+v, nameless %d, err %v; want rabbit@a alone and 2 nameless", nodes, nameless, err)
	}
	if n := nodes[0]; n.MemUsed != -1 || n.FDUsed != -1 || n.FDTotal != -1 || n.Uptime != -1 {
		t.Errorf("missing or negative gauges not unknown: %+v", n)
	}
}

func assertNode(t *testing.T, got, want sources.Node) {
	t.Helper()
	if got.Name != want.Name || got.Running != want.Running || got.MemUsed != want.MemUsed ||
		got.MemLimit != want.MemLimit || got.MemAlarm != want.MemAlarm || got.DiskFree != want.DiskFree ||
		got.DiskFreeLimit != want.DiskFreeLimit || got.DiskAlarm != want.DiskAlarm || got.FDUsed != want.FDUsed ||
		got.FDTotal != want.FDTotal || got.SocketsUsed != want.SocketsUsed || got.SocketsTotal != want.SocketsTotal ||
		got.ProcUsed != want.ProcUsed || got.ProcTotal != want.ProcTotal || got.Uptime != want.Uptime ||
		len(got.Partitions) != len(want.Partitions) {
		t.Errorf("node\n got %+v\nwant %+v", got, want)
	}
}

func TestDecodeOverview(t *testing.T) {
	tests := []struct {
		file string
		want sources.Overview
	}{
		{"rabbitmq-3.10-overview.json", sources.Overview{
			ClusterName: "rabbit@vm", RabbitVersion: "3.10.8", ErlangVersion: "25.2.3",
			Queues: 13, Connections: 12, Channels: 12, Consumers: 14, MessagesReady: 0, MessagesUnacked: 0, Via: "management",
		}},
		{"rabbitmq-3.10-metrics-off-overview.json", sources.Overview{
			ClusterName: "rabbit@vm", RabbitVersion: "3.10.8", ErlangVersion: "25.2.3",
			Queues: 20018, Connections: 11, Channels: -1, Consumers: -1, MessagesReady: -1, MessagesUnacked: -1, Via: "management",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := decodeOverview(bytes.NewReader(fixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeQueues(t *testing.T) {
	tests := []struct {
		file      string
		filter    string
		n         int
		first     sources.Queue
		consumers int // of "compute"
	}{
		{"rabbitmq-3.10-queues-nova-full.json", "", 13,
			sources.Queue{VHost: "nova", Name: "compute", Consumers: 2}, 2},
		{"rabbitmq-3.10-queues-nova-totals.json", "", 13,
			sources.Queue{VHost: "nova", Name: "compute", Consumers: -1}, -1},
		{"rabbitmq-3.10-metrics-off-queues-nova-totals.json", "", 17,
			sources.Queue{VHost: "nova", Name: "compute", Consumers: -1}, -1},
		{"rabbitmq-3.10-metrics-off-queues-nova-full.json", "", 17,
			sources.Queue{VHost: "nova", Name: "compute", Messages: -1, Ready: -1, Unacked: -1, Consumers: -1}, -1},
		{"rabbitmq-3.10-queues-nova-full.json", "^compute", 5,
			sources.Queue{VHost: "nova", Name: "compute", Consumers: 2}, 2},
		{"rabbitmq-3.10-queues-nova-full.json", "fanout_", 4,
			sources.Queue{VHost: "nova", Name: "compute_fanout_07e859fcfb55474a957b9efbea0db2ec", Consumers: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.filter, func(t *testing.T) {
			var keep func(string) bool
			if tt.filter != "" {
				keep = regexp.MustCompile(tt.filter).MatchString
			}
			qs, err := decodeQueues(bytes.NewReader(fixture(t, tt.file)), keep)
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != tt.n {
				t.Fatalf("got %d queues, want %d", len(qs), tt.n)
			}
			if qs[0] != tt.first {
				t.Errorf("first\n got %+v\nwant %+v", qs[0], tt.first)
			}
			for _, q := range qs {
				if q.Name == "compute" && q.Consumers != tt.consumers {
					t.Errorf("compute consumers = %d, want %d", q.Consumers, tt.consumers)
				}
			}
		})
	}
}

func TestDecodeQueuesBroken(t *testing.T) {
	full := fixture(t, "rabbitmq-3.10-queues-nova-full.json")
	tests := []struct {
		name string
		body string
		want string
	}{
		{"truncated mid-element", string(full[:len(full)/2]), "response truncated"},
		{"truncated after element", `[{"name":"a","vhost":"/"},`, "response truncated"},
		{"no closing bracket", `[{"name":"a","vhost":"/"}`, "response truncated"},
		{"empty", ``, "response truncated"},
		{"object not array", `{"error":"x"}`, "want a JSON array"},
		{"garbage", `[{"name":"a",}]`, "invalid JSON"},
		{"wrong type", `[{"name":"a","messages":"many"}]`, "queue 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeQueues(strings.NewReader(tt.body), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeQueueDetail(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *sources.QueueRates
	}{
		{"conductor", string(fixture(t, "rabbitmq-3.10-queue-nova-conductor.json")), &sources.QueueRates{Publish: 1.6, Deliver: 1.6, Ack: 1.6}},
		{"idle", `{"name":"q","vhost":"/","messages":0}`, &sources.QueueRates{}},
		{"deliver only", `{"message_stats":{"deliver_details":{"rate":2.5}}}`, &sources.QueueRates{Deliver: 2.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeQueueDetail(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if *got != *tt.want {
				t.Errorf("got %+v, want %+v", *got, *tt.want)
			}
		})
	}
}

func TestParseNodeMetrics(t *testing.T) {
	pn, err := parseNodeMetrics(bytes.NewReader(fixture(t, "rabbitmq-3.10-metrics-off-prometheus-metrics.txt")))
	if err != nil {
		t.Fatal(err)
	}
	assertNode(t, pn.Node, sources.Node{
		Name: "rabbit@vm", Running: true,
		MemUsed: 971382784, MemLimit: 10110605721,
		DiskFree: 84799852544, DiskFreeLimit: 50000000,
		FDUsed: 55, FDTotal: 1024, SocketsUsed: 11, SocketsTotal: 832,
		ProcUsed: 40529, ProcTotal: 1048576, Uptime: 410740 * time.Millisecond,
	})
	if pn.Name != "rabbit@vm" || pn.Connections != 11 || pn.Channels != 11 || pn.Consumers != 14 || pn.Ready != 400 || pn.Unacked != 0 {
		t.Errorf("totals: %+v", pn)
	}
}

func TestParseNodeMetricsAlarms(t *testing.T) {
	text := strings.NewReplacer(
		"rabbitmq_alarms_memory_used_watermark 0", "rabbitmq_alarms_memory_used_watermark 1",
		"rabbitmq_alarms_free_disk_space_watermark 0", "rabbitmq_alarms_free_disk_space_watermark 1",
	).Replace(string(fixture(t, "rabbitmq-3.10-metrics-off-prometheus-metrics.txt")))
	pn, err := parseNodeMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if !pn.Node.MemAlarm || !pn.Node.DiskAlarm {
		t.Errorf("alarms: mem %v disk %v, want both", pn.Node.MemAlarm, pn.Node.DiskAlarm)
	}
	// A scrape without the gauges leaves them unknown.
	pn, err = parseNodeMetrics(strings.NewReader("# TYPE rabbitmq_build_info untyped\nrabbitmq_build_info{version=\"3.10.8\"} 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pn.Node.MemUsed != -1 || pn.Node.Uptime != -1 || pn.Connections != -1 || pn.Name != "" {
		t.Errorf("empty scrape: %+v", pn)
	}
}

func TestParseDetailedQueues(t *testing.T) {
	body := fixture(t, "rabbitmq-3.10-metrics-off-prometheus-detailed-nova.txt")
	tests := []struct {
		filter string
		n      int
	}{{"", 17}, {"^conductor", 3}, {"^reply_", 6}}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			var keep func(string) bool
			if tt.filter != "" {
				keep = regexp.MustCompile(tt.filter).MatchString
			}
			m, err := parseMap(bytes.NewReader(body), keep)
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != tt.n {
				t.Fatalf("got %d queues, want %d", len(m), tt.n)
			}
			if q := m[queueKey{"nova", "compute"}]; tt.filter == "" && *q != (sources.Queue{VHost: "nova", Name: "compute", Consumers: 2}) {
				t.Errorf("compute: %+v", *q)
			}
			if q := m[queueKey{"nova", "reply_ae1a0c4373894278aaf68105e0323316"}]; q != nil && q.Consumers != 0 {
				t.Errorf("orphan reply queue consumers = %d, want 0", q.Consumers)
			}
		})
	}
}

func TestParseDetailedQueuesBroken(t *testing.T) {
	body := fixture(t, "rabbitmq-3.10-metrics-off-prometheus-detailed-nova.txt")
	cut := bytes.Index(body, []byte(`queue="compute.compute-1"} 0`)) + 10
	_, err := parseMap(bytes.NewReader(body[:cut]), nil)
	if err == nil || !strings.Contains(err.Error(), "parse prometheus text") {
		t.Fatalf("err = %v, want a parse error", err)
	}
	// A read error (here: the size limit) comes through as itself.
	lr := httppolicy.LimitReader(bytes.NewReader(body), 100)
	_, err = parseMap(lr, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseDetailedQueuesTrickyNames(t *testing.T) {
	long := strings.Repeat("x", 70000) // longer than the line reader's buffer
	text := `# TYPE rabbitmq_detailed_queue_messages_ready gauge
# HELP rabbitmq_detailed_queue_messages_ready Messages ready to be delivered to consumers
rabbitmq_detailed_queue_messages_ready{vhost="/",queue="say \"hi\"\\now\nnext"} 5
rabbitmq_detailed_queue_messages_ready{vhost="/",queue="rabbitmq_detailed_queue_consumers{x"} 6
rabbitmq_detailed_queue_messages_ready{vhost="ünï",queue="` + long + `"} 7
# TYPE rabbitmq_detailed_queue_process_reductions_total counter
rabbitmq_detailed_queue_process_reductions_total{vhost="/",queue="say \"hi\"\\now\nnext"} 1e9
# TYPE rabbitmq_detailed_queue_messages_unacked gauge
rabbitmq_detailed_queue_messages_unacked{vhost="/",queue="say \"hi\"\\now\nnext"} 1
rabbitmq_detailed_queue_consumers{vhost="/",queue="say \"hi\"\\now\nnext"} 2
`
	m, err := parseMap(strings.NewReader(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[queueKey]sources.Queue{
		{"/", "say \"hi\"\\now\nnext"}:               {VHost: "/", Name: "say \"hi\"\\now\nnext", Messages: 6, Ready: 5, Unacked: 1, Consumers: 2},
		{"/", "rabbitmq_detailed_queue_consumers{x"}: {VHost: "/", Name: "rabbitmq_detailed_queue_consumers{x", Messages: -1, Ready: 6, Unacked: -1, Consumers: -1},
		// Bounded as decoded; Batch.Clip later cuts it to 255 bytes and counts it.
		{"ünï", long[:256]}: {VHost: "ünï", Name: long[:256], Messages: -1, Ready: 7, Unacked: -1, Consumers: -1},
	}
	if len(m) != len(want) {
		t.Fatalf("got %d queues, want %d", len(m), len(want))
	}
	for k, w := range want {
		if got := m[k]; got == nil || *got != w {
			t.Errorf("%.40q: got %+v", k.name, got)
		}
	}
}

func TestFamilyOf(t *testing.T) {
	tests := map[string]string{
		"# TYPE rabbitmq_detailed_queue_consumers gauge\n":   "rabbitmq_detailed_queue_consumers",
		"# HELP rabbitmq_detailed_queue_consumers Help\n":    "rabbitmq_detailed_queue_consumers",
		"# just a comment\n":                                 "",
		"rabbitmq_detailed_queue_consumers{vhost=\"/\"} 1\n": "rabbitmq_detailed_queue_consumers",
		"rabbitmq_build_info 1\n":                            "rabbitmq_build_info",
		"\n":                                                 "",
	}
	for line, want := range tests {
		if got := string(familyOf([]byte(line))); got != want {
			t.Errorf("familyOf(%q) = %q, want %q", line, got, want)
		}
	}
}
