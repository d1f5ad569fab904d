package rabbitmq

// Integration tests against the project's dev brokers (scripts/dev-rabbitmq,
// and scripts/dev-rabbitmq-metrics-off for the prometheus path). They skip
// when a broker is absent (fail under STACKTOP_REQUIRE_INTEGRATION=1). Tests
// that only read or declare their own queues hold harness.Share; tests that
// stop the app, set an alarm or restart a node hold harness.Disrupt and put
// the broker back in t.Cleanup.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/poll"
	"github.com/stacktop/stacktop/state"
)

// itBroker is one dev broker as its harness env file describes it.
type itBroker struct {
	harness    string // "rabbitmq" or "rabbitmq-metrics-off"
	url        string
	admin      [2]string // user, password: declares queues over AMQP
	monitor    [2]string // user, password: what stacktop runs as (monitoring tag)
	vhost      string
	amqpVHost  string // AMQP URL of vhost
	prometheus string
	ctl        string // rabbitmqctl aimed at this node
	node       string
	version    string
	metricsOff bool
	// useProm configures the prometheus URL, as prometheus_urls does: the
	// source then reads queues and gauges from the plugin.
	useProm bool
}

func loadBroker(t *testing.T, name, prefix, ctlKey, amqpKey string) itBroker {
	t.Helper()
	env := harness.Require(t, name, prefix+"_URL")
	b := itBroker{
		harness:    name,
		url:        env.Get(prefix + "_URL"),
		admin:      [2]string{env.Get(prefix + "_USER"), env.Get(prefix + "_PASSWORD")},
		monitor:    [2]string{env.Get(prefix + "_MONITOR_USER"), env.Get(prefix + "_MONITOR_PASSWORD")},
		vhost:      env.Get(prefix + "_VHOST"),
		amqpVHost:  env.Get(amqpKey),
		prometheus: env.Get(prefix + "_PROMETHEUS_URL"),
		ctl:        env.Get(ctlKey),
		node:       env.Get(prefix + "_NODE"),
		version:    env.Get(prefix + "_VERSION"),
		metricsOff: env.Get(prefix+"_METRICS_OFF") == "1",
	}
	for k, v := range map[string]string{"monitor user": b.monitor[0], "vhost": b.vhost, "AMQP URL": b.amqpVHost, "rabbitmqctl": b.ctl, "node": b.node} {
		if v == "" {
			harness.Absent(t, fmt.Sprintf("harness %s: env file has no %s", name, k))
		}
	}
	return b
}

// sharedBroker is scripts/dev-rabbitmq's broker: management metrics collector on
// (unless scripts/test --metrics-off), shared with other packages' tests and the
// dev OpenStack.
func sharedBroker(t *testing.T) itBroker {
	return loadBroker(t, "rabbitmq", "STACKTOP_TEST_RABBITMQ", "STACKTOP_TEST_RABBITMQCTL", "STACKTOP_TEST_AMQP_VHOST_URL")
}

// metricsOffBroker is scripts/dev-rabbitmq-metrics-off's broker: collector
// off, so node gauges and consumers come from its prometheus plugin.
func metricsOffBroker(t *testing.T) itBroker {
	b := loadBroker(t, "rabbitmq-metrics-off", "STACKTOP_TEST_RABBITMQ_MO", "STACKTOP_TEST_RABBITMQ_MO_CTL", "STACKTOP_TEST_RABBITMQ_MO_AMQP_VHOST_URL")
	if !b.metricsOff {
		t.Fatalf("harness %s runs with the metrics collector on", b.harness)
	}
	b.useProm = true
	return b
}

