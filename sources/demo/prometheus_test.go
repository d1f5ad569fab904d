package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stacktop/stacktop/sources/rabbitmq"
)

func parseProm(t *testing.T, what string, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return mfs
}

// TestPrometheusShapes checks each node's endpoint against a real
// rabbitmq_prometheus capture (RabbitMQ 3.10): every family the demo
// writes is one the plugin writes, of the same type, with the same labels,
// and the queues of /metrics/detailed are those of the management API.
func TestPrometheusShapes(t *testing.T) {
	c, _ := startCloud(t, Config{}, 10)
	for _, tc := range []struct {
		path, fixture string
	}{
		{"/metrics", "rabbitmq-3.10-metrics-off-prometheus-metrics.txt"},
		{"/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count&vhost=nova", "rabbitmq-3.10-metrics-off-prometheus-detailed-nova.txt"},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", tc.fixture))
		if err != nil {
			t.Fatal(err)
		}
		fix := parseProm(t, tc.fixture, raw)
		for i, u := range c.PrometheusURLs() {
			r := do(t, "GET", u+tc.path, nil, nil)
			if r.status != 200 || r.header.Get("Content-Type") != promContentType {
				t.Fatalf("%s%s: %d %s", u, tc.path, r.status, r.header.Get("Content-Type"))
			}
			got := parseProm(t, tc.path, r.body)
			if len(got) < 5 {
				t.Errorf("%s: only %d families", tc.path, len(got))
			}
			for name, mf := range got {
				f := fix[name]
				if f == nil {
					t.Errorf("%s: family %s is not in the plugin's output", tc.path, name)
					continue
				}
				if mf.GetType() != f.GetType() || mf.GetHelp() != f.GetHelp() {
					t.Errorf("%s: %s is %v %q, the plugin's %v %q", tc.path, name, mf.GetType(), mf.GetHelp(), f.GetType(), f.GetHelp())
				}
				if labels(mf) != labels(f) {
					t.Errorf("%s: %s has labels %s, the plugin's %s", tc.path, name, labels(mf), labels(f))
				}
			}
			id := got["rabbitmq_identity_info"].GetMetric()[0]
			if node := labelOf(id, "rabbitmq_node"); node != brokerNodes[i] {
				t.Errorf("endpoint %d is node %q, want %s", i, node, brokerNodes[i])
			}
		}
	}
}

func labels(mf *dto.MetricFamily) string {
	if len(mf.GetMetric()) == 0 {
		return ""
	}
	var names []string
	for _, l := range mf.GetMetric()[0].GetLabel() {
		names = append(names, l.GetName())
	}
	return strings.Join(names, ",")
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestPrometheusThroughTheSource polls the demo with the real RabbitMQ
// source on its prometheus path (as `stacktop --demo` does) while healthy,
// during the memory alarm and while rabbit@mq-1 is stopped.
func TestPrometheusThroughTheSource(t *testing.T) {
	c, clk := startCloud(t, Config{}, 10)
	cr := c.Credentials()
	src, err := rabbitmq.New(rabbitmq.Config{URL: cr.RabbitURL, User: cr.RabbitUser, Password: cr.RabbitPassword,
		PrometheusURLs: cr.PrometheusURLs, Interval: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The management API's count of live queues: a stopped node's queues
	// are listed "down" there, and its prometheus endpoint is gone.
	mgmt := func() int {
		var qs []struct{ State string }
		if err := json.Unmarshal(rabbitGet(t, c, "/api/queues").body, &qs); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, q := range qs {
			if q.State != "down" {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name       string
		sec        float64
		alarm      bool
		mq1Running bool
	}{
		{"healthy", 10, false, true},
		{"memory alarm", 88, true, true},
		{"rabbit@mq-1 stopped", 190, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Set(at(tc.sec))
			b, err := src.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if b.Overview == nil || b.Overview.Via != "prometheus" || !strings.HasPrefix(b.Health.Detail, "prometheus") {
				t.Fatalf("not the prometheus path: via %v, detail %q", b.Overview, b.Health.Detail)
			}
			if want := mgmt(); len(b.Queues) != want {
				t.Errorf("%d queues from prometheus, the management API lists %d", len(b.Queues), want)
			}
			consumers := 0
			for _, q := range b.Queues {
				consumers += q.Consumers
				if q.Messages < 0 || q.Consumers < 0 {
					t.Errorf("queue %s: unknown depth or consumers: %+v", q.Name, q)
				}
			}
			if consumers == 0 {
				t.Error("no consumers on any queue")
			}
			for _, n := range b.Nodes {
				if n.Name == brokerNodes[sickNode] {
					if n.Running != tc.mq1Running || (n.Running && n.MemAlarm != tc.alarm) {
						t.Errorf("rabbit@mq-1: running %v, alarm %v, want %v, %v", n.Running, n.MemAlarm, tc.mq1Running, tc.alarm)
					}
				} else if !n.Running || n.MemUsed <= 0 || n.FDUsed <= 0 || n.Uptime <= 0 {
					t.Errorf("%s: gauges %+v", n.Name, n)
				}
			}
		})
	}
}
