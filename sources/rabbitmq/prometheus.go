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
// expfmt costs about 25 allocations and 500 bytes per sample, and 20,000
// queues are 100,000 samples; so the lines of the families used are sorted
// out as they are read (by metric name only: the text format escapes
// newlines in label values), handed to expfmt parsers on three goroutines
// a chunk at a time (chunkLines samples or chunkBytes, behind the family's
// # HELP and # TYPE lines), and each chunk's samples are merged as soon as
// they are parsed. Memory is a few chunks, not the response: 200,000 queues
// peak at ~120 MiB of RSS, 250 MB of queue lines at ~150 MiB.
func parseDetailedQueues(r io.Reader, keep func(name string) bool, into map[queueKey]*sources.Queue) error {
	jobs := make(chan chunk)
	results := make(chan parsed, 3)
	done := make(chan struct{}) // closed when the merge stops early
	var splitErr error
	go func() {
		defer close(jobs)
		splitErr = splitFamilies(r, detailedFamilies, func(c chunk) bool {
			select {
			case jobs <- c:
				return true
			case <-done:
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for c := range jobs {
				samples, err := parseChunk(c)
				results <- parsed{c.family, samples, err}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	// A queue seen by two nodes (a replica reporting too) keeps the larger
	// value: in an incident, the backlog is what matters.
	apply := []func(q *sources.Queue, v float64){
		func(q *sources.Queue, v float64) { q.Ready = max(q.Ready, int64(v)) },
		func(q *sources.Queue, v float64) { q.Unacked = max(q.Unacked, int64(v)) },
		func(q *sources.Queue, v float64) { q.Consumers = max(q.Consumers, int(v)) },
	}
	var parseErr error
	for p := range results {
		if p.err != nil && parseErr == nil {
			parseErr = p.err
			close(done)
		}
		if parseErr != nil {
			continue // drain: the goroutines end
		}
		for _, m := range p.samples {
			if keep != nil && !keep(m.key.name) {
				continue
			}
			q := into[m.key]
			if q == nil {
				q = &sources.Queue{VHost: m.key.vhost, Name: m.key.name, Messages: -1, Ready: -1, Unacked: -1, Consumers: -1}
				into[m.key] = q
			}
			if m.ok {
				apply[p.family](q, m.v)
			}
		}
	}
	switch {
	case splitErr != nil:
		return splitErr
	case parseErr != nil:
		return promError(parseErr)
	}
	for _, q := range into {
		if q.Ready >= 0 && q.Unacked >= 0 {
			q.Messages = q.Ready + q.Unacked
		}
	}
	return nil
}

// chunk is some lines of one family, behind its first # HELP and # TYPE lines.
type chunk struct {
	family int // index in the wanted families
	name   string
	text   []byte
}

// parsed is a chunk's samples.
type parsed struct {
	family  int
	samples []sample
	err     error
}

// sample is one queue's value in one family.
type sample struct {
	key queueKey
	v   float64
	ok  bool // v is a number (not NaN or infinite)
}

// A chunk holds at most chunkLines samples and about chunkBytes.
const (
	chunkLines = 20_000
	chunkBytes = 4 << 20
)

// parseChunk parses a chunk with expfmt into samples, queue and vhost names bounded.
func parseChunk(c chunk) ([]sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(c.text))
	if err != nil {
		return nil, err
	}
	ms := mfs[c.name].GetMetric()
	out := make([]sample, 0, len(ms))
	for _, m := range ms {
		v, ok := value(m)
		k := queueKey{sources.Bound(label(m, "vhost"), sources.MaxName), sources.Bound(label(m, "queue"), sources.MaxName)}
		out = append(out, sample{key: k, v: v, ok: ok})
	}
	return out, nil
}

// maxPromLine is the longest line of prometheus text read: a sample line is
// a few hundred bytes even with 255-byte queue and vhost names.
const maxPromLine = 1 << 20

// splitFamilies reads prometheus text and hands emit, for each wanted
// family, its lines in chunks; it stops when emit returns false.
//
// A line longer than maxPromLine, or a family of more than MaxQueues
// samples, is an error: a queue's line is a few hundred bytes, and
// without these bounds one hostile response could make the parser hold
// far more than the response's own size.
func splitFamilies(r io.Reader, wanted []string, emit func(chunk) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	type family struct {
		head    []byte // the first two comment lines
		heads   int
		cur     []byte // the chunk being filled: head, then lines
		samples int    // in cur
		lines   int    // in all
		emitted bool
	}
	fams := make([]family, len(wanted))
	flush := func(i int) bool {
		f := &fams[i]
		ok := emit(chunk{family: i, name: wanted[i], text: f.cur})
		f.cur, f.samples, f.emitted = append([]byte(nil), f.head...), 0, true
		return ok
	}
	var long []byte // a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxPromLine {
				return fmt.Errorf("parse prometheus text: a line is longer than %d MiB", maxPromLine>>20)
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			if len(long)+len(line) > maxPromLine {
				return fmt.Errorf("parse prometheus text: a line is longer than %d MiB", maxPromLine>>20)
			}
			line = append(long, line...)
			long = nil
		}
		if name := familyOf(line); name != nil {
			for i, w := range wanted {
				if string(name) != w {
					continue
				}
				f := &fams[i]
				if f.lines++; f.lines > maxQueues+2 { // + # HELP and # TYPE
					return fmt.Errorf("parse prometheus text: %w: %s has more than %d samples", ErrTooMany, w, maxQueues)
				}
				if t := bytes.TrimLeft(line, " \t"); t[0] == '#' {
					if f.heads < 2 {
						f.head = append(f.head, line...)
						f.heads++
					}
				} else {
					f.samples++
				}
				f.cur = append(f.cur, line...)
				if (f.samples >= chunkLines || len(f.cur) >= chunkBytes) && !flush(i) {
					return nil
				}
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	for i := range fams {
		if f := &fams[i]; f.samples > 0 || (!f.emitted && len(f.cur) > 0) {
			if !flush(i) {
				return nil
			}
		}
	}
	return nil
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