// waitCollector waits until the broker's management API reports a running
// node's gauges (mem_used), as the source's collector check reads them.
// For a few seconds after another package's disruptive test restarts the
// broker's application (stop_app, start_app), it reports none, and the
// source rightly takes the prometheus path: scripts/test saw it once.
func (b itBroker) waitCollector(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodGet, b.url+"/api/nodes?columns=name,running,mem_used", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(b.monitor[0], b.monitor[1])
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, metrics, _, derr := decodeNodes(resp.Body)
			resp.Body.Close()
			if derr == nil && metrics {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker's management API reports no node gauges after 60 s (err %v)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rabbitmqctl runs the broker's rabbitmqctl and fails the test on error.
func (b itBroker) rabbitmqctl(t testing.TB, args ...string) {
	t.Helper()
	if err := b.tryRabbitmqctl(args...); err != nil {
		t.Fatal(err)
	}
}

func (b itBroker) tryRabbitmqctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.ctl, append([]string{"-q"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// countingTransport records the method and path of every request that
// reaches the network.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []string // "METHOD host/path"
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r.Method+" "+r.URL.Host+r.URL.Path)
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// take returns and forgets the requests seen so far.
func (c *countingTransport) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reqs
	c.reqs = nil
	return r
}

// itSource is a Source on a real broker with its requests counted, and a
// state.Store folding what it emits, as stacktop runs them.
type itSource struct {
	*Source
	t     *testing.T
	tr    *countingTransport
	store *state.Store
	last  []string // requests of the last poll
}

// itInterval is the pause between polls of pollUntil; batches say
// itPollInterval (data older than two of them is stale), whose 80% is the
// deadline of one poll.
const (
	itInterval     = time.Second
	itPollInterval = 5 * time.Second
)

// newITSource polls b as its monitoring user. mod adjusts the config.
func newITSource(t *testing.T, b itBroker, mod func(*Config)) *itSource {
	t.Helper()
	cfg := Config{URL: b.url, User: b.monitor[0], Password: b.monitor[1], VHost: b.vhost, Interval: itInterval, Timeout: 3 * time.Second}
	if b.useProm {
		cfg.PrometheusURLs = []string{b.prometheus}
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := &countingTransport{base: s.client.Transport}
	s.client.Transport = tr
	t.Cleanup(s.client.CloseIdleConnections)
	return &itSource{Source: s, t: t, tr: tr, store: state.NewStore(state.DefaultConfig())}
}

// poll runs one poll exactly as Run does (poll.Run, the same batch for a
// failure; the first poll's early batch of nodes and overview before its
// own), folds the poll's batches into the store and checks that the poll
// sent only GETs, as many as its batches report. It returns the poll's own
// batch: the last.
func (s *itSource) poll() (sources.Batch, *state.Snapshot) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var b sources.Batch
	var snap *state.Snapshot
	reported := 0
	_ = poll.Run(ctx, poll.Options{Name: s.Name(), Interval: itPollInterval}, s.Poll, func(got sources.Batch) {
		b, snap = got, s.store.Apply(got)
		reported += got.Health.Requests
		if !got.Health.OK || got.Queues != nil {
			cancel() // the poll's own batch; an early one has no queues
		}
	})
	reqs := s.tr.take()
	s.last = reqs
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") {
			s.t.Errorf("request %q is not a GET: stacktop only reads", r)
		}
	}
	if len(reqs) != reported {
		s.t.Errorf("%d requests reached the network, the poll's batches report %d: %q", len(reqs), reported, reqs)
	}
	return b, snap
}

// pollUntil polls every itInterval until check returns "" (nothing missing)
// or the deadline passes; it returns the last batch and snapshot.
func (s *itSource) pollUntil(what string, deadline time.Duration, check func(sources.Batch, *state.Snapshot) string) (sources.Batch, *state.Snapshot) {
	s.t.Helper()
	start := time.Now()
	for {
		b, snap := s.poll()
		miss := check(b, snap)
		if miss == "" {
			s.t.Logf("%s after %v", what, time.Since(start).Round(100*time.Millisecond))
			return b, snap
		}
		if time.Since(start) > deadline {
			s.t.Fatalf("%s: not within %v: %s (last poll: ok=%v err=%q detail=%q)", what, deadline, miss, b.Health.OK, b.Health.Err, b.Health.Detail)
		}
		time.Sleep(itInterval)
	}
}

