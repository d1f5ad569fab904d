package rabbitmq

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// managementQueuesJSON is /api/queues?columns=… for n queues in vhost "nova",
// in the broker's shape (names like Nova's reply queues are as long).
func managementQueuesJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"consumers":%d,"messages":%d,"messages_ready":%d,"messages_unacknowledged":%d,"name":"q-%05d","vhost":"nova"}`,
			i%3, i%100, i%90, i%10, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// prometheusDetailedText is /metrics/detailed?family=queue_coarse_metrics&
// family=queue_consumer_count for n queues, as rabbitmq_prometheus 3.10 writes it.
func prometheusDetailedText(n int) []byte {
	return prometheusDetailedTextNamed(n, func(i int) string { return fmt.Sprintf("q-%05d", i) })
}

// novaQueueNames is the i-th of n queue names as in a Nova deployment with
// n/4 compute hosts (compute.<host>, compute_fanout_<32 hex>, two
// reply_<32 hex>), in no order: the plugin writes its table's order.
func novaQueueNames(n int) func(i int) string {
	rng := rand.New(rand.NewPCG(uint64(n), 12))
	names := make([]string, n)
	for i := range names {
		switch i % 4 {
		case 0:
			names[i] = fmt.Sprintf("compute.compute-%05d.example.org", i/4)
		case 1:
			names[i] = fmt.Sprintf("compute_fanout_%016x%016x", rng.Uint64(), rng.Uint64())
		default:
			names[i] = fmt.Sprintf("reply_%016x%016x", rng.Uint64(), rng.Uint64())
		}
	}
	rng.Shuffle(n, func(i, j int) { names[i], names[j] = names[j], names[i] })
	return func(i int) string { return names[i] }
}

// prometheusDetailedTextNamed is prometheusDetailedText with the i-th queue named name(i).
func prometheusDetailedTextNamed(n int, name func(i int) string) []byte {
	var b bytes.Buffer
	ready := func(i int) int { return i % 100 }
	unacked := func(i int) int { return i % 7 }
	fams := []struct {
		name, typ, help string
		v               func(i int) int
	}{
		{famReady, "gauge", "Messages ready to be delivered to consumers", ready},
		{famUnacked, "gauge", "Messages delivered to consumers but not yet acknowledged", unacked},
		{"rabbitmq_detailed_queue_messages", "gauge", "Sum of ready and unacknowledged messages - total queue depth",
			func(i int) int { return ready(i) + unacked(i) }},
		{"rabbitmq_detailed_queue_process_reductions_total", "counter", "Total number of queue process reductions",
			func(i int) int { return 1000003 * i }},
		{famConsumers, "gauge", "Consumers on a queue", func(i int) int { return i % 3 }},
	}
	for _, fam := range fams {
		fmt.Fprintf(&b, "# TYPE %s %s\n# HELP %s %s\n", fam.name, fam.typ, fam.name, fam.help)
		for i := range n {
			fmt.Fprintf(&b, "%s{vhost=\"nova\",queue=\"%s\"} %d\n", fam.name, name(i), fam.v(i))
		}
	}
	return b.Bytes()
}

func TestGeneratedBodiesDecode(t *testing.T) {
	qs, err := decodeQueues(bytes.NewReader(managementQueuesJSON(1000)), nil)
	if err != nil || len(qs) != 1000 || qs[7] != (sources.Queue{VHost: "nova", Name: "q-00007", Messages: 7, Ready: 7, Unacked: 7, Consumers: 1}) {
		t.Fatalf("management: %v %d %+v", err, len(qs), qs[7])
	}
	m, err := parseMap(bytes.NewReader(prometheusDetailedText(1000)), nil)
	if err != nil || len(m) != 1000 {
		t.Fatalf("prometheus: %v %d", err, len(m))
	}
	if q := *m[queueKey{"nova", "q-00007"}]; q != (sources.Queue{VHost: "nova", Name: "q-00007", Messages: 7, Ready: 7, Unacked: 0, Consumers: 1}) {
		t.Fatalf("prometheus: %+v", q)
	}
}

// BenchmarkDecodeQueues20000 decodes a 20,000-queue /api/queues?columns=… response.
func BenchmarkDecodeQueues20000(b *testing.B) {
	body := managementQueuesJSON(20000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		qs, err := decodeQueues(bytes.NewReader(body), nil)
		if err != nil || len(qs) != 20000 {
			b.Fatal(err, len(qs))
		}
	}
}

// BenchmarkDecodePrometheusQueues20000 decodes a 20,000-queue /metrics/detailed response.
func BenchmarkDecodePrometheusQueues20000(b *testing.B) {
	body := prometheusDetailedText(20000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	x := newQueueIndex(nil)
	for b.Loop() {
		x.begin()
		if err := parseDetailedQueues(bytes.NewReader(body), x); err != nil {
			b.Fatal(err)
		}
		if qs := x.end(); len(qs) != 20000 {
			b.Fatal(len(qs))
		}
	}
}

// reportCPU adds the process's CPU time per operation (cpu-ms/op) to b's
// results. On the shared 2-core machine the wall time per operation grows
// with the others' load; the CPU time, which counts the garbage collector's
// background work too, barely does. Call it after the loop.
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// foldBench folds batches of queues into a state.Store as successive 10 s
// polls do: the first fold (which creates every queue's history) happens
// before the timer starts.
type foldBench struct {
	store *state.Store
	at    time.Time
}

func newFoldBench(b *testing.B, queues []sources.Queue) *foldBench {
	f := &foldBench{store: state.NewStore(state.DefaultConfig()), at: time.Unix(1_700_000_000, 0)}
	f.fold(b, queues)
	return f
}

func (f *foldBench) fold(b *testing.B, queues []sources.Queue) {
	f.at = f.at.Add(DefaultInterval)
	snap := f.store.Apply(sources.Batch{
		Source: sources.NameRabbitMQ, At: f.at, Queues: queues,
		Health: sources.Health{OK: true, Interval: DefaultInterval},
	})
	if len(snap.Queues) != len(queues) {
		b.Fatalf("folded %d queues of %d", len(snap.Queues), len(queues))
	}
}

// BenchmarkDecodeFoldQueues20000 is the queue work of one poll on the
// management path with 20,000 queues, after the response has arrived:
// decode /api/queues?columns=… as a stream, sort, fold into the state.
func BenchmarkDecodeFoldQueues20000(b *testing.B) {
	body := managementQueuesJSON(20000)
	qs, err := decodeQueues(bytes.NewReader(body), nil)
	if err != nil {
		b.Fatal(err)
	}
	f := newFoldBench(b, qs)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	for b.Loop() {
		qs, err := decodeQueues(bytes.NewReader(body), nil)
		if err != nil {
			b.Fatal(err)
		}
		sortQueues(qs)
		f.fold(b, qs)
	}
}

// BenchmarkDecodeFoldPrometheusQueues20000 is the same on the prometheus
// path: parse /metrics/detailed, build the list, sort, fold.
func BenchmarkDecodeFoldPrometheusQueues20000(b *testing.B) {
	benchDecodeFoldPrometheus(b, 20000)
}

// BenchmarkDecodeFoldPrometheusQueues200000 is the same at ten times the
// scale model (issue 12's target: at most 1 s, off the UI goroutine).
func BenchmarkDecodeFoldPrometheusQueues200000(b *testing.B) {
	benchDecodeFoldPrometheus(b, 200_000)
}

// BenchmarkDecodeFoldPrometheusNovaQueues20000 is the same with Nova's
// queue names (41 bytes on average instead of 7), in no order.
func BenchmarkDecodeFoldPrometheusNovaQueues20000(b *testing.B) {
	benchDecodeFoldPrometheusBody(b, 20000, prometheusDetailedTextNamed(20000, novaQueueNames(20000)))
}

func benchDecodeFoldPrometheus(b *testing.B, n int) {
	benchDecodeFoldPrometheusBody(b, n, prometheusDetailedText(n))
}

// BenchmarkDecodeFoldPrometheusNovaQueuesChurn20000 is the same when every
// poll lists 200 queues (1 %) the last one did not: the last poll's order
// cannot give this one's: 200 are added to the index, merged into the
// order, and 200 are gone from it.
func BenchmarkDecodeFoldPrometheusNovaQueuesChurn20000(b *testing.B) {
	const n = 20000
	name := novaQueueNames(n + 200)
	odd := func(i int) string { // the last 200 queues swapped for 200 others
		if i >= n-200 {
			return name(i + 200)
		}
		return name(i)
	}
	benchDecodeFoldPrometheusBody(b, n, prometheusDetailedTextNamed(n, name), prometheusDetailedTextNamed(n, odd))
}

// benchDecodeFoldPrometheusBody times a poll's queue work on the
// prometheus path as Poll does it (parse into the index, its sorted
// queues, fold), the polls' responses taking turns among bodies.
func benchDecodeFoldPrometheusBody(b *testing.B, n int, bodies ...[]byte) {
	x := newQueueIndex(nil)
	decode := func(body []byte) []sources.Queue {
		x.begin()
		if err := parseDetailedQueues(bytes.NewReader(body), x); err != nil {
			b.Fatal(err)
		}
		return x.end()
	}
	f := newFoldBench(b, decode(bodies[0]))
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	defer reportCPU(b, processCPU())
	i := 0
	for b.Loop() {
		i++
		f.fold(b, decode(bodies[i%len(bodies)]))
	}
}

// BenchmarkPollFoldManagement20000 is a whole poll over loopback HTTP
// (nodes, overview, 20,000 queues) from an httptest server, and its fold.
func BenchmarkPollFoldManagement20000(b *testing.B) {
	queues := managementQueuesJSON(20000)
	nodes := []byte(`[{"name":"rabbit@mq-1","running":true,"mem_used":1,"mem_limit":2,"uptime":1000}]`)
	overview := []byte(`{"cluster_name":"c","rabbitmq_version":"3.10.8","object_totals":{"queues":20000}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/nodes":
			_, _ = w.Write(nodes)
		case r.URL.Path == "/api/overview":
			_, _ = w.Write(overview)
		case strings.HasPrefix(r.URL.Path, "/api/queues"):
			_, _ = w.Write(queues)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, User: "u", Password: "p", Mode: ModeManagement})
	if err != nil {
		b.Fatal(err)
	}
	first, err := s.Poll(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	f := newFoldBench(b, first.Queues)
	b.SetBytes(int64(len(queues)))
	b.ReportAllocs()
	for b.Loop() {
		bat, err := s.Poll(context.Background())
		if err != nil || bat.Health.Requests != 3 {
			b.Fatal(err, bat.Health.Requests)
		}
		f.fold(b, bat.Queues)
	}
}

