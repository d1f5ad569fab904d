package rabbitmq

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stacktop/stacktop/sources"
)

// promAccept asks for the classic text format, which every plugin version speaks.
const promAccept = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// detailedQuery selects the two queue families needed, nothing else.
const detailedQuery = "family=queue_coarse_metrics&family=queue_consumer_count"

// promNode is what one node's /metrics says.
type promNode struct {
	Name string       // rabbitmq_identity_info's rabbitmq_node; "" when absent
	Node sources.Node // gauges, -1 when absent
	// Node-local totals, -1 when absent, for the cluster overview.
	Connections, Channels, Consumers int
	Ready, Unacked                   int64
}

// parseNodeMetrics parses one node's /metrics (aggregated, the plugin's default).
func parseNodeMetrics(r io.Reader) (promNode, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return promNode{}, promError(err)
	}
	g := func(name string) (float64, bool) { return sum(mfs[name]) }
	i64 := func(name string) int64 {
		if v, ok := g(name); ok {
			return int64(math.Round(v))
		}
		return -1
	}
	alarm := func(name string) bool { v, ok := g(name); return ok && v > 0 }

	pn := promNode{
		Node: sources.Node{
			Running:       true, // it answered
			MemUsed:       i64("rabbitmq_process_resident_memory_bytes"),
			MemLimit:      i64("rabbitmq_resident_memory_limit_bytes"),
			MemAlarm:      alarm("rabbitmq_alarms_memory_used_watermark"),
			DiskFree:      i64("rabbitmq_disk_space_available_bytes"),
			DiskFreeLimit: i64("rabbitmq_disk_space_available_limit_bytes"),
			DiskAlarm:     alarm("rabbitmq_alarms_free_disk_space_watermark"),
			FDUsed:        i64("rabbitmq_process_open_fds"),
			FDTotal:       i64("rabbitmq_process_max_fds"),
			SocketsUsed:   i64("rabbitmq_process_open_tcp_sockets"),
			SocketsTotal:  i64("rabbitmq_process_max_tcp_sockets"),
			ProcUsed:      i64("rabbitmq_erlang_processes_used"),
			ProcTotal:     i64("rabbitmq_erlang_processes_limit"),
			Uptime:        -1,
		},
		Connections: int(i64("rabbitmq_connections")),
		Channels:    int(i64("rabbitmq_channels")),
		Consumers:   int(i64("rabbitmq_consumers")),
		Ready:       i64("rabbitmq_queue_messages_ready"),
		Unacked:     i64("rabbitmq_queue_messages_unacked"),
	}
	if v, ok := g("rabbitmq_erlang_uptime_seconds"); ok {
		pn.Node.Uptime = time.Duration(v * float64(time.Second)).Round(time.Millisecond)
	}
	if mf := mfs["rabbitmq_identity_info"]; mf != nil {
		for _, m := range mf.GetMetric() {
			if n := label(m, "rabbitmq_node"); n != "" {
				pn.Name = n
				break
			}
		}
	}
	pn.Node.Name = pn.Name
	return pn, nil
}

// Families of /metrics/detailed used for queues. The response also carries
// rabbitmq_detailed_queue_messages (always ready + unacked, so computed here)
// and rabbitmq_detailed_queue_process_reductions_total (not used): their
// lines are skipped unparsed (parseDetailedQueues, promtext.go).
const (
	famReady     = "rabbitmq_detailed_queue_messages_ready"
	famUnacked   = "rabbitmq_detailed_queue_messages_unacked"
	famConsumers = "rabbitmq_detailed_queue_consumers"
)

var detailedFamilies = []string{famReady, famUnacked, famConsumers}

type queueKey struct{ vhost, name string }

// sum adds every sample of a gauge, counter or untyped family.
func sum(mf *dto.MetricFamily) (float64, bool) {
	if mf == nil || len(mf.GetMetric()) == 0 {
		return 0, false
	}
	var total float64
	found := false
	for _, m := range mf.GetMetric() {
		if v, ok := value(m); ok {
			total += v
			found = true
		}
	}
	return total, found
}

func value(m *dto.Metric) (float64, bool) {
	var v float64
	switch {
	case m.GetGauge() != nil:
		v = m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		v = m.GetUntyped().GetValue()
	case m.GetCounter() != nil:
		v = m.GetCounter().GetValue()
	default:
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// promError makes a parse failure say what happened in operator terms.
func promError(err error) error {
	if strings.Contains(err.Error(), "unexpected end of input") {
		return fmt.Errorf("parse prometheus text: ends early (response truncated?): %w", err)
	}
	return fmt.Errorf("parse prometheus text: %w", err)
}