// testQueues declares queues named stacktop-it-<random>-* in b's vhost over
// AMQP and deletes them when the test ends (x-expires removes them anyway
// if the test dies).
type testQueues struct {
	t      *testing.T
	prefix string
	conn   *amqp.Connection
	ch     *amqp.Channel
}

func declareTestQueues(t *testing.T, b itBroker) *testQueues {
	t.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	conn, err := amqp.DialConfig(b.amqpVHost, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second), Properties: amqp.Table{"connection_name": t.Name()}})
	if err != nil {
		t.Fatalf("AMQP: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	tq := &testQueues{t: t, prefix: "stacktop-it-" + hex.EncodeToString(r[:]) + "-", conn: conn, ch: ch}
	t.Cleanup(func() { conn.Close() })
	return tq
}

func (tq *testQueues) declare(name string) string {
	tq.t.Helper()
	full := tq.prefix + name
	if _, err := tq.ch.QueueDeclare(full, false, false, false, false, amqp.Table{"x-expires": int32(10 * 60 * 1000)}); err != nil {
		tq.t.Fatal(err)
	}
	tq.t.Cleanup(func() {
		if _, err := tq.ch.QueueDelete(full, false, false, false); err != nil && !errors.Is(err, amqp.ErrClosed) {
			tq.t.Logf("delete queue %s: %v", full, err)
		}
	})
	return full
}

// publish sends n persistent-less messages to queue and waits for the broker's confirms.
func (tq *testQueues) publish(queue string, n int) {
	tq.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	confirms := make([]*amqp.DeferredConfirmation, 0, n)
	for i := range n {
		dc, err := tq.ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{Body: fmt.Appendf(nil, "message %d", i)})
		if err != nil {
			tq.t.Fatal(err)
		}
		confirms = append(confirms, dc)
	}
	for _, dc := range confirms {
		if ok, err := dc.WaitContext(ctx); !ok || err != nil {
			tq.t.Fatalf("publish to %s not confirmed: %v", queue, err)
		}
	}
}

// consume attaches a consumer with manual acks and the given prefetch on
// its own channel, and waits until it holds want unacknowledged deliveries.
func (tq *testQueues) consume(queue string, prefetch, want int) {
	tq.t.Helper()
	ch, err := tq.conn.Channel()
	if err != nil {
		tq.t.Fatal(err)
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		tq.t.Fatal(err)
	}
	d, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		tq.t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for i := 0; i < want; i++ {
		select {
		case <-d:
		case <-timeout:
			tq.t.Fatalf("consumer on %s got %d deliveries, want %d", queue, i, want)
		}
	}
}

// queueWant is what the source should report for one test queue.
type queueWant struct {
	name                    string
	messages, ready, unackd int64
	consumers               int
}

