package rabbitmq

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Columns asked of the management API: only the fields used, so that the
// broker encodes (and we decode) as little as possible.
const (
	nodeColumns  = "name,running,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,disk_free_alarm,fd_used,fd_total,sockets_used,sockets_total,proc_used,proc_total,partitions,uptime"
	queueColumns = "name,vhost,messages,messages_ready,messages_unacknowledged,consumers"
	focusColumns = queueColumns + ",message_stats"
)

// overviewJSON is the part of /api/overview used. Pointers are nil when absent
// (the metrics collector off drops queue_totals and some object_totals).
type overviewJSON struct {
	ClusterName   string `json:"cluster_name"`
	RabbitVersion string `json:"rabbitmq_version"`
	ErlangVersion string `json:"erlang_version"`
	ObjectTotals  struct {
		Queues      *int `json:"queues"`
		Connections *int `json:"connections"`
		Channels    *int `json:"channels"`
		Consumers   *int `json:"consumers"`
	} `json:"object_totals"`
	QueueTotals *struct {
		Ready   *int64 `json:"messages_ready"`
		Unacked *int64 `json:"messages_unacknowledged"`
	} `json:"queue_totals"`
}

// nodeJSON is one element of /api/nodes. Gauges are nil when absent or null.
type nodeJSON struct {
	Name          string   `json:"name"`
	Running       bool     `json:"running"`
	MemUsed       *int64   `json:"mem_used"`
	MemLimit      *int64   `json:"mem_limit"`
	MemAlarm      bool     `json:"mem_alarm"`
	DiskFree      *int64   `json:"disk_free"`
	DiskFreeLimit *int64   `json:"disk_free_limit"`
	DiskAlarm     bool     `json:"disk_free_alarm"`
	FDUsed        *int64   `json:"fd_used"`
	FDTotal       *int64   `json:"fd_total"`
	SocketsUsed   *int64   `json:"sockets_used"`
	SocketsTotal  *int64   `json:"sockets_total"`
	ProcUsed      *int64   `json:"proc_used"`
	ProcTotal     *int64   `json:"proc_total"`
	Partitions    []string `json:"partitions"`
	Uptime        *int64   `json:"uptime"` // milliseconds
}

// queueJSON is one element of /api/queues with the columns used.
type queueJSON struct {
	Name      string `json:"name"`
	VHost     string `json:"vhost"`
	Messages  *int64 `json:"messages"`
	Ready     *int64 `json:"messages_ready"`
	Unacked   *int64 `json:"messages_unacknowledged"`
	Consumers *int   `json:"consumers"`
}

// queueDetailJSON is /api/queues/{vhost}/{name} with the rates used.
type queueDetailJSON struct {
	queueJSON
	MessageStats *struct {
		Publish    rateJSON  `json:"publish_details"`
		DeliverGet *rateJSON `json:"deliver_get_details"`
		Deliver    rateJSON  `json:"deliver_details"`
		Ack        rateJSON  `json:"ack_details"`
	} `json:"message_stats"`
}

type rateJSON struct {
	Rate float64 `json:"rate"`
}

// decodeOverview decodes /api/overview; unknown counts are -1.
func decodeOverview(r io.Reader) (sources.Overview, error) {
	var o overviewJSON
	if err := json.NewDecoder(r).Decode(&o); err != nil {
		return sources.Overview{}, jsonError(err)
	}
	ov := sources.Overview{
		ClusterName:     o.ClusterName,
		RabbitVersion:   o.RabbitVersion,
		ErlangVersion:   o.ErlangVersion,
		Queues:          intOr(o.ObjectTotals.Queues, -1),
		Connections:     intOr(o.ObjectTotals.Connections, -1),
		Channels:        intOr(o.ObjectTotals.Channels, -1),
		Consumers:       intOr(o.ObjectTotals.Consumers, -1),
		MessagesReady:   -1,
		MessagesUnacked: -1,
		Via:             "management",
	}
	if o.QueueTotals != nil {
		ov.MessagesReady = int64Or(o.QueueTotals.Ready, -1)
		ov.MessagesUnacked = int64Or(o.QueueTotals.Unacked, -1)
	}
	return ov, nil
}

