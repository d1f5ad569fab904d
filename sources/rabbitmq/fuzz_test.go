package rabbitmq

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/sources"
)

// hostileJSON are seeds every management API decoder is fuzzed with, beside
// the captured responses: the cases of issue 11 and malformed JSON.
func hostileJSON() []string {
	return []string{
		``, `null`, `[]`, `{}`, `[{}]`, `{"a":`, `[{"name":`, `"x"`, `1e999`, `[1,2]`,
		`[{"name":"` + strings.Repeat("q", 300) + `","vhost":"/"}]`,
		`{"cluster_name":"` + strings.Repeat("c", 300) + `\u001b]52;c;"}`,
		`[{"name":"n","running":true,"mem_used":-1,"uptime":9223372036854775807,"partitions":["` + strings.Repeat("p", 300) + `"]}]`,
		`[{"name":"q","messages":1e300}]`, `{"object_totals":{"queues":"many"}}`,
		strings.Repeat("[", 2000),
	}
}

func seedFiles(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(fixture(f, n))
	}
}

// clipped checks that Batch.Clip leaves nothing over its limits.
func clipped(t *testing.T, b sources.Batch) {
	b.Clip()
	if b.Clip() != 0 {
		t.Fatal("a second Clip cut again")
	}
}

// FuzzManagementAPI: the decoders of /api/overview, /api/nodes, /api/queues
// and /api/queues/{vhost}/{name}, each given the same bytes, never panic,
// fail with a decode error, and return nothing with an error. One target
// for the four keeps CI's fuzz step short.
func FuzzManagementAPI(f *testing.F) {
	seedFiles(f, "rabbitmq-3.10-overview.json", "rabbitmq-3.10-metrics-off-overview.json",
		"rabbitmq-3.10-nodes.json", "rabbitmq-3.10-metrics-off-nodes.json",
		"rabbitmq-3.10-queues-nova-totals.json", "rabbitmq-3.10-metrics-off-queues-nova-full.json",
		"rabbitmq-3.10-queue-nova-conductor.json")
	for _, s := range hostileJSON() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ov, err := decodeOverview(bytes.NewReader(b)); err != nil {
			if !strings.HasPrefix(err.Error(), "decode: ") {
				t.Fatalf("overview: error %q does not say it is a decode error", err)
			}
		} else {
			if ov.Via != "management" {
				t.Fatalf("overview %+v", ov)
			}
			clipped(t, sources.Batch{Overview: &ov})
		}

		if nodes, metrics, nameless, err := decodeNodes(bytes.NewReader(b)); err != nil {
			if nodes != nil || metrics {
				t.Fatalf("nodes: an error with data: %d nodes", len(nodes))
			}
		} else {
			for _, n := range nodes {
				if n.Name == "" {
					t.Fatalf("a nameless node kept (%d dropped)", nameless)
				}
			}
			if metrics && len(nodes) == 0 {
				t.Fatal("nodes: metrics on without a node")
			}
			clipped(t, sources.Batch{Nodes: nodes})
		}

		keep := func(name string) bool { return !strings.Contains(name, "x") }
		if qs, err := decodeQueues(bytes.NewReader(b), keep); err != nil {
			if qs != nil {
				t.Fatalf("queues: an error with %d queues", len(qs))
			}
		} else {
			for _, q := range qs {
				if !keep(q.Name) {
					t.Fatalf("queue %q kept against the filter", q.Name)
				}
			}
			if len(qs) > maxQueues {
				t.Fatalf("%d queues", len(qs))
			}
			clipped(t, sources.Batch{Queues: qs})
		}

		rates, err := decodeQueueDetail(bytes.NewReader(b))
		if (err == nil) == (rates == nil) {
			t.Fatalf("queue detail: rates %v, err %v", rates, err)
		}
	})
}

// FuzzPrometheusText: a node's /metrics and /metrics/detailed.
func FuzzPrometheusText(f *testing.F) {
	// The node's /metrics as captured is 84 KB, mostly families never read;
	// the lines of those read (5 KB) make a seed the fuzzer can mutate fast.
	used := regexp.MustCompile(`^(# (HELP|TYPE) )?rabbitmq_(process|resident|alarms|disk|erlang_(processes|uptime)|connections |channels |consumers |queue_messages|identity)`)
	var node bytes.Buffer
	for _, line := range bytes.SplitAfter(fixture(f, "rabbitmq-3.10-metrics-off-prometheus-metrics.txt"), []byte("\n")) {
		if used.Match(line) {
			node.Write(line)
		}
	}
	f.Add(node.Bytes())
	seedFiles(f, "rabbitmq-3.10-metrics-off-prometheus-detailed-nova.txt")
	for _, s := range []string{
		``, "\n", "# TYPE x gauge\nx 1\n", "x{", "x{a=\"b\"} NaN\n", "x +Inf\n",
		"# TYPE rabbitmq_detailed_queue_messages_ready gauge\nrabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"" + strings.Repeat("q", 300) + "\"} 5\n",
		"rabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"a\"} 1e300\nrabbitmq_detailed_queue_messages_unacked{vhost=\"/\",queue=\"a\"} -1e300\n",
		"rabbitmq_detailed_queue_consumers{queue=\"a\\\"\\n\\\\\"} 3 1700000000000\n",
		"rabbitmq_identity_info{rabbitmq_node=\"rabbit@\\u001b]52;c;\"} 1\n",
		"# HELP rabbitmq_detailed_queue_consumers " + strings.Repeat("h", 2000) + "\n",
		"# HELP rabbitmq_detailed_queue_consumers a \\\\ b \\n c \\\" d\n# TYPE rabbitmq_detailed_queue_consumers GAUGE\n" +
			"rabbitmq_detailed_queue_consumers {queue = \"\\\\\", vhost=\"ü\",}\t-Inf\t-5\n  rabbitmq_detailed_queue_consumers{queue=\"\\\\\",vhost=\"ü\"} 2\n",
		"rabbitmq_detailed_queue_messages_ready{queue=\"a\"} 1\n# TYPE rabbitmq_detailed_queue_messages_ready gauge\n",
		"rabbitmq_detailed_queue_messages_ready{vhost=\"/\",vhost=\"/\"} 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if pn, err := parseNodeMetrics(bytes.NewReader(b)); err == nil {
			if pn.Node.Name != pn.Name || !pn.Node.Running {
				t.Fatalf("node %+v", pn)
			}
			clipped(t, sources.Batch{Nodes: []sources.Node{pn.Node}})
		}
		// /metrics/detailed is read as expfmt reads it (agreeWithExpfmt).
		into, err := agreeWithExpfmt(t, b, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "parse prometheus text") && !errors.Is(err, ErrTooMany) {
				t.Fatalf("error %q", err)
			}
			return
		}
		for k, q := range into {
			if q.Ready >= 0 && q.Unacked >= 0 && q.Messages != q.Ready+q.Unacked {
				t.Fatalf("queue %+v under %+v: messages is not ready + unacked", q, k)
			}
		}
	})
}