// checkQueuesAndNodes declares a backlog without consumers, a backlog with a
// prefetching consumer and an empty queue with two consumers, then polls
// until the source reports each with the right counts (the broker updates
// them every collect_statistics_interval, 5 s here), and checks the node and
// the overview. It returns the source for more checks.
func checkQueuesAndNodes(t *testing.T, b itBroker, via string) *itSource {
	tq := declareTestQueues(t, b)
	backlog := tq.declare("backlog")
	consumed := tq.declare("consumed")
	idle := tq.declare("idle")
	tq.publish(backlog, 25)
	tq.publish(consumed, 20)
	tq.consume(consumed, 5, 5)
	tq.consume(idle, 1, 0)
	tq.consume(idle, 1, 0)
	wants := []queueWant{
		{backlog, 25, 25, 0, 0},
		{consumed, 20, 15, 5, 1},
		{idle, 0, 0, 0, 2},
	}

	s := newITSource(t, b, func(c *Config) { c.QueueFilter = "^" + tq.prefix })
	bat, snap := s.pollUntil("queue counts as declared", 45*time.Second, func(bat sources.Batch, snap *state.Snapshot) string {
		if !bat.Health.OK {
			return bat.Health.Err
		}
		if len(bat.Queues) != len(wants) {
			return fmt.Sprintf("%d queues listed, want %d: %+v", len(bat.Queues), len(wants), bat.Queues)
		}
		for _, w := range wants {
			q, ok := snap.Queue(state.QueueKey{VHost: b.vhost, Name: w.name})
			got := queueWant{w.name, q.Messages, q.Ready, q.Unacked, q.Consumers}
			if !ok || got != w {
				return fmt.Sprintf("queue %s: got %+v, want %+v", w.name, got, w)
			}
		}
		// The node, as the header shows it. Polled for too: the management
		// stats lag up to an interval behind an alarm that another
		// package's disruptive test has just cleared.
		n, ok := snap.Node(b.node)
		if len(bat.Nodes) != 1 || !ok {
			return fmt.Sprintf("nodes %+v, want %s only", bat.Nodes, b.node)
		}
		if !n.Running || n.MemUsed <= 0 || n.MemLimit <= 0 || n.DiskFree <= 0 || n.DiskFreeLimit <= 0 ||
			n.FDUsed <= 0 || n.FDTotal <= 0 || n.ProcUsed <= 0 || n.ProcTotal <= 0 || n.Uptime <= 0 ||
			n.MemAlarm || n.DiskAlarm || len(n.Partitions) != 0 {
			return fmt.Sprintf("node gauges missing or wrong (or an alarm): %+v", n.Node)
		}
		return ""
	})
	n, _ := snap.Node(b.node)
	ov := snap.Overview
	if ov == nil || ov.Via != via || ov.RabbitVersion == "" || (b.version != "" && ov.RabbitVersion != b.version) ||
		ov.Queues < len(wants) || ov.Consumers < 3 || ov.MessagesReady < 40 || ov.MessagesUnacked < 5 {
		t.Errorf("overview %+v, want via %s, version %s, at least our queues, consumers and messages", ov, via, b.version)
	}
	if !strings.Contains(bat.Health.Detail, via) {
		t.Errorf("detail %q does not say %s", bat.Health.Detail, via)
	}
	if h, _ := snap.Source(sources.NameRabbitMQ); h.LastErr != "" || h.Stale(snap.At) {
		t.Errorf("health %+v", h)
	}
	t.Logf("%s: node %s mem %d/%d fd %d/%d uptime %v; overview %+v; %d requests, %v",
		b.harness, n.Name, n.MemUsed, n.MemLimit, n.FDUsed, n.FDTotal, n.Uptime.Round(time.Second), *ov, bat.Health.Requests, bat.Health.Latency.Round(time.Millisecond))
	return s
}

// TestRabbitQueuesAndNodes: backlogs and consumers appear with the right
// counts through the management API, in the three requests of a poll; the
// focused queue costs one more, with its rates.
func TestRabbitQueuesAndNodes(t *testing.T) {
	b := sharedBroker(t)
	harness.Share(t)
	via := "management"
	if b.metricsOff {
		via = "prometheus" // scripts/test --metrics-off
	} else {
		b.waitCollector(t)
	}
	s := checkQueuesAndNodes(t, b, via)
	if b.metricsOff {
		return
	}

	// Request plan: nodes, overview, queues; then + the focused queue.
	host := strings.TrimPrefix(b.url, "http://")
	want := []string{"GET " + host + "/api/nodes", "GET " + host + "/api/overview", "GET " + host + "/api/queues/" + b.vhost}
	bat, _ := s.poll()
	if !bat.Health.OK || !slices.Equal(s.last, want) {
		t.Fatalf("poll ok=%v err=%q requests %q, want %q", bat.Health.OK, bat.Health.Err, s.last, want)
	}
	backlog := bat.Queues[0].Name
	s.SetFocus(b.vhost, backlog)
	bat, snap := s.poll()
	want = append(want, "GET "+host+"/api/queues/"+b.vhost+"/"+backlog)
	if !bat.Health.OK || !slices.Equal(s.last, want) {
		t.Fatalf("focused poll ok=%v err=%q requests %q, want %q", bat.Health.OK, bat.Health.Err, s.last, want)
	}
	if q, _ := snap.Queue(state.QueueKey{VHost: b.vhost, Name: backlog}); q.Rates == nil {
		t.Errorf("focused queue %s has no rates", backlog)
	}
}