// decodeNodes decodes /api/nodes. metrics reports whether any running node
// carries gauges: false means the management metrics collector is off.
// A node without a name is invalid data: it is dropped and counted.
func decodeNodes(r io.Reader) (nodes []sources.Node, metrics bool, nameless int, err error) {
	var raw []nodeJSON
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, false, 0, jsonError(err)
	}
	nodes = make([]sources.Node, 0, len(raw))
	for _, n := range raw {
		if n.Name == "" {
			nameless++
			continue
		}
		if n.Running && n.MemUsed != nil {
			metrics = true
		}
		uptime := time.Duration(-1)
		if n.Uptime != nil {
			uptime = time.Duration(*n.Uptime) * time.Millisecond
		}
		nodes = append(nodes, sources.Node{
			Name:          n.Name,
			Running:       n.Running,
			MemUsed:       int64Or(n.MemUsed, -1),
			MemLimit:      int64Or(n.MemLimit, -1),
			MemAlarm:      n.MemAlarm,
			DiskFree:      int64Or(n.DiskFree, -1),
			DiskFreeLimit: int64Or(n.DiskFreeLimit, -1),
			DiskAlarm:     n.DiskAlarm,
			FDUsed:        int64Or(n.FDUsed, -1),
			FDTotal:       int64Or(n.FDTotal, -1),
			SocketsUsed:   int64Or(n.SocketsUsed, -1),
			SocketsTotal:  int64Or(n.SocketsTotal, -1),
			ProcUsed:      int64Or(n.ProcUsed, -1),
			ProcTotal:     int64Or(n.ProcTotal, -1),
			Partitions:    n.Partitions,
			Uptime:        uptime,
		})
	}
	return nodes, metrics, nameless, nil
}

// decodeQueues streams a JSON array of queues, one element at a time, and
// appends those keep accepts. Absent depths and consumers are -1.
//
// One entry may not exceed maxQueueEntry bytes: json.Decoder holds a whole
// entry (and grows its buffer to fit it), so without this bound one
// 250 MB queue name inside the list limit would cost three times that.
func decodeQueues(r io.Reader, keep func(name string) bool) ([]sources.Queue, error) {
	g := &entryGuard{r: r}
	dec := json.NewDecoder(g)
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("decode: want a JSON array of queues, got %v", tok)
	}
	out := make([]sources.Queue, 0, 256)
	vhosts := map[string]string{} // one string per vhost, not one per queue
	var row queueJSON
	for dec.More() {
		row = queueJSON{}
		if err := dec.Decode(&row); err != nil {
			return nil, fmt.Errorf("queue %d: %w", len(out)+1, jsonError(err))
		}
		g.entryEnd = dec.InputOffset()
		if keep != nil && !keep(row.Name) {
			continue
		}
		if len(out) == maxQueues {
			return nil, fmt.Errorf("decode: %w: more than %d queues", ErrTooMany, maxQueues)
		}
		vh, ok := vhosts[row.VHost]
		if !ok {
			vh = sources.Bound(strings.Clone(row.VHost), sources.MaxName)
			vhosts[row.VHost] = vh
		}
		out = append(out, sources.Queue{
			VHost:     vh,
			Name:      sources.Bound(row.Name, sources.MaxName), // cut and counted by Batch.Clip
			Messages:  int64Or(row.Messages, -1),
			Ready:     int64Or(row.Ready, -1),
			Unacked:   int64Or(row.Unacked, -1),
			Consumers: intOr(row.Consumers, -1),
		})
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, jsonError(err)
	}
	return out, nil
}

// maxQueues is MaxQueues; tests lower it.
var maxQueues = MaxQueues

// maxQueueEntry is the longest queue entry of a list: one is about 150
// bytes, under 2 KiB with 255-byte names escaped.
const maxQueueEntry = 64 << 10

// errEntryTooLong is a queue entry over maxQueueEntry.
var errEntryTooLong = fmt.Errorf("a queue entry is longer than %d KiB", maxQueueEntry>>10)

// entryGuard fails a read once more than maxQueueEntry bytes have been read
// past the end of the last entry decoded (entryEnd).
type entryGuard struct {
	r              io.Reader
	read, entryEnd int64
}

func (g *entryGuard) Read(p []byte) (int, error) {
	if g.read-g.entryEnd > maxQueueEntry {
		return 0, errEntryTooLong
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

// decodeQueueDetail decodes one queue's document. rates is nil when the
// broker keeps no message stats (metrics collector off).
func decodeQueueDetail(r io.Reader) (*sources.QueueRates, error) {
	var q queueDetailJSON
	if err := json.NewDecoder(r).Decode(&q); err != nil {
		return nil, jsonError(err)
	}
	if q.MessageStats == nil {
		// An idle queue has no message_stats yet: its rates are zero.
		return &sources.QueueRates{}, nil
	}
	ms := q.MessageStats
	deliver := ms.Deliver.Rate
	if ms.DeliverGet != nil {
		deliver = ms.DeliverGet.Rate
	}
	return &sources.QueueRates{Publish: ms.Publish.Rate, Deliver: deliver, Ack: ms.Ack.Rate}, nil
}

// jsonError makes a decode failure say what happened in operator terms.
func jsonError(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("decode: JSON ends early (response truncated?): %w", io.ErrUnexpectedEOF)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("decode: invalid JSON at byte %d: %w", se.Offset, err)
	}
	return fmt.Errorf("decode: %w", err)
}

func int64Or(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
