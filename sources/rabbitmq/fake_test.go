package rabbitmq

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeBroker is a recording httptest server that answers the management API
// (or the prometheus plugin) from fixtures, with faults injected per path.
type fakeBroker struct {
	*httptest.Server
	t        testing.TB
	auth     bool              // require basic auth
	password string            // of user guest; default "guest"
	files    map[string]string // URL path → testdata file
	faults   map[string]http.HandlerFunc

	mu   sync.Mutex
	reqs []string // "METHOD path?query"
}

// managementFixtures answer a broker whose metrics collector is on.
func managementFixtures() map[string]string {
	return map[string]string{
		"/api/nodes":                 "rabbitmq-3.10-nodes.json",
		"/api/overview":              "rabbitmq-3.10-overview.json",
		"/api/queues":                "rabbitmq-3.10-queues-nova-full.json",
		"/api/queues/nova":           "rabbitmq-3.10-queues-nova-full.json",
		"/api/queues/nova/conductor": "rabbitmq-3.10-queue-nova-conductor.json",
	}
}

// metricsOffFixtures answer a broker whose metrics collector is off.
func metricsOffFixtures() map[string]string {
	return map[string]string{
		"/api/nodes":    "rabbitmq-3.10-metrics-off-nodes.json",
		"/api/overview": "rabbitmq-3.10-metrics-off-overview.json",
		// The plain listing has no depths; with enable_queue_totals it has (see handler).
		"/api/queues":        "rabbitmq-3.10-metrics-off-queues-nova-full.json",
		"totals:/api/queues": "rabbitmq-3.10-metrics-off-queues-nova-totals.json",
	}
}

func prometheusFixtures() map[string]string {
	return map[string]string{
		"/metrics":          "rabbitmq-3.10-metrics-off-prometheus-metrics.txt",
		"/metrics/detailed": "rabbitmq-3.10-metrics-off-prometheus-detailed-nova.txt",
	}
}

func newFakeBroker(t testing.TB, auth bool, files map[string]string) *fakeBroker {
	fb := &fakeBroker{t: t, auth: auth, password: "guest", files: files, faults: map[string]http.HandlerFunc{}}
	fb.Server = httptest.NewServer(http.HandlerFunc(fb.serve))
	t.Cleanup(fb.Close)
	return fb
}

func (fb *fakeBroker) serve(w http.ResponseWriter, r *http.Request) {
	fb.mu.Lock()
	fb.reqs = append(fb.reqs, r.Method+" "+r.URL.RequestURI())
	fault := fb.faults[r.URL.EscapedPath()]
	fb.mu.Unlock()
	if r.Method != http.MethodGet {
		http.Error(w, "read-only test broker", http.StatusMethodNotAllowed)
		return
	}
	if fb.auth {
		if u, p, ok := r.BasicAuth(); !ok || u != "guest" || p != fb.password {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"not_authorized","reason":"Login failed"}`))
			return
		}
	} else if r.Header.Get("Authorization") != "" {
		fb.t.Errorf("credentials sent to %s", r.URL.Path)
	}
	if fault != nil {
		fault(w, r)
		return
	}
	key := r.URL.EscapedPath()
	if r.URL.Query().Get("enable_queue_totals") == "true" {
		if _, ok := fb.files["totals:"+key]; ok {
			key = "totals:" + key
		}
	}
	name, ok := fb.files[key]
	if !ok {
		http.Error(w, `{"error":"Object Not Found","reason":"Not Found"}`, http.StatusNotFound)
		return
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		fb.t.Error(err)
		return
	}
	if strings.HasSuffix(name, ".txt") {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	_, _ = w.Write(b)
}

// fault replaces the answer for one escaped path.
func (fb *fakeBroker) fault(path string, h http.HandlerFunc) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.faults[path] = h
}

// requests returns and forgets the requests seen so far.
func (fb *fakeBroker) requests() []string {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	r := fb.reqs
	fb.reqs = nil
	return r
}

// paths strips the queries off requests, for comparisons.
func paths(reqs []string) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i], _, _ = strings.Cut(r, "?")
	}
	return out
}