// TestRabbitPrometheusQueuesAndNodes: the same checks through the
// prometheus plugin of the shared broker (collector on), which the source
// prefers once a prometheus URL is configured.
func TestRabbitPrometheusQueuesAndNodes(t *testing.T) {
	b := sharedBroker(t)
	b.useProm = true
	harness.Share(t)
	checkQueuesAndNodes(t, b, "prometheus")
}

// TestRabbitMetricsOffQueuesAndNodes: the same checks on a broker whose
// management metrics collector is off, through its prometheus plugin.
func TestRabbitMetricsOffQueuesAndNodes(t *testing.T) {
	b := metricsOffBroker(t)
	harness.Share(t)
	s := checkQueuesAndNodes(t, b, "prometheus")
	// Request plan: nodes, overview, the node's /metrics and /metrics/detailed;
	// a focused queue costs nothing more (the collector keeps no rates).
	host, prom := strings.TrimPrefix(b.url, "http://"), strings.TrimPrefix(b.prometheus, "http://")
	want := []string{"GET " + host + "/api/nodes", "GET " + host + "/api/overview", "GET " + prom + "/metrics", "GET " + prom + "/metrics/detailed"}
	bat, _ := s.poll()
	s.SetFocus(b.vhost, bat.Queues[0].Name)
	bat, _ = s.poll()
	if !bat.Health.OK || !slices.Equal(s.last, want) {
		t.Fatalf("poll ok=%v err=%q requests %q, want %q", bat.Health.OK, bat.Health.Err, s.last, want)
	}
}

// TestRabbitWrongPassword: a wrong password says "credentials refused".
func TestRabbitWrongPassword(t *testing.T) {
	for name, get := range map[string]func(*testing.T) itBroker{"rabbitmq": sharedBroker, "rabbitmq-metrics-off": metricsOffBroker} {
		t.Run(name, func(t *testing.T) {
			b := get(t)
			harness.Share(t)
			s := newITSource(t, b, func(c *Config) { c.Password = "wrong-" + c.Password })
			_, err := s.Source.Poll(context.Background())
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("Poll: %v, want ErrCredentials", err)
			}
			if reqs := s.tr.take(); len(reqs) != 1 {
				t.Errorf("requests %q: want one, no retry", reqs)
			}
			bat, snap := s.poll()
			h, _ := snap.Source(sources.NameRabbitMQ)
			if bat.Health.OK || !strings.Contains(h.LastErr, "credentials refused") || bat.Health.Requests != 1 {
				t.Errorf("batch %+v; health %+v: want a failed poll saying credentials refused after one request", bat.Health, h)
			}
			if strings.Contains(h.LastErr, "wrong-") {
				t.Errorf("error shows the password: %q", h.LastErr)
			}
		})
	}
}

// okAndUptime is a pollUntil check: the poll succeeded and the node's uptime is known.
func okAndUptime(node string) func(sources.Batch, *state.Snapshot) string {
	return func(bat sources.Batch, snap *state.Snapshot) string {
		if !bat.Health.OK {
			return bat.Health.Err
		}
		if n, ok := snap.Node(node); !ok || n.Uptime < 0 || !n.Running {
			return fmt.Sprintf("node %s not running with a known uptime: %+v", node, snap.Nodes)
		}
		return ""
	}
}

// brokerRestarts lists the restarts timeline's entries for a broker node.
func brokerRestarts(snap *state.Snapshot, node string) []state.Restart {
	var out []state.Restart
	for _, r := range snap.Restarts {
		if r.Kind == state.RestartBrokerNode && r.Where == node {
			out = append(out, r)
		}
	}
	return out
}

