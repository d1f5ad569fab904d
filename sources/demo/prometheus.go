package demo

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The rabbitmq_prometheus plugin of each broker node: /metrics (the node's
// gauges and node-local totals, aggregated) and /metrics/detailed with the
// families asked for (per-queue metrics of the queues the node hosts), in
// the classic text format (version 0.0.4), with the plugin's own HELP texts.
// A node that is down does not answer: its connection closes unanswered.

// promContentType is what the plugin answers the text format with.
const promContentType = "text/plain; version=0.0.4"

// promClusterID is rabbitmq_identity_info's rabbitmq_cluster_permanent_id.
const promClusterID = "rabbitmq-cluster-id-dEmO2015lAbS0812nOvAaa"

// promWriter writes metric families in the text format.
type promWriter struct{ b bytes.Buffer }

func (p *promWriter) family(name, typ, help string) {
	p.b.WriteString("# TYPE " + name + " " + typ + "\n# HELP " + name + " " + help + "\n")
}

// sample writes name{labels} value; labels come in name, value pairs.
func (p *promWriter) sample(name string, v float64, labels ...string) {
	p.b.WriteString(name)
	if len(labels) > 0 {
		p.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b.WriteByte(',')
			}
			p.b.WriteString(labels[i] + `="` + promEscape(labels[i+1]) + `"`)
		}
		p.b.WriteByte('}')
	}
	p.b.WriteByte(' ')
	p.b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	p.b.WriteByte('\n')
}

// gauge writes a family of one unlabelled sample.
func (p *promWriter) gauge(name, typ, help string, v float64) {
	p.family(name, typ, help)
	p.sample(name, v)
}

var promEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func promEscape(s string) string { return promEscaper.Replace(s) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// prometheusHandler serves node i's rabbitmq_prometheus endpoint.
func (c *Cloud) prometheusHandler(i int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := c.sc.broker(c.now())
		if i == sickNode && st.down {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close() // the node is stopped: nothing answers
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var p promWriter
		switch strings.TrimSuffix(r.URL.Path, "/") {
		// The plugin reads the node's own metrics tables, not the
		// management stats database a sick broker slows to a crawl: it
		// stays quick, which is why stacktop prefers it.
		case "/metrics":
			c.maybeSlow(r, 0.05)
			c.nodeMetrics(&p, st, i)
		case "/metrics/detailed":
			c.maybeSlow(r, 0.05)
			q := r.URL.Query()
			c.detailedMetrics(&p, st, i, q["family"], q["vhost"])
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", promContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(p.b.Bytes())
	})
}

// identity writes rabbitmq_build_info and rabbitmq_identity_info of node i.
func identity(p *promWriter, i int) {
	p.family("rabbitmq_build_info", "untyped", "RabbitMQ & Erlang/OTP version info")
	p.sample("rabbitmq_build_info", 1, "rabbitmq_version", rabbitVersion, "prometheus_plugin_version", rabbitVersion,
		"prometheus_client_version", "4.9.1", "erlang_version", erlangVersion)
	p.family("rabbitmq_identity_info", "untyped", "RabbitMQ node & cluster identity info")
	p.sample("rabbitmq_identity_info", 1, "rabbitmq_node", brokerNodes[i], "rabbitmq_cluster", brokerNodes[0],
		"rabbitmq_cluster_permanent_id", promClusterID)
}

// nodeMetrics is node i's /metrics: its gauges, and totals over the queues
// and connections it hosts.
func (c *Cloud) nodeMetrics(p *promWriter, st *brokerState, i int) {
	g := c.sc.nodeGauges(st, i)
	var queues, consumers int
	var ready, unacked int64
	for j := range st.queues {
		q := &st.queues[j]
		if q.node != i {
			continue
		}
		queues++
		consumers += q.consumers
		ready += q.ready
		unacked += q.unacked
	}
	conns := float64(st.connections[i])
	p.gauge("rabbitmq_connections", "gauge", "Connections currently open", conns)
	p.gauge("rabbitmq_channels", "gauge", "Channels currently open", conns)
	p.gauge("rabbitmq_consumers", "gauge", "Consumers currently connected", float64(consumers))
	p.gauge("rabbitmq_queues", "gauge", "Queues available", float64(queues))
	p.gauge("rabbitmq_queue_messages_ready", "gauge", "Messages ready to be delivered to consumers", float64(ready))
	p.gauge("rabbitmq_queue_messages_unacked", "gauge", "Messages delivered to consumers but not yet acknowledged", float64(unacked))
	p.gauge("rabbitmq_process_open_fds", "gauge", "Open file descriptors", float64(g.fdUsed))
	p.gauge("rabbitmq_process_max_fds", "gauge", "Open file descriptors limit", 65536)
	p.gauge("rabbitmq_process_open_tcp_sockets", "gauge", "Open TCP sockets", float64(g.socketsUsed))
	p.gauge("rabbitmq_process_max_tcp_sockets", "gauge", "Open TCP sockets limit", 58893)
	p.gauge("rabbitmq_process_resident_memory_bytes", "gauge", "Memory used in bytes", float64(g.memUsed))
	p.gauge("rabbitmq_resident_memory_limit_bytes", "gauge", "Memory high watermark in bytes", memLimit)
	p.gauge("rabbitmq_disk_space_available_bytes", "gauge", "Disk space available in bytes", float64(84793958400-int64(i)*1e9))
	p.gauge("rabbitmq_disk_space_available_limit_bytes", "gauge", "Free disk space low watermark in bytes", 50000000)
	p.gauge("rabbitmq_erlang_processes_used", "gauge", "Erlang processes used", float64(g.procUsed))
	p.gauge("rabbitmq_erlang_processes_limit", "gauge", "Erlang processes limit", 1048576)
	p.gauge("rabbitmq_erlang_scheduler_run_queue", "gauge", "Erlang scheduler run queue", float64(g.runQueue))
	p.gauge("rabbitmq_erlang_uptime_seconds", "gauge", "Node uptime", float64(g.uptime.Milliseconds())/1000)
	p.gauge("rabbitmq_alarms_file_descriptor_limit", "untyped", "is 1 if file descriptor limit alarm is in effect", 0)
	p.gauge("rabbitmq_alarms_free_disk_space_watermark", "untyped", "is 1 if free disk space watermark alarm is in effect", 0)
	p.gauge("rabbitmq_alarms_memory_used_watermark", "untyped", "is 1 if VM memory watermark alarm is in effect", b2f(g.alarm))
	identity(p, i)
}

// detailedMetrics is node i's /metrics/detailed for the families asked for
// (queue_coarse_metrics, queue_consumer_count; none asked means none, as
// the plugin does) and, when vhosts are given, only their queues.
func (c *Cloud) detailedMetrics(p *promWriter, st *brokerState, i int, families, vhosts []string) {
	if len(vhosts) > 0 && !slices.Contains(vhosts, c.cfg.VHost) {
		identity(p, i)
		return
	}
	var mine []*queue
	for j := range st.queues {
		if q := &st.queues[j]; q.node == i {
			mine = append(mine, q)
		}
	}
	each := func(name, typ, help string, v func(q *queue) float64) {
		p.family(name, typ, help)
		for _, q := range mine {
			p.sample(name, v(q), "vhost", c.cfg.VHost, "queue", q.name)
		}
	}
	if slices.Contains(families, "queue_coarse_metrics") {
		each("rabbitmq_detailed_queue_messages_ready", "gauge", "Messages ready to be delivered to consumers",
			func(q *queue) float64 { return float64(q.ready) })
		each("rabbitmq_detailed_queue_messages_unacked", "gauge", "Messages delivered to consumers but not yet acknowledged",
			func(q *queue) float64 { return float64(q.unacked) })
		each("rabbitmq_detailed_queue_messages", "gauge", "Sum of ready and unacknowledged messages - total queue depth",
			func(q *queue) float64 { return float64(q.messages()) })
		each("rabbitmq_detailed_queue_process_reductions_total", "counter", "Total number of queue process reductions",
			func(q *queue) float64 { return float64(7630 + q.published*310) })
	}
	if slices.Contains(families, "queue_consumer_count") {
		each("rabbitmq_detailed_queue_consumers", "gauge", "Consumers on a queue",
			func(q *queue) float64 { return float64(q.consumers) })
	}
	identity(p, i)
}
