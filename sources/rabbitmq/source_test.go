package rabbitmq

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/httppolicy"
	"github.com/stacktop/stacktop/sources/poll"
)

const (
	queuesQuery = "columns=name,vhost,messages,messages_ready,messages_unacknowledged,consumers"
	nodesReq    = "/api/nodes?columns=name,running,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,disk_free_alarm,fd_used,fd_total,sockets_used,sockets_total,proc_used,proc_total,partitions,uptime"
)

// newTestSource builds a Source for cfg against fb with guest/guest, the way
// an integration test would against http://127.0.0.1:15672.
func newTestSource(t *testing.T, fb *fakeBroker, cfg Config) *Source {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = fb.URL
	}
	if cfg.User == "" && !strings.Contains(cfg.URL, "@") {
		cfg.User, cfg.Password = "guest", "guest"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pollOnce(t *testing.T, s *Source) sources.Batch {
	t.Helper()
	b, err := s.Poll(context.Background())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return b
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func queueByName(qs []sources.Queue, name string) *sources.Queue {
	for i := range qs {
		if qs[i].Name == name {
			return &qs[i]
		}
	}
	return nil
}

func assertRequests(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, r := range got {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("request %q is not a GET", r)
		}
	}
	if !slices.Equal(paths(got), want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
}

func TestPollManagement(t *testing.T) {
	mgmt := newFakeBroker(t, true, managementFixtures())
	prom := newFakeBroker(t, false, prometheusFixtures())
	// No prometheus URL configured: the collector is on, so the plugin is not
	// probed on a guessed port (here the fake's host, port 15692).
	s := newTestSource(t, mgmt, Config{})

	b := pollOnce(t, s)
	reqs := mgmt.requests()
	assertRequests(t, reqs, "GET /api/nodes", "GET /api/overview", "GET /api/queues")
	if got := reqs[2]; got != "GET /api/queues?"+queuesQuery {
		t.Errorf("queues request %q asks for more than the columns used", got)
	}
	if n := len(prom.requests()); n != 0 {
		t.Errorf("%d prometheus requests with the metrics collector on, want 0", n)
	}
	if b.Health.Requests != 3 || b.Health.Detail != "management API" || b.Health.Target != mgmt.URL {
		t.Errorf("health %+v", b.Health)
	}
	if b.Overview == nil || b.Overview.Via != "management" || b.Overview.Consumers != 14 || b.Overview.Queues != 13 {
		t.Errorf("overview %+v", b.Overview)
	}
	if len(b.Nodes) != 1 || b.Nodes[0].MemUsed != 168140800 || b.Nodes[0].Uptime != 12217*time.Millisecond {
		t.Errorf("nodes %+v", b.Nodes)
	}
	if len(b.Queues) != 13 || queueByName(b.Queues, "compute").Consumers != 2 {
		t.Errorf("queues %+v", b.Queues)
	}
	for _, q := range b.Queues {
		if q.Rates != nil {
			t.Errorf("queue %s has rates without focus", q.Name)
		}
	}
	if !slices.IsSortedFunc(b.Queues, func(a, b sources.Queue) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("queues not sorted")
	}
}

func TestPollFocus(t *testing.T) {
	mgmt := newFakeBroker(t, true, managementFixtures())
	s := newTestSource(t, mgmt, Config{Mode: ModeManagement})

	s.SetFocus("nova", "conductor")
	b := pollOnce(t, s)
	assertRequests(t, mgmt.requests(), "GET /api/nodes", "GET /api/overview", "GET /api/queues", "GET /api/queues/nova/conductor")
	if b.Health.Requests != 4 {
		t.Errorf("requests = %d, want 4", b.Health.Requests)
	}
	q := queueByName(b.Queues, "conductor")
	if q.Rates == nil || *q.Rates != (sources.QueueRates{Publish: 1.6, Deliver: 1.6, Ack: 1.6}) {
		t.Errorf("conductor rates %+v", q.Rates)
	}
	for _, q := range b.Queues {
		if q.Name != "conductor" && q.Rates != nil {
			t.Errorf("%s has rates", q.Name)
		}
	}

	// A focused queue that is not listed costs nothing.
	s.SetFocus("nova", "gone")
	b = pollOnce(t, s)
	assertRequests(t, mgmt.requests(), "GET /api/nodes", "GET /api/overview", "GET /api/queues")

	// A failing focus request degrades, it does not fail the poll.
	mgmt.fault("/api/queues/nova/conductor", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	s.SetFocus("nova", "conductor")
	b = pollOnce(t, s)
	if !strings.Contains(b.Health.Detail, "rates for nova/conductor: GET") || queueByName(b.Queues, "conductor").Rates != nil {
		t.Errorf("detail %q", b.Health.Detail)
	}
	mgmt.requests()

	s.SetFocus("", "")
	b = pollOnce(t, s)
	assertRequests(t, mgmt.requests(), "GET /api/nodes", "GET /api/overview", "GET /api/queues")
}

func TestPollFocusEscaping(t *testing.T) {
	mgmt := newFakeBroker(t, true, managementFixtures())
	mgmt.fault("/api/queues", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"name":"a b/c#d","vhost":"/","messages":3,"messages_ready":2,"messages_unacknowledged":1,"consumers":0}]`)
	})
	mgmt.fault("/api/queues/%2F/a%20b%2Fc%23d", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"a b/c#d","vhost":"/","message_stats":{"publish_details":{"rate":5},"deliver_get_details":{"rate":4},"ack_details":{"rate":3}}}`)
	})
	s := newTestSource(t, mgmt, Config{Mode: ModeManagement})
	s.SetFocus("", "a b/c#d") // empty vhost is "/"
	b := pollOnce(t, s)
	reqs := mgmt.requests()
	if len(reqs) != 4 || !strings.HasPrefix(reqs[3], "GET /api/queues/%2F/a%20b%2Fc%23d?") {
		t.Fatalf("requests %q", reqs)
	}
	want := sources.Queue{VHost: "/", Name: "a b/c#d", Messages: 3, Ready: 2, Unacked: 1, Consumers: 0,
		Rates: &sources.QueueRates{Publish: 5, Deliver: 4, Ack: 3}}
	if got := b.Queues[0]; got.Name != want.Name || got.Consumers != 0 || got.Rates == nil || *got.Rates != *want.Rates {
		t.Errorf("got %+v", got)
	}
}