// waitManagement waits until b's management API answers b's monitoring user.
func waitManagement(b itBroker, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/overview", nil)
		req.SetBasicAuth(b.monitor[0], b.monitor[1])
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("management API %s not back within %v: %v", b.url, within, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestRabbitStopApp: rabbitmqctl stop_app makes every poll fail saying the
// broker is unreachable, and the data stays on screen, stale; start_app and
// the next poll recovers.
func TestRabbitStopApp(t *testing.T) {
	b := sharedBroker(t)
	harness.Disrupt(t)
	s := newITSource(t, b, nil)
	_, before := s.pollUntil("first poll", 30*time.Second, okAndUptime(b.node))
	n1, _ := before.Node(b.node)

	t.Cleanup(func() {
		if err := b.tryRabbitmqctl("start_app"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := waitManagement(b, time.Minute); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	start := time.Now()
	b.rabbitmqctl(t, "stop_app")
	t.Logf("stop_app took %v", time.Since(start).Round(100*time.Millisecond))

	bat, down := s.pollUntil("source stale", 3*itPollInterval+5*time.Second, func(bat sources.Batch, snap *state.Snapshot) string {
		if bat.Health.OK {
			return "a poll succeeded with the app stopped"
		}
		if h, _ := snap.Source(sources.NameRabbitMQ); !h.Stale(snap.At) {
			return fmt.Sprintf("not stale yet: last success %v ago", h.Age(snap.At).Round(time.Second))
		}
		return ""
	})
	h, _ := down.Source(sources.NameRabbitMQ)
	if !strings.Contains(bat.Health.Err, "broker unreachable") || !strings.Contains(bat.Health.Err, "connection refused") {
		t.Errorf("error %q: want it to say the broker is unreachable (connection refused)", bat.Health.Err)
	}
	if h.LastErr != bat.Health.Err || h.Failures < 1 || !h.LastSuccess.Equal(before.At) {
		t.Errorf("health %+v: want the error, failures, and the last success kept", h)
	}
	if len(down.Nodes) != len(before.Nodes) || len(down.Queues) != len(before.Queues) || down.Overview != before.Overview {
		t.Errorf("data not kept while down: %d nodes, %d queues (before %d, %d)", len(down.Nodes), len(down.Queues), len(before.Nodes), len(before.Queues))
	}
	t.Logf("while down: %q, stale for %v after %d failed polls", h.LastErr, h.Age(down.At).Round(time.Second), h.Failures)

	start = time.Now()
	b.rabbitmqctl(t, "start_app")
	t.Logf("start_app took %v", time.Since(start).Round(100*time.Millisecond))
	_, after := s.pollUntil("recovered", time.Minute, okAndUptime(b.node))
	h, _ = after.Source(sources.NameRabbitMQ)
	if h.Stale(after.At) || h.Failures != 0 || h.LastErr != "" {
		t.Errorf("health after recovery %+v", h)
	}
	// stop_app/start_app stops and starts the RabbitMQ application inside the
	// same Erlang VM: the node's uptime (the VM's) keeps growing, so no uptime
	// reset shows it; the listener refusing connections and answering again
	// does, and the timeline says it was the application (a node restart,
	// scripts/dev-rabbitmq restart, is TestRabbitMetricsOffNodeRestart).
	n2, _ := after.Node(b.node)
	t.Logf("uptime %v before stop_app, %v after start_app", n1.Uptime.Round(time.Second), n2.Uptime.Round(time.Second))
	r := brokerRestarts(after, b.node)
	if len(r) != 1 {
		t.Fatalf("uptime %v → %v; timeline %+v: want one broker restart", n1.Uptime, n2.Uptime, r)
	}
	want := "uptime went from" // the VM restarted after all
	if n2.Uptime > n1.Uptime {
		want = "the RabbitMQ application was restarted, not the node"
	}
	if !strings.Contains(r[0].Evidence, want) || r[0].Source != sources.NameRabbitMQ {
		t.Errorf("restart %+v: want evidence saying %q", r[0], want)
	}
	t.Logf("timeline: %s restarted at %s: %s", r[0].Where, r[0].At.Format(time.TimeOnly), r[0].Evidence)
}

// checkMemoryAlarm sets the memory watermark so low that the node raises
// its memory alarm, and checks the source shows it; the watermark goes back
// to the default 0.4 at the end and the alarm must clear.
func checkMemoryAlarm(t *testing.T, b itBroker) {
	harness.Disrupt(t)
	s := newITSource(t, b, nil)
	s.pollUntil("first poll", 30*time.Second, okAndUptime(b.node))
	t.Cleanup(func() {
		if err := b.tryRabbitmqctl("set_vm_memory_high_watermark", "0.4"); err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		s.pollUntil("memory alarm cleared", time.Minute, func(bat sources.Batch, snap *state.Snapshot) string {
			if n, _ := snap.Node(b.node); !bat.Health.OK || n.MemAlarm {
				return "alarm still on"
			}
			return ""
		})
	})
	b.rabbitmqctl(t, "set_vm_memory_high_watermark", "0.0001")
	_, snap := s.pollUntil("memory alarm", 30*time.Second, func(bat sources.Batch, snap *state.Snapshot) string {
		if n, _ := snap.Node(b.node); !bat.Health.OK || !n.MemAlarm {
			return fmt.Sprintf("no memory alarm: %+v", snap.Nodes)
		}
		return ""
	})
	n, _ := snap.Node(b.node)
	t.Logf("%s: memory alarm with mem %d of limit %d (via %s)", b.harness, n.MemUsed, n.MemLimit, snap.Overview.Via)
	if n.DiskAlarm || n.MemUsed <= 0 || n.MemLimit <= 0 {
		t.Errorf("node %+v: want the memory gauges, no disk alarm", n.Node)
	}
	// The management API reports the new, tiny limit; rabbitmq_prometheus 3.10
	// keeps reporting the limit the node started with
	// (rabbitmq_resident_memory_limit_bytes), though its alarm gauge is right.
	if snap.Overview.Via == "management" && n.MemUsed <= n.MemLimit {
		t.Errorf("node %+v: want memory used over its (tiny) limit", n.Node)
	}
}

// TestRabbitMemoryAlarm: a memory alarm shows as Node.MemAlarm (management API).
func TestRabbitMemoryAlarm(t *testing.T) { checkMemoryAlarm(t, sharedBroker(t)) }

// TestRabbitMetricsOffMemoryAlarm: the same through the prometheus plugin.
func TestRabbitMetricsOffMemoryAlarm(t *testing.T) { checkMemoryAlarm(t, metricsOffBroker(t)) }

// TestRabbitMetricsOffNodeRestart: a node restarted (a new Erlang VM, so its
// uptime starts again) is in the restarts timeline. It restarts the second
// dev broker, not the shared one, through its harness script, which keeps
// the harness's leases.
func TestRabbitMetricsOffNodeRestart(t *testing.T) {
	b := metricsOffBroker(t)
	root, err := harness.Root()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "dev-"+b.harness)
	harness.Disrupt(t)
	s := newITSource(t, b, nil)
	_, before := s.pollUntil("first poll", 30*time.Second, okAndUptime(b.node))
	n1, _ := before.Node(b.node)
	if r := brokerRestarts(before, b.node); len(r) != 0 {
		t.Fatalf("restart before any: %+v", r)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "up").CombinedOutput(); err != nil {
			t.Errorf("cleanup: %s up: %v\n%s", script, err, out)
		}
	})
	start := time.Now()
	if out, err := exec.Command(script, "restart").CombinedOutput(); err != nil {
		t.Fatalf("%s restart: %v\n%s", script, err, out)
	}
	t.Logf("%s restart took %v", filepath.Base(script), time.Since(start).Round(100*time.Millisecond))
	_, after := s.pollUntil("node back", time.Minute, okAndUptime(b.node))
	n2, _ := after.Node(b.node)
	r := brokerRestarts(after, b.node)
	if len(r) != 1 || !strings.Contains(r[0].Evidence, "uptime went from") || r[0].Source != sources.NameRabbitMQ || n2.Restarts != 1 {
		t.Fatalf("uptime %v → %v; timeline %+v; node restarts %d: want one broker node restart", n1.Uptime, n2.Uptime, r, n2.Restarts)
	}
	t.Logf("timeline: %s %s: %s", r[0].Where, r[0].What, r[0].Evidence)
}