// BenchmarkFirstPollFold20000 is the broker's share of the first frame with
// broker data: a new Source's first poll of a 20,000-queue broker over
// loopback HTTP (httptest: nodes, overview, and the queues from the
// management API or from /metrics and /metrics/detailed) and a new store's
// first fold, which creates every queue's history. Issue 12's target for
// the whole first frame is 200 ms on both paths.
func BenchmarkFirstPollFold20000(b *testing.B) {
	for _, path := range []string{"management", "prometheus"} {
		b.Run(path, func(b *testing.B) {
			var cfg Config
			var mgmt, prom *fakeBroker
			if path == "prometheus" {
				mgmt = newFakeBroker(b, true, metricsOffFixtures())
				body := prometheusDetailedText(20000)
				prom = newFakeBroker(b, false, prometheusFixtures())
				prom.fault("/metrics/detailed", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/plain; version=0.0.4")
					_, _ = w.Write(body)
				})
				cfg.PrometheusURLs = []string{prom.URL}
			} else {
				mgmt = newFakeBroker(b, true, managementFixtures())
				body := managementQueuesJSON(20000)
				mgmt.fault("/api/queues", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(body)
				})
			}
			cfg.URL, cfg.User, cfg.Password = mgmt.URL, "guest", "guest"
			b.ReportAllocs()
			defer reportCPU(b, processCPU())
			for b.Loop() {
				s, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				bat, err := s.Poll(context.Background())
				if err != nil || len(bat.Queues) != 20000 || !strings.Contains(bat.Health.Detail, path) {
					b.Fatalf("poll: %v, %d queues, %q", err, len(bat.Queues), bat.Health.Detail)
				}
				snap := state.NewStore(state.DefaultConfig()).Apply(bat)
				if len(snap.Queues) != 20000 {
					b.Fatalf("folded %d queues", len(snap.Queues))
				}
				mgmt.requests() // forget them
				if prom != nil {
					prom.requests()
				}
			}
		})
	}
}