// TestPollRequestCountIsFixed: 20,000 queues cost the same three requests as 13.
func TestPollRequestCountIsFixed(t *testing.T) {
	body := managementQueuesJSON(20000)
	mgmt := newFakeBroker(t, true, managementFixtures())
	mgmt.fault("/api/queues", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	// Decoding 20,000 queues under -race on a loaded 2-core machine takes
	// seconds: the default 5 s request timeout made this test flaky.
	s := newTestSource(t, mgmt, Config{Timeout: time.Minute})
	s.SetFocus("nova", "q-00042")
	b := pollOnce(t, s)
	assertRequests(t, mgmt.requests(), "GET /api/nodes", "GET /api/overview", "GET /api/queues", "GET /api/queues/nova/q-00042")
	if len(b.Queues) != 20000 || b.Health.Requests != 4 {
		t.Errorf("%d queues, %d requests", len(b.Queues), b.Health.Requests)
	}
}

func TestPollMetricsOffPrometheus(t *testing.T) {
	mgmt := newFakeBroker(t, true, metricsOffFixtures())
	prom := newFakeBroker(t, false, prometheusFixtures())
	s := newTestSource(t, mgmt, Config{PrometheusURLs: []string{prom.URL + "/metrics"}})
	s.SetFocus("nova", "conductor")

	b := pollOnce(t, s)
	assertRequests(t, mgmt.requests(), "GET /api/nodes", "GET /api/overview")
	preqs := prom.requests()
	assertRequests(t, preqs, "GET /metrics", "GET /metrics/detailed")
	if preqs[1] != "GET /metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count" {
		t.Errorf("detailed request %q", preqs[1])
	}
	if b.Health.Requests != 4 {
		t.Errorf("requests = %d, want 4", b.Health.Requests)
	}
	if !strings.HasPrefix(b.Health.Detail, "prometheus (management metrics collector off)") ||
		!strings.Contains(b.Health.Detail, "no rates for nova/conductor") {
		t.Errorf("detail %q", b.Health.Detail)
	}
	want := sources.Overview{ClusterName: "rabbit@vm", RabbitVersion: "3.10.8", ErlangVersion: "25.2.3",
		Queues: 20018, Connections: 11, Channels: 11, Consumers: 14, MessagesReady: 400, MessagesUnacked: 0, Via: "prometheus"}
	if *b.Overview != want {
		t.Errorf("overview\n got %+v\nwant %+v", *b.Overview, want)
	}
	assertNode(t, b.Nodes[0], sources.Node{
		Name: "rabbit@vm", Running: true,
		MemUsed: 971382784, MemLimit: 10110605721,
		DiskFree: 84799852544, DiskFreeLimit: 50000000,
		FDUsed: 55, FDTotal: 1024, SocketsUsed: 11, SocketsTotal: 832,
		ProcUsed: 40529, ProcTotal: 1048576, Uptime: 410740 * time.Millisecond,
	})
	if len(b.Queues) != 17 || queueByName(b.Queues, "compute").Consumers != 2 ||
		queueByName(b.Queues, "reply_ae1a0c4373894278aaf68105e0323316").Consumers != 0 {
		t.Errorf("queues %+v", b.Queues)
	}
	if !slices.IsSortedFunc(b.Queues, func(a, b sources.Queue) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("queues not sorted")
	}
}

func TestPollMetricsOffPrometheusUnreachable(t *testing.T) {
	mgmt := newFakeBroker(t, true, metricsOffFixtures())
	s := newTestSource(t, mgmt, Config{PrometheusURLs: []string{closedURL(t)}})
	now := time.Now()
	s.now = func() time.Time { return now }

	b := pollOnce(t, s)
	reqs := mgmt.requests()
	assertRequests(t, reqs, "GET /api/nodes", "GET /api/overview", "GET /api/queues")
	if reqs[2] != "GET /api/queues?disable_stats=true&enable_queue_totals=true&"+queuesQuery {
		t.Errorf("queues request %q", reqs[2])
	}
	if b.Health.Requests != 4 { // three above and the failed /metrics
		t.Errorf("requests = %d, want 4", b.Health.Requests)
	}
	t.Log(b.Health.Detail)
	if !strings.Contains(b.Health.Detail, "unreachable") || !strings.Contains(b.Health.Detail, "node gauges and consumers unknown") {
		t.Errorf("detail %q", b.Health.Detail)
	}
	if b.Overview.Via != "management" || b.Overview.MessagesReady != 0 || b.Overview.Consumers != -1 {
		t.Errorf("overview %+v", b.Overview)
	}
	if n := b.Nodes[0]; !n.Running || n.MemUsed != -1 || n.FDUsed != -1 || n.Uptime != -1 {
		t.Errorf("node %+v", n)
	}
	if len(b.Queues) != 17 {
		t.Fatalf("%d queues", len(b.Queues))
	}
	for _, q := range b.Queues {
		if q.Messages != 0 || q.Consumers != -1 {
			t.Errorf("queue %+v: want depth 0 and consumers unknown", q)
		}
	}

	// Within the retry window prometheus is left alone.
	now = now.Add(30 * time.Second)
	b = pollOnce(t, s)
	if b.Health.Requests != 3 || !strings.Contains(b.Health.Detail, "retry in 30s") {
		t.Errorf("requests %d, detail %q", b.Health.Requests, b.Health.Detail)
	}
	mgmt.requests()
	now = now.Add(prometheusRetryAfter)
	if b = pollOnce(t, s); b.Health.Requests != 4 {
		t.Errorf("after the retry window: requests = %d, want 4", b.Health.Requests)
	}
}

func TestPollPrometheusPartialCoverage(t *testing.T) {
	mgmt := newFakeBroker(t, true, metricsOffFixtures())
	mgmt.fault("/api/nodes", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"name":"rabbit@vm","type":"disc","running":true},{"name":"rabbit@other","type":"disc","running":true}]`)
	})
	prom := newFakeBroker(t, false, prometheusFixtures())
	s := newTestSource(t, mgmt, Config{PrometheusURLs: []string{prom.URL}})
	b := pollOnce(t, s)
	assertRequests(t, prom.requests(), "GET /metrics")
	if !strings.Contains(b.Health.Detail, "prometheus covers 1 of 2 running nodes") {
		t.Errorf("detail %q", b.Health.Detail)
	}
	if b.Nodes[0].MemUsed != 971382784 || b.Nodes[1].MemUsed != -1 {
		t.Errorf("nodes %+v", b.Nodes)
	}
	if len(b.Queues) != 17 || b.Queues[0].Consumers != -1 || b.Overview.Consumers != -1 {
		t.Errorf("queues should come from management totals: %+v", b.Queues[0])
	}
}

func TestPollModes(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		off      bool // metrics collector off
		vhost    string
		mgmt     []string
		prom     []string
		detail   string
		via      string
		consumer int // of "compute"
	}{
		{"management/on", ModeManagement, false, "", []string{nodesReq, "/api/overview", "/api/queues?" + queuesQuery}, nil, "management API", "management", 2},
		{"management/off", ModeManagement, true, "", []string{nodesReq, "/api/overview", "/api/queues?disable_stats=true&enable_queue_totals=true&" + queuesQuery}, nil,
			"management API, metrics collector off: node gauges and consumers unknown", "management", -1},
		{"prometheus/on", ModePrometheus, false, "", []string{nodesReq, "/api/overview"},
			[]string{"/metrics", "/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count"}, "prometheus", "prometheus", 2},
		// Prometheus URLs configured: the cheaper queue listing (BENCHMARKS.md), collector on or off.
		{"auto/on/vhost", ModeAuto, false, "nova", []string{nodesReq, "/api/overview"},
			[]string{"/metrics", "/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count&vhost=nova"}, "prometheus", "prometheus", 2},
		{"auto/off/vhost", ModeAuto, true, "nova", []string{nodesReq, "/api/overview"},
			[]string{"/metrics", "/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count&vhost=nova"}, "prometheus (management metrics collector off)", "prometheus", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := managementFixtures()
			if tt.off {
				files = metricsOffFixtures()
				files["totals:/api/queues/nova"] = files["totals:/api/queues"]
			}
			mgmt := newFakeBroker(t, true, files)
			prom := newFakeBroker(t, false, prometheusFixtures())
			s := newTestSource(t, mgmt, Config{Mode: tt.mode, VHost: tt.vhost, PrometheusURLs: []string{prom.URL}})
			b := pollOnce(t, s)
			mgmt.requests()
			prom.requests()
			b = pollOnce(t, s) // the second poll takes the same way
			strip := func(reqs []string) []string {
				for i := range reqs {
					reqs[i] = strings.TrimPrefix(reqs[i], "GET ")
				}
				return reqs
			}
			if got := strip(mgmt.requests()); !slices.Equal(got, tt.mgmt) {
				t.Errorf("management requests\n got %q\nwant %q", got, tt.mgmt)
			}
			if got := strip(prom.requests()); !slices.Equal(got, tt.prom) {
				t.Errorf("prometheus requests\n got %q\nwant %q", got, tt.prom)
			}
			if b.Health.Detail != tt.detail || b.Overview.Via != tt.via || b.Health.Requests != len(tt.mgmt)+len(tt.prom) {
				t.Errorf("detail %q via %q requests %d", b.Health.Detail, b.Overview.Via, b.Health.Requests)
			}
			if q := queueByName(b.Queues, "compute"); q == nil || q.Consumers != tt.consumer {
				t.Errorf("compute %+v, want consumers %d", q, tt.consumer)
			}
		})
	}
}

func TestPollErrors(t *testing.T) {
	const password = "s3cret-Pa55"
	hugeQueues := managementQueuesJSON(20000) // ~2 MiB
	slowBody := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write([]byte(`[{"name":"a","vhost":"/"},`))
		w.(http.Flusher).Flush()
		select { // a broker that stalls mid-body
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	// other is another host: a redirect there must not be followed (it
	// would carry the basic auth), nor its answer shown as the broker's.
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		_, _ = w.Write([]byte(`[]`))
	}))
	defer other.Close()
	otherHost := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name  string
		url   func(fb *fakeBroker) string
		path  string
		fault http.HandlerFunc
		limit int64
		// timeout is the poll's timeout: short only where the fault is a
		// stall, so a loaded -race run cannot turn another fault into one.
		timeout time.Duration
		want    string
		is      error
		status  int
		kind    sources.FailureKind // the failure's kind, from the status or error type
		// retryAfter is the wait the error asks poll.Run for; 0 for none.
		retryAfter time.Duration
	}{
		{name: "wrong password", url: func(fb *fakeBroker) string {
			fb.password = "another"
			return strings.Replace(fb.URL, "://", "://guest:"+password+"@", 1)
		}, want: "rabbitmq: credentials refused (401)", is: ErrCredentials, kind: sources.FailAuth},
		{name: "connection refused", url: func(*fakeBroker) string { return strings.Replace(closedURL(t), "://", "://guest:"+password+"@", 1) },
			want: "rabbitmq: list nodes: broker unreachable: http://127.0.0.1:", is: ErrUnreachable, kind: sources.FailRefused},
		{name: "500 on queues", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			// A proxy that echoes the request, credentials and all, and a terminal escape.
			fmt.Fprintf(w, "{\"error\":\"boom\x1b[31m\",\"auth\":%q}", r.Header.Get("Authorization")+" "+password)
		}, want: "rabbitmq: list queues: GET ", status: 500, kind: sources.FailHTTP5xx},
		{name: "503 on nodes", path: "/api/nodes", fault: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "", http.StatusServiceUnavailable)
		}, want: "rabbitmq: list nodes: GET ", status: 503, kind: sources.FailHTTP5xx},
		{name: "429 with Retry-After", path: "/api/overview", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, want: "rabbitmq: overview: GET ", status: 429, kind: sources.FailHTTP4xx, retryAfter: 30 * time.Second},
		{name: "403", path: "/api/nodes", fault: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"not_authorised","reason":"Not management user"}`, http.StatusForbidden)
		}, want: "the user needs the monitoring tag", status: 403, kind: sources.FailHTTP4xx},
		{name: "truncated JSON", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `[{"name":"a","vhost":"/","messages":1},{"name":"b","vh`)
		}, want: "rabbitmq: list queues: GET ", is: nil},
		{name: "truncated body", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			fmt.Fprint(w, `[{"name":"a","vhost":"/","messages":1}`)
		}, want: "response truncated"},
		{name: "huge response", path: "/api/queues", limit: 1 << 20, fault: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(hugeQueues)
		}, want: "response exceeds 1.0M (after decompression)", is: ErrTooLarge, kind: sources.FailProtocol},
		{name: "redirect to another host", path: "/api/nodes", fault: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, otherHost+r.URL.Path, http.StatusFound)
		}, want: "rabbitmq: list nodes: GET http://127.0.0.1:", is: httppolicy.ErrRedirect, kind: sources.FailRedirect},
		{name: "redirect to another port", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}, want: "redirect (307) to " + other.URL + " refused: another port", is: httppolicy.ErrRedirect, kind: sources.FailRedirect},
		{name: "connection reset", path: "/api/nodes", fault: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with a reset
			}
			_ = conn.Close()
		}, want: "rabbitmq: list nodes: GET http://127.0.0.1:"},
		{name: "untrusted certificate", url: func(*fakeBroker) string {
			ts := httptest.NewTLSServer(http.NotFoundHandler())
			t.Cleanup(ts.Close)
			return strings.Replace(ts.URL, "://", "://guest:"+password+"@", 1)
		}, want: "TLS certificate not trusted (set a CA file, or insecure)", kind: sources.FailTLS},
		{name: "slow body", path: "/api/queues", fault: slowBody, timeout: 300 * time.Millisecond, want: "timed out after 300ms", is: ErrTimeout, kind: sources.FailTimeout},
		{name: "slow headers", path: "/api/overview", fault: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, timeout: 300 * time.Millisecond, want: "rabbitmq: overview: GET ", is: ErrTimeout, kind: sources.FailTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := newFakeBroker(t, true, managementFixtures())
			fb.password = password
			if tt.fault != nil {
				fb.fault(tt.path, tt.fault)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			cfg := Config{Password: password, Timeout: timeout, MaxResponseBytes: tt.limit}
			if tt.url != nil {
				cfg.URL = tt.url(fb)
			} else {
				cfg.URL, cfg.User = fb.URL, "guest"
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			b, err := s.Poll(context.Background())
			if took := time.Since(start); took > timeout+2*time.Second {
				t.Errorf("poll took %v: a stalled broker must not hang it", took)
			}
			if err == nil {
				t.Fatal("poll succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("err %q, want it to contain %q", msg, tt.want)
			}
			// The URL once: not again inside net/http's own `Get "URL": …`.
			if strings.Contains(msg, `Get "`) || strings.Count(msg, "://") > 2 {
				t.Errorf("err %q repeats the URL", msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err %q is not %v", msg, tt.is)
			}
			if tt.kind != "" && sources.KindOf(err) != tt.kind {
				t.Errorf("kind %q, want %q", sources.KindOf(err), tt.kind)
			}
			var se *StatusError
			if tt.status != 0 && (!errors.As(err, &se) || se.Code != tt.status || !strings.Contains(msg, fmt.Sprint(tt.status))) {
				t.Errorf("err %q: want status %d in it", msg, tt.status)
			}
			var ra *poll.RetryAfterError
			if got := errors.As(err, &ra); got != (tt.retryAfter != 0) || (got && ra.Wait != tt.retryAfter) {
				t.Errorf("err %q: Retry-After %v, want %v", msg, ra, tt.retryAfter)
			}
			token := base64.StdEncoding.EncodeToString([]byte("guest:" + password))
			for _, leak := range []string{password, token, "\x1b"} {
				if strings.Contains(msg, leak) || strings.Contains(b.Health.Target, leak) || strings.Contains(b.Health.Detail, leak) {
					t.Errorf("%q leaked: err %q target %q", leak, msg, b.Health.Target)
				}
			}
			if b.Health.Requests == 0 || b.Health.Target == "" || strings.Contains(b.Health.Target, "@") {
				t.Errorf("health %+v", b.Health)
			}
			if b.Nodes != nil || b.Queues != nil || b.Overview != nil {
				t.Error("a failed poll carries data")
			}
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("a refused redirect's target got %d requests", n)
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"valid", Config{URL: "http://127.0.0.1:15672", User: "guest", Password: "guest"}, ""},
		{"credentials in URL", Config{URL: "https://mon:pw@rabbit.example:15671/"}, ""},
		{"empty URL", Config{User: "u"}, "management URL is empty"},
		{"bad scheme", Config{URL: "amqp://u:hunter2@h:5672", User: "u"}, "scheme must be http or https"},
		{"no host", Config{URL: "http:///api", User: "u"}, "has no host"},
		{"unparsable", Config{URL: "http://u:hunter2@h:port", User: "u"}, "not a valid URL"},
		{"no user", Config{URL: "http://h:15672"}, "user is empty"},
		{"bad mode", Config{URL: "http://h", User: "u", Mode: "both"}, `mode "both"`},
		{"bad filter", Config{URL: "http://h", User: "u", QueueFilter: "compute("}, "queue filter"},
		{"short interval", Config{URL: "http://h", User: "u", Interval: time.Millisecond}, "interval"},
		{"negative timeout", Config{URL: "http://h", User: "u", Timeout: -time.Second}, "timeout"},
		{"missing CA", Config{URL: "https://h", User: "u", CAFile: filepath.Join(dir, "nope.pem")}, "CA file"},
		{"garbage CA", Config{URL: "https://h", User: "u", CAFile: garbage}, "no PEM certificates"},
		{"prometheus creds", Config{URL: "http://h", User: "u", PrometheusURLs: []string{"http://a:hunter2@h:15692"}}, "credentials in it are not supported"},
		{"prometheus scheme", Config{URL: "http://h", User: "u", PrometheusURLs: []string{"h:15692"}}, "prometheus URL 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(s.Target(), "pw") || strings.Contains(s.Target(), "@") {
					t.Errorf("target %q shows credentials", s.Target())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("password in %q", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(Config{URL: "https://mon:pw@[::1]:15671/rabbitmq/"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != sources.NameRabbitMQ || s.cfg.Interval != DefaultInterval || s.cfg.Timeout != DefaultTimeout ||
		s.cfg.Mode != ModeAuto || s.cfg.MaxResponseBytes != DefaultMaxResponseBytes {
		t.Errorf("defaults: %+v", s.cfg)
	}
	if s.user != "mon" || s.pass != "pw" || s.cfg.Password != "" {
		t.Errorf("credentials from URL: %q", s.user)
	}
	if s.Target() != "https://[::1]:15671/rabbitmq" {
		t.Errorf("target %q", s.Target())
	}
	if got := s.api("/api/nodes", ""); got != "https://[::1]:15671/rabbitmq/api/nodes" {
		t.Errorf("api URL %q", got)
	}
	if len(s.prom) != 1 || s.prom[0].String() != "http://[::1]:15692" {
		t.Errorf("default prometheus %v", s.prom)
	}
	if s.client.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify {
		t.Error("TLS verification off by default")
	}
	s, _ = New(Config{URL: "http://h", User: "u", Mode: ModeManagement})
	if len(s.prom) != 0 {
		t.Errorf("management mode has prometheus URLs %v", s.prom)
	}
}

// TestRun: the first poll sends the broker's nodes and overview ahead of its
// queue list (the first screen shows alarms at once), and later polls one
// whole batch each.
func TestRun(t *testing.T) {
	mgmt := newFakeBroker(t, true, managementFixtures())
	s := newTestSource(t, mgmt, Config{Interval: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []sources.Batch
	full := 0
	err := s.Run(ctx, func(b sources.Batch) {
		got = append(got, b)
		if b.Queues != nil {
			if full++; full == 2 {
				cancel()
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d batches, want the first poll's early one and two whole ones", len(got))
	}
	early := got[0]
	if early.Source != sources.NameRabbitMQ || !early.Health.OK || early.Queues != nil || len(early.Nodes) == 0 || early.Overview == nil ||
		!strings.Contains(early.Health.Detail, "queues being listed") {
		t.Errorf("early batch: health %+v, %d nodes, overview %v, queues %v", early.Health, len(early.Nodes), early.Overview, early.Queues)
	}
	// The requests add up: 2 before the early batch, 1 after it, 3 a poll later.
	for i, b := range got {
		if want := []int{2, 1, 3}[i]; b.Health.Requests != want {
			t.Errorf("batch %d reports %d requests, want %d", i, b.Health.Requests, want)
		}
	}
	if n := len(mgmt.requests()); n != 6 {
		t.Errorf("%d requests reached the broker, want 6", n)
	}
	for _, b := range got[1:] {
		if b.Source != sources.NameRabbitMQ || !b.Health.OK || b.Health.Interval != time.Second || len(b.Queues) != 13 || len(b.Nodes) == 0 {
			t.Errorf("batch health %+v, %d queues", b.Health, len(b.Queues))
		}
	}
}

// TestRunNoEarlyWithoutMetrics: with the metrics collector off, the node
// list alone is incomplete (the prometheus endpoints fill it), so the first
// poll sends nothing ahead of its whole batch.
func TestRunNoEarlyWithoutMetrics(t *testing.T) {
	mgmt := newFakeBroker(t, true, metricsOffFixtures())
	s := newTestSource(t, mgmt, Config{Interval: time.Second, Mode: ModeManagement})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []sources.Batch
	_ = s.Run(ctx, func(b sources.Batch) { got = append(got, b); cancel() })
	if len(got) != 1 || got[0].Queues == nil {
		t.Fatalf("first batch %+v, want the whole poll", got)
	}
}

// TestSetFocusConcurrent is for -race: the UI sets the focus while a poll runs.
func TestSetFocusConcurrent(t *testing.T) {
	mgmt := newFakeBroker(t, true, managementFixtures())
	s := newTestSource(t, mgmt, Config{})
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if i%2 == 0 {
				s.SetFocus("nova", "conductor")
			} else {
				s.SetFocus("", "")
			}
		}
	}()
	for range 5 {
		pollOnce(t, s)
	}
	close(done)
	wg.Wait()
}

// TestPollAutoPrometheusFallbackMetricsOn: prometheus URLs configured but
// unreachable, collector on: queues and gauges from the management API, all
// known, and the detail says so without claiming anything unknown.
func TestPollAutoPrometheusFallbackMetricsOn(t *testing.T) {
	mgmt := newFakeBroker(t, true, managementFixtures())
	s := newTestSource(t, mgmt, Config{PrometheusURLs: []string{closedURL(t)}})
	b := pollOnce(t, s)
	assertRequests(t, mgmt.requests(), "GET /api/nodes", "GET /api/overview", "GET /api/queues")
	if b.Health.Requests != 4 || !strings.HasPrefix(b.Health.Detail, "management API; prometheus failed: ") ||
		strings.Contains(b.Health.Detail, "unknown") {
		t.Errorf("requests %d, detail %q", b.Health.Requests, b.Health.Detail)
	}
	if q := queueByName(b.Queues, "compute"); q == nil || q.Consumers != 2 || b.Nodes[0].MemUsed != 168140800 || b.Overview.Via != "management" {
		t.Errorf("compute %+v, nodes %+v, overview %+v", q, b.Nodes, b.Overview)
	}
	// Within the retry window: the three management requests only.
	if b = pollOnce(t, s); b.Health.Requests != 3 || !strings.Contains(b.Health.Detail, "retry in") {
		t.Errorf("requests %d, detail %q", b.Health.Requests, b.Health.Detail)
	}
}
