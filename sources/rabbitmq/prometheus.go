package rabbitmq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
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
// and rabbitmq_detailed_queue_process_reductions_total (not used): both are
// dropped before parsing, which saves 40% of the work.
const (
	famReady     = "rabbitmq_detailed_queue_messages_ready"
	famUnacked   = "rabbitmq_detailed_queue_messages_unacked"
	famConsumers = "rabbitmq_detailed_queue_consumers"
)

var detailedFamilies = []string{famReady, famUnacked, famConsumers}

type queueKey struct{ vhost, name string }

// parseDetailedQueues parses /metrics/detailed with the queue_coarse_metrics
// and queue_consumer_count families and merges its queues into into, keyed
// by vhost and name. keep filters by queue name. Values absent are -1.
//
// expfmt costs about 25 allocations per sample, and 20,000 queues are 100,000
// samples; so the lines of the families used are sorted out first (by metric
// name only: the text format escapes newlines in label values) and each
// family is parsed by its own expfmt parser, concurrently, a chunk at a time
// (parseFamily).
func parseDetailedQueues(r io.Reader, keep func(name string) bool, into map[queueKey]*sources.Queue) error {
	bufs, err := splitFamilies(r, detailedFamilies)
	if err != nil {
		return err
	}
	fams := make([][]sample, len(bufs))
	errs := make([]error, len(bufs))
	var wg sync.WaitGroup
	for i := range bufs {
		wg.Go(func() {
			fams[i], errs[i] = parseFamily(bufs[i], detailedFamilies[i])
			bufs[i] = nil
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return promError(err)
	}
	set := func(samples []sample, apply func(q *sources.Queue, v float64)) {
		for _, m := range samples {
			if keep != nil && !keep(m.key.name) {
				continue
			}
			q := into[m.key]
			if q == nil {
				q = &sources.Queue{VHost: m.key.vhost, Name: m.key.name, Messages: -1, Ready: -1, Unacked: -1, Consumers: -1}
				into[m.key] = q
			}
			if m.ok {
				apply(q, m.v)
			}
		}
	}
	// A queue seen by two nodes (a replica reporting too) keeps the larger
	// value: in an incident, the backlog is what matters.
	set(fams[0], func(q *sources.Queue, v float64) { q.Ready = max(q.Ready, int64(v)) })
	set(fams[1], func(q *sources.Queue, v float64) { q.Unacked = max(q.Unacked, int64(v)) })
	set(fams[2], func(q *sources.Queue, v float64) { q.Consumers = max(q.Consumers, int(v)) })
	for _, q := range into {
		if q.Ready >= 0 && q.Unacked >= 0 {
			q.Messages = q.Ready + q.Unacked
		}
	}
	return nil
}

// sample is one queue's value in one family.
type sample struct {
	key queueKey
	v   float64
	ok  bool // v is a number (not NaN or infinite)
}

// chunkLines is how many samples parseFamily hands expfmt at a time.
const chunkLines = 20_000

// parseFamily parses one family's lines (from splitFamilies) into samples,
// chunkLines at a time, each chunk behind the family's first # HELP and #
// TYPE lines: expfmt's tree of a sample is some 500 bytes, a sample here
// 50, so 200,000 queues cost 10 MB instead of 100 per family.
func parseFamily(buf []byte, name string) ([]sample, error) {
	var (
		head  []byte // the family's first two comment lines
		heads int
		out   []sample
		chunk bytes.Buffer
	)
	for len(buf) > 0 {
		chunk.Reset()
		chunk.Write(head)
		for n := 0; len(buf) > 0 && n < chunkLines; {
			line := buf
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				line = buf[:i+1]
			}
			buf = buf[len(line):]
			if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '#' {
				if heads < 2 {
					head = append(head, line...)
					heads++
				}
			} else {
				n++
			}
			chunk.Write(line)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(&chunk)
		if err != nil {
			return nil, err
		}
		for _, m := range mfs[name].GetMetric() {
			v, ok := value(m)
			k := queueKey{sources.Bound(label(m, "vhost"), sources.MaxName), sources.Bound(label(m, "queue"), sources.MaxName)}
			out = append(out, sample{key: k, v: v, ok: ok})
		}
	}
	return out, nil
}

// maxPromLine is the longest line of prometheus text read: a sample line is
// a few hundred bytes even with 255-byte queue and vhost names.
const maxPromLine = 1 << 20

// splitFamilies reads prometheus text and returns, for each wanted family,
// its lines (# HELP and # TYPE included), dropping every other line.
//
// A line longer than maxPromLine, or a family of more than MaxQueues
// samples, is an error: a queue's line is a few hundred bytes, and
// without these bounds one hostile response could make the parser hold
// far more than the response's own size.
func splitFamilies(r io.Reader, wanted []string) ([][]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	out := make([]bytes.Buffer, len(wanted))
	lines := make([]int, len(wanted))
	var long []byte // a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxPromLine {
				return nil, fmt.Errorf("parse prometheus text: a line is longer than %d MiB", maxPromLine>>20)
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			if len(long)+len(line) > maxPromLine {
				return nil, fmt.Errorf("parse prometheus text: a line is longer than %d MiB", maxPromLine>>20)
			}
			line = append(long, line...)
			long = nil
		}
		if name := familyOf(line); name != nil {
			for i, w := range wanted {
				if string(name) == w {
					if lines[i]++; lines[i] > maxQueues+2 { // + # HELP and # TYPE
						return nil, fmt.Errorf("parse prometheus text: %w: %s has more than %d samples", ErrTooMany, w, maxQueues)
					}
					out[i].Write(line)
					break
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	res := make([][]byte, len(out))
	for i := range out {
		res[i] = out[i].Bytes()
	}
	return res, nil
}

// familyOf is the metric name a text-format line is about: the sample's
// name, or the name a # HELP or # TYPE comment describes; nil otherwise.
func familyOf(line []byte) []byte {
	line = bytes.TrimLeft(line, " \t")
	if len(line) > 0 && line[0] == '#' {
		rest, ok := bytes.CutPrefix(line[1:], []byte(" HELP "))
		if !ok {
			rest, ok = bytes.CutPrefix(line[1:], []byte(" TYPE "))
		}
		if !ok {
			return nil
		}
		line = rest
	}
	if i := bytes.IndexAny(line, "{ \t\n"); i >= 0 {
		line = line[:i]
	}
	if len(line) == 0 {
		return nil
	}
	return line
}

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
