package rabbitmq

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// scaleEnv makes TestHostileResponses also run the 200,000-queue case
// (TestPeakRSSUnderHostileResponses sets it, to measure its memory).
const scaleEnv = "STACKTOP_RABBITMQ_SCALE"

// streamHuge writes prefix, n MiB of c, then suffix, stopping when the client hangs up.
func streamHuge(w io.Writer, prefix string, c byte, n int, suffix string) {
	io.WriteString(w, prefix)
	chunk := bytes.Repeat([]byte{c}, 1<<20)
	for range n {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
	io.WriteString(w, suffix)
}

// detailedQueues streams /metrics/detailed for n queues, the five families
// the plugin sends, as the captured fixture spells them.
func detailedQueues(w io.Writer, n int) {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	for _, fam := range []string{famReady, famUnacked, "rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_process_reductions_total", famConsumers} {
		fmt.Fprintf(bw, "# TYPE %s gauge\n# HELP %s a family\n", fam, fam)
		for i := range n {
			fmt.Fprintf(bw, "%s{vhost=\"nova\",queue=\"compute.compute-%06d.example.org\"} %d\n", fam, i, i%7)
		}
	}
}

// TestHostileResponses: what a hostile or broken broker sends costs a
// bounded amount of memory and fails the poll clearly, or is clipped.
func TestHostileResponses(t *testing.T) {
	tests := []struct {
		name   string
		prom   bool // the fault is on the prometheus endpoint, in prometheus mode
		path   string
		fault  http.HandlerFunc
		want   string // in the error, or in Health.Detail when ok
		ok     bool
		queues int // when ok
		scale  bool
	}{
		{name: "300 MB queue name", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			streamHuge(w, `[{"name":"a","vhost":"/"},{"name":"`, 'q', 300, `","vhost":"/"}]`)
		}, want: "rabbitmq: list queues: GET http://127.0.0.1:"},
		{name: "300 MB cluster name", path: "/api/overview", fault: func(w http.ResponseWriter, r *http.Request) {
			streamHuge(w, `{"cluster_name":"`, 'c', 300, `"}`)
		}, want: "response exceeds 8.0M (after decompression)"},
		{name: "gzip bomb is never inflated", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			streamHuge(zw, `[`, ' ', 1024, `]`)
			zw.Close()
		}, want: "decode: invalid JSON"},
		{name: "too many queues", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			bw := bufio.NewWriter(w)
			bw.WriteString("[")
			for i := range maxQueues + 1 {
				fmt.Fprintf(bw, `{"name":"q%d","vhost":"/"},`, i)
			}
			bw.WriteString(`{"name":"last","vhost":"/"}]`)
			bw.Flush()
		}, want: "too many items: more than 1000 queues"},
		{name: "too many prometheus samples", prom: true, path: "/metrics/detailed", fault: func(w http.ResponseWriter, r *http.Request) {
			detailedQueues(w, maxQueues+1)
		}, want: "prometheus queue metrics failed, queues from management API, consumers unknown: GET http://127.0.0.1:", ok: true, queues: 17},
		{name: "10 KB queue name clipped", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"name":"`+strings.Repeat("q", 10<<10)+`","vhost":"/"}]`)
		}, want: "1 over-long strings cut to 255 bytes", ok: true, queues: 1},
		{name: "200,000 queues from prometheus", prom: true, path: "/metrics/detailed", fault: func(w http.ResponseWriter, r *http.Request) {
			detailedQueues(w, 200_000)
		}, want: "prometheus", ok: true, queues: 200_000, scale: true},
		{name: "queue list at every limit", path: "/api/queues", fault: func(w http.ResponseWriter, r *http.Request) {
			// 245,000 entries with 1 KB names, 255 MB: as many as the size limit
			// holds, each name bounded as decoded, then cut.
			bw := bufio.NewWriterSize(w, 64<<10)
			defer bw.Flush()
			pad := strings.Repeat("n", 1000)
			bw.WriteString("[")
			for i := range 245_000 {
				fmt.Fprintf(bw, `{"name":"%07d%s","vhost":"/","messages":1},`, i, pad)
			}
			bw.WriteString(`{"name":"last","vhost":"/"}]`)
		}, want: "245000 over-long strings cut", ok: true, queues: 245_001, scale: true},
		{name: "detailed metrics at every limit", prom: true, path: "/metrics/detailed", fault: func(w http.ResponseWriter, r *http.Request) {
			// Three families of 240,000 distinct 255-byte names: 250 MB, under
			// the 256 MiB and 250,000-sample limits, all of it parsed and kept.
			bw := bufio.NewWriterSize(w, 64<<10)
			defer bw.Flush()
			pad := strings.Repeat("n", 255-7)
			for _, fam := range detailedFamilies {
				fmt.Fprintf(bw, "# TYPE %s gauge\n", fam)
				for i := range 240_000 {
					fmt.Fprintf(bw, "%s{vhost=\"nova\",queue=\"%07d%s\"} 1\n", fam, i, pad)
				}
			}
		}, want: "prometheus (management metrics collector off)", ok: true, queues: 240_000, scale: true},
	}
	defer func(n int) { maxQueues = n }(maxQueues)
	maxQueues = 1000 // the same code as at MaxQueues, at a 250th of the cost
	if os.Getenv(scaleEnv) != "" {
		maxQueues = MaxQueues
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.scale && os.Getenv(scaleEnv) == "" {
				t.Skip("a scale case: TestPeakRSSUnderHostileResponses runs it")
			}
			mgmt := newFakeBroker(t, true, managementFixtures())
			mgmt.Config.ErrorLog = log.New(io.Discard, "", 0)
			cfg := Config{Timeout: time.Minute} // 110 MB on a loaded machine: this is not about speed
			if tt.prom {
				mgmt = newFakeBroker(t, true, metricsOffFixtures())
				prom := newFakeBroker(t, false, prometheusFixtures())
				prom.fault(tt.path, tt.fault)
				cfg.PrometheusURLs = []string{prom.URL}
			} else {
				mgmt.fault(tt.path, tt.fault)
			}
			s := newTestSource(t, mgmt, cfg)
			b, err := s.Poll(context.Background())
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				if b.Queues != nil || b.Overview != nil {
					t.Fatal("a failed poll carries data")
				}
				t.Log(err)
				return
			}
			if err != nil || len(b.Queues) != tt.queues || !strings.Contains(b.Health.Detail, tt.want) {
				t.Fatalf("poll: %v, %d queues, detail %q", err, len(b.Queues), b.Health.Detail)
			}
			if (&sources.Batch{Queues: b.Queues}).Clip() != 0 {
				t.Fatal("an over-long string reached the batch")
			}
		})
	}
}
