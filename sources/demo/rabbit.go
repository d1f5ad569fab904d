package demo

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// What the management API says about itself.
const (
	rabbitVersion = "3.10.8"
	erlangVersion = "25.2.3"
	xExpires      = 1800000 // oslo.messaging's reply and fanout queue expiry, ms
	maxPageSize   = 500
)

func rabbitError(w http.ResponseWriter, status int, errName, reason string) {
	writeJSON(w, status, map[string]string{"error": errName, "reason": reason})
}

func (c *Cloud) rabbitHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD, OPTIONS")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(c.cfg.RabbitUser)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(c.cfg.RabbitPassword)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
			rabbitError(w, http.StatusUnauthorized, "not_authorized", "Login failed")
			return
		}
		var parts []string
		for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
			s, err := url.PathUnescape(p)
			if err != nil {
				rabbitError(w, http.StatusBadRequest, "bad_request", "invalid path")
				return
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 || parts[0] != "api" {
			rabbitError(w, http.StatusNotFound, "Object Not Found", "Not Found")
			return
		}
		parts = parts[1:]
		q := r.URL.Query()
		cols := parseColumns(q.Get("columns"))
		route := ""
		if len(parts) > 0 {
			route = parts[0]
		}
		switch {
		case route == "overview" && len(parts) == 1:
			c.maybeSlow(r, 1.2)
			writeJSON(w, http.StatusOK, cols.project(c.rabbitOverview(c.sc.broker(c.now()))))
		case route == "nodes" && len(parts) == 1:
			c.maybeSlow(r, 1.2)
			st := c.sc.broker(c.now())
			out := make([]obj, len(brokerNodes))
			for i := range brokerNodes {
				out[i] = cols.project(c.rabbitNode(st, i, cols))
			}
			writeJSON(w, http.StatusOK, out)
		case route == "queues" && len(parts) <= 2:
			c.maybeSlow(r, 1.2)
			if len(parts) == 2 && parts[1] != c.cfg.VHost {
				if !c.vhostExists(parts[1]) {
					rabbitError(w, http.StatusNotFound, "Object Not Found", "Not Found")
					return
				}
				c.writeQueueList(w, q, cols, c.sc.broker(c.now()), false)
				return
			}
			c.writeQueueList(w, q, cols, c.sc.broker(c.now()), true)
		case route == "queues" && len(parts) == 3:
			c.maybeSlow(r, 1.2)
			st := c.sc.broker(c.now())
			if parts[1] == c.cfg.VHost {
				i := sort.Search(len(st.queues), func(i int) bool { return st.queues[i].name >= parts[2] })
				if i < len(st.queues) && st.queues[i].name == parts[2] {
					writeJSON(w, http.StatusOK, cols.project(c.rabbitQueue(st, &st.queues[i], queueDetail, cols)))
					return
				}
			}
			rabbitError(w, http.StatusNotFound, "Object Not Found", "Not Found")
		case route == "whoami" && len(parts) == 1:
			writeJSON(w, http.StatusOK, obj{{"name", c.cfg.RabbitUser}, {"tags", []string{"administrator"}}})
		case route == "vhosts" && len(parts) == 1:
			var out []obj
			for _, v := range []string{"/", c.cfg.VHost} {
				if len(out) == 1 && v == "/" {
					continue
				}
				out = append(out, obj{{"name", v}, {"description", ""}, {"tags", []string{}}, {"tracing", false}})
			}
			writeJSON(w, http.StatusOK, out)
		default:
			rabbitError(w, http.StatusNotFound, "Object Not Found", "Not Found")
		}
	})
}

func (c *Cloud) vhostExists(v string) bool { return v == "/" || v == c.cfg.VHost }

// maybeSlow delays an answer as the broker degrades, when Config.SlowAPIs is set.
func (c *Cloud) maybeSlow(r *http.Request, seconds float64) {
	if !c.cfg.SlowAPIs {
		return
	}
	if sick := c.sc.tl.brokerSick(c.sc.offset(c.now())); sick > 0 {
		sleepCtx(r.Context(), time.Duration(sick*seconds*float64(time.Second)))
	}
}

// queue rendering modes.
const (
	queueFull   = iota // /api/queues with the metrics collector on
	queueBasic         // disable_stats, or the collector off: no stats
	queueTotals        // disable_stats with enable_queue_totals: just the message counts
	queueDetail        // /api/queues/{vhost}/{name}
)

// writeQueueList answers a queue listing of st's queues, or an empty one
// when all is false (another vhost).
func (c *Cloud) writeQueueList(w http.ResponseWriter, q url.Values, cols columns, st *brokerState, all bool) {
	var queues []queue
	if all {
		queues = st.queues
	}
	mode := queueFull
	totals := q.Get("enable_queue_totals") == "true"
	if q.Get("disable_stats") == "true" || c.cfg.MetricsCollectorOff {
		mode = queueBasic
		if totals {
			mode = queueTotals
		}
	}
	if name := q.Get("name"); name != "" {
		var match func(string) bool
		if q.Get("use_regex") == "true" {
			re, err := regexp.Compile(name)
			if err != nil {
				rabbitError(w, http.StatusBadRequest, "bad_request", "invalid regex: "+err.Error())
				return
			}
			match = re.MatchString
		} else {
			match = func(s string) bool { return strings.Contains(s, name) }
		}
		var kept []queue
		for _, qu := range queues {
			if match(qu.name) {
				kept = append(kept, qu)
			}
		}
		queues = kept
	}
	if key := q.Get("sort"); key != "" || q.Get("sort_reverse") == "true" {
		queues = append([]queue(nil), queues...)
		less := queueLess(key)
		if q.Get("sort_reverse") == "true" {
			sort.SliceStable(queues, func(i, j int) bool { return less(&queues[j], &queues[i]) })
		} else {
			sort.SliceStable(queues, func(i, j int) bool { return less(&queues[i], &queues[j]) })
		}
	}
	render := func(qs []queue) []obj {
		out := make([]obj, len(qs))
		for i := range qs {
			out[i] = cols.project(c.rabbitQueue(st, &qs[i], mode, cols))
		}
		return out
	}
	if q.Get("page") == "" {
		writeJSON(w, http.StatusOK, render(queues))
		return
	}
	page, err1 := strconv.Atoi(q.Get("page"))
	size := 100
	var err2 error
	if s := q.Get("page_size"); s != "" {
		size, err2 = strconv.Atoi(s)
	}
	if err1 != nil || err2 != nil || page < 1 || size < 1 || size > maxPageSize {
		rabbitError(w, http.StatusBadRequest, "bad_request", "Invalid pagination parameters: page must be ≥ 1, page_size 1–500")
		return
	}
	pages := (len(queues) + size - 1) / size
	if page > max(pages, 1) {
		rabbitError(w, http.StatusBadRequest, "bad_request", "Page out of range, page: "+strconv.Itoa(page)+" page size: "+strconv.Itoa(size)+", len: "+strconv.Itoa(len(queues)))
		return
	}
	lo := min((page-1)*size, len(queues))
	hi := min(lo+size, len(queues))
	items := render(queues[lo:hi])
	writeJSON(w, http.StatusOK, obj{
		{"filtered_count", len(queues)}, {"item_count", len(items)}, {"items", items},
		{"page", page}, {"page_count", pages}, {"page_size", size}, {"total_count", len(queues)},
	})
}

func queueLess(key string) func(a, b *queue) bool {
	switch key {
	case "messages":
		return func(a, b *queue) bool { return a.messages() < b.messages() }
	case "messages_ready":
		return func(a, b *queue) bool { return a.ready < b.ready }
	case "messages_unacknowledged":
		return func(a, b *queue) bool { return a.unacked < b.unacked }
	case "consumers":
		return func(a, b *queue) bool { return a.consumers < b.consumers }
	case "message_stats.publish_details.rate":
		return func(a, b *queue) bool { return a.publish < b.publish }
	case "node":
		return func(a, b *queue) bool { return a.node < b.node }
	}
	return func(a, b *queue) bool { return a.name < b.name }
}

// rabbitQueue renders one queue; members cols does not want are not built.
func (c *Cloud) rabbitQueue(st *brokerState, q *queue, mode int, cols columns) obj {
	args := obj{}
	if q.expires {
		args = obj{{"x-expires", xExpires}}
	}
	o := make(obj, 0, 48)
	add := func(k string, v func() any) {
		if cols.wants(k) {
			o = append(o, field{k, v()})
		}
	}
	val := func(v any) func() any { return func() any { return v } }
	node := brokerNodes[q.node]
	if mode != queueFull && mode != queueDetail || q.down || c.cfg.MetricsCollectorOff {
		state := "running"
		switch {
		case q.down:
			state = "down"
		case c.cfg.MetricsCollectorOff && mode != queueTotals:
			state = "live"
		}
		add("arguments", val(args))
		add("auto_delete", val(false))
		add("durable", val(false))
		add("exclusive", val(false))
		if mode == queueTotals && !q.down {
			add("messages", val(q.messages()))
			add("messages_ready", val(q.ready))
			add("messages_unacknowledged", val(q.unacked))
		}
		add("name", val(q.name))
		add("node", val(node))
		add("state", val(state))
		add("type", val("classic"))
		add("vhost", val(c.cfg.VHost))
		return o
	}
	msgs := q.messages()
	bytesPer := int64(900)
	util := 0.0
	if q.consumers > 0 {
		util = round1(1 - 0.8*st.sick)
	}
	idle := q.publish == 0 && q.deliver == 0
	add("arguments", val(args))
	add("auto_delete", val(false))
	add("backing_queue_status", func() any {
		return obj{
			{"avg_ack_egress_rate", round1(q.ack)}, {"avg_ack_ingress_rate", round1(q.deliver)},
			{"avg_egress_rate", round1(q.deliver)}, {"avg_ingress_rate", round1(q.publish)},
			{"delta", []any{"delta", "undefined", 0, 0, "undefined"}},
			{"len", q.ready}, {"mode", "default"},
			{"next_deliver_seq_id", q.published - q.ready}, {"next_seq_id", q.published},
			{"q1", 0}, {"q2", 0}, {"q3", 0}, {"q4", q.ready},
			{"target_ram_count", "infinity"}, {"version", 1},
		}
	})
	add("consumer_capacity", val(util))
	add("consumer_utilisation", val(util))
	if mode == queueDetail {
		add("consumer_details", func() any { return c.consumerDetails(q) })
	}
	add("consumers", val(q.consumers))
	if mode == queueDetail {
		add("deliveries", val([]any{}))
	}
	add("durable", val(false))
	add("effective_policy_definition", val(obj{}))
	add("exclusive", val(false))
	add("exclusive_consumer_tag", val(nil))
	add("garbage_collection", func() any {
		return obj{
			{"fullsweep_after", 65535}, {"max_heap_size", 0}, {"min_bin_vheap_size", 46422},
			{"min_heap_size", 233}, {"minor_gcs", int64(q.published/7 + 1)},
		}
	})
	add("head_message_timestamp", val(nil))
	if idle {
		add("idle_since", func() any { return idleSince(st.upSince[q.node].Add(time.Duration(q.key%60000) * time.Millisecond)) })
	}
	if mode == queueDetail {
		add("incoming", val([]any{}))
	}
	add("memory", val(12056+msgs*bytesPer*2))
	add("message_bytes", val(msgs*bytesPer))
	add("message_bytes_paged_out", val(0))
	add("message_bytes_persistent", val(0))
	add("message_bytes_ram", val(msgs*bytesPer))
	add("message_bytes_ready", val(q.ready*bytesPer))
	add("message_bytes_unacknowledged", val(q.unacked*bytesPer))
	if q.publish > 0 || mode == queueDetail {
		add("message_stats", func() any { return messageStats(q) })
	}
	add("messages", val(msgs))
	add("messages_details", func() any { return rate(q.publish - q.ack) })
	add("messages_paged_out", val(0))
	add("messages_persistent", val(0))
	add("messages_ram", val(msgs))
	add("messages_ready", val(q.ready))
	add("messages_ready_details", func() any { return rate(q.publish - q.deliver) })
	add("messages_ready_ram", val(q.ready))
	add("messages_unacknowledged", val(q.unacked))
	add("messages_unacknowledged_details", func() any { return rate(q.deliver - q.ack) })
	add("messages_unacknowledged_ram", val(q.unacked))
	add("name", val(q.name))
	add("node", val(node))
	add("operator_policy", val(nil))
	add("policy", val(nil))
	add("recoverable_slaves", val(nil))
	add("reductions", val(7630+q.published*310))
	add("reductions_details", func() any { return rate(q.publish * 310) })
	add("single_active_consumer_tag", val(nil))
	add("state", val("running"))
	add("type", val("classic"))
	add("vhost", val(c.cfg.VHost))
	return o
}

// messageStats is a queue's message_stats: totals and rates.
func messageStats(q *queue) obj {
	pub := q.published
	del := int64(float64(pub) * ratio(q.deliver, q.publish))
	ack := int64(float64(pub) * ratio(q.ack, q.publish))
	return obj{
		{"ack", ack}, {"ack_details", rate(q.ack)},
		{"deliver", del}, {"deliver_details", rate(q.deliver)},
		{"deliver_get", del}, {"deliver_get_details", rate(q.deliver)},
		{"deliver_no_ack", 0}, {"deliver_no_ack_details", rate(0)},
		{"get", 0}, {"get_details", rate(0)},
		{"get_empty", 0}, {"get_empty_details", rate(0)},
		{"get_no_ack", 0}, {"get_no_ack_details", rate(0)},
		{"publish", pub}, {"publish_details", rate(q.publish)},
		{"redeliver", 0}, {"redeliver_details", rate(0)},
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 1
	}
	return min(a/b, 1)
}

func (c *Cloud) consumerDetails(q *queue) []obj {
	out := []obj{}
	for i := 0; i < q.consumers; i++ {
		port := 40000 + int(mix2(q.key, int64(i))%20000)
		conn := "10.64.20." + itoa(10+int(q.key%200)) + ":" + itoa(port) + " -> 10.64.20." + itoa(1+q.node) + ":5672"
		out = append(out, obj{
			{"arguments", obj{}},
			{"channel_details", obj{
				{"connection_name", conn}, {"name", conn + " (1)"}, {"node", brokerNodes[q.node]},
				{"number", 1}, {"peer_host", "10.64.20." + itoa(10+int(q.key%200))}, {"peer_port", port}, {"user", "nova"},
			}},
			{"ack_required", true}, {"active", true}, {"activity_status", "up"},
			{"consumer_tag", hex32(mix2(q.key, int64(i)+100), 0)[:32]},
			{"exclusive", false}, {"prefetch_count", 0},
			{"queue", obj{{"name", q.name}, {"vhost", c.cfg.VHost}}},
		})
	}
	return out
}

var exchangeTypes = []obj{
	{{"name", "direct"}, {"description", "AMQP direct exchange, as per the AMQP specification"}, {"enabled", true}},
	{{"name", "fanout"}, {"description", "AMQP fanout exchange, as per the AMQP specification"}, {"enabled", true}},
	{{"name", "headers"}, {"description", "AMQP headers exchange, as per the AMQP specification"}, {"enabled", true}},
	{{"name", "topic"}, {"description", "AMQP topic exchange, as per the AMQP specification"}, {"enabled", true}},
}

var retention = obj{{"global", []any{600, 3600, 28800, 86400}}, {"basic", []any{600, 3600}}, {"detailed", []any{600}}}

func (c *Cloud) rabbitOverview(st *brokerState) obj {
	node := brokerNodes[sickNode]
	if st.down {
		node = brokerNodes[1] // the management API answers from a surviving node
	}
	conns := st.connections[0] + st.connections[1] + st.connections[2]
	o := obj{
		{"management_version", rabbitVersion}, {"rates_mode", "basic"},
		{"sample_retention_policies", retention}, {"exchange_types", exchangeTypes},
		{"product_version", rabbitVersion}, {"product_name", "RabbitMQ"}, {"rabbitmq_version", rabbitVersion},
		{"cluster_name", brokerNodes[0]}, {"erlang_version", erlangVersion},
		{"erlang_full_version", "Erlang/OTP 25 [erts-13.1.5] [source] [64-bit] [smp:8:8] [ds:8:8:10] [async-threads:1] [jit:ns]"},
		{"release_series_support_status", "supported"},
		{"disable_stats", c.cfg.MetricsCollectorOff}, {"enable_queue_totals", false},
	}
	if c.cfg.MetricsCollectorOff {
		return append(o, field{"node", node}, field{"object_totals", obj{
			{"queues", len(st.queues)}, {"exchanges", 26}, {"connections", conns},
		}})
	}
	var ready, unacked int64
	var pub, del, ack float64
	for i := range st.queues {
		q := &st.queues[i]
		ready += q.ready
		unacked += q.unacked
		pub += q.publish
		del += q.deliver
		ack += q.ack
	}
	up := st.now.Sub(st.upSince[sickNode]).Seconds()
	count := func(r float64) int64 { return int64(r * up) }
	stat := func(name string, r float64) []field {
		return []field{{name, count(r)}, {name + "_details", rate(r)}}
	}
	var ms obj
	for _, s := range []struct {
		n string
		r float64
	}{
		{"ack", ack}, {"confirm", pub}, {"deliver", del}, {"deliver_get", del}, {"deliver_no_ack", 0},
		{"disk_reads", 0}, {"disk_writes", 0}, {"drop_unroutable", 0}, {"get", 0}, {"get_empty", 0},
		{"get_no_ack", 0}, {"publish", pub}, {"redeliver", 0.02 * st.sick * pub}, {"return_unroutable", 0},
	} {
		ms = append(ms, stat(s.n, s.r)...)
	}
	churn := 0.4 + 3*st.sick
	var cr obj
	for _, s := range []struct {
		n string
		r float64
	}{
		{"channel_closed", churn * 0.9}, {"channel_created", churn}, {"connection_closed", churn * 0.9},
		{"connection_created", churn}, {"queue_created", 0.1 * st.sick}, {"queue_declared", 0.2 + st.sick},
		{"queue_deleted", 0},
	} {
		cr = append(cr, stat(s.n, s.r)...)
	}
	o = append(o,
		field{"message_stats", ms},
		field{"churn_rates", cr},
		field{"queue_totals", obj{
			{"messages", ready + unacked}, {"messages_details", rate(pub - ack)},
			{"messages_ready", ready}, {"messages_ready_details", rate(pub - del)},
			{"messages_unacknowledged", unacked}, {"messages_unacknowledged_details", rate(del - ack)},
		}},
		field{"object_totals", obj{
			{"channels", conns}, {"connections", conns}, {"consumers", st.consumers},
			{"exchanges", 25 + len(c.sc.procs)}, {"queues", len(st.queues)},
		}},
		field{"statistics_db_event_queue", int64(st.sick * 4000)},
		field{"node", node},
	)
	var listeners []obj
	for _, n := range brokerNodes {
		listeners = append(listeners,
			obj{{"node", n}, {"protocol", "amqp"}, {"ip_address", "::"}, {"port", 5672}, {"socket_opts", obj{{"backlog", 128}, {"nodelay", true}, {"linger", []any{true, 0}}, {"exit_on_close", false}}}},
			obj{{"node", n}, {"protocol", "clustering"}, {"ip_address", "::"}, {"port", 25672}, {"socket_opts", []any{}}},
			obj{{"node", n}, {"protocol", "http"}, {"ip_address", "::"}, {"port", 15672}, {"socket_opts", obj{{"cowboy_opts", obj{{"sendfile", false}}}, {"port", 15672}}}},
		)
	}
	o = append(o, field{"listeners", listeners}, field{"contexts", []obj{
		{{"ssl_opts", []any{}}, {"node", node}, {"description", "RabbitMQ Management"}, {"path", "/"}, {"cowboy_opts", "[{sendfile,false}]"}, {"port", "15672"}},
	}})
	return o
}

// rabbitNode renders node i; members cols does not want are not built.
func (c *Cloud) rabbitNode(st *brokerState, i int, cols columns) obj {
	name := brokerNodes[i]
	if c.cfg.MetricsCollectorOff || (i == sickNode && st.down) {
		return obj{{"name", name}, {"type", "disc"}, {"running", !(i == sickNode && st.down)}}
	}
	g := c.sc.nodeGauges(st, i)
	up := g.uptime.Seconds()
	broker := c.sc.procs[0]
	for _, p := range c.sc.procs {
		if p.name == "rabbitmq-server" && p.node == i {
			broker = p
		}
	}
	_, gen := c.sc.started(broker, st.now)
	var links []obj
	for j, peer := range brokerNodes {
		if j == i || (j == sickNode && st.down) {
			continue
		}
		b := int64(up * 52000)
		links = append(links, obj{
			{"stats", obj{{"send_bytes", b}, {"send_bytes_details", rate(52000)}, {"recv_bytes", b}, {"recv_bytes_details", rate(52000)}}},
			{"name", peer}, {"peer_addr", "10.64.20." + itoa(1+j)}, {"peer_port", 25672},
			{"sock_addr", "10.64.20." + itoa(1+i)}, {"sock_port", 40000 + j}, {"send_bytes", b}, {"recv_bytes", b},
		})
	}
	o := obj{
		{"partitions", []string{}}, {"os_pid", strconv.Itoa(pid(broker, gen))},
		{"fd_total", 65536}, {"sockets_total", 58893}, {"mem_limit", memLimit}, {"mem_alarm", g.alarm},
		{"disk_free_limit", 50000000}, {"disk_free_alarm", false}, {"proc_total", 1048576},
		{"rates_mode", "basic"}, {"uptime", g.uptime.Milliseconds()}, {"run_queue", g.runQueue}, {"processors", 8},
		{"exchange_types", exchangeTypes},
		{"auth_mechanisms", []obj{
			{{"name", "AMQPLAIN"}, {"description", "QPid AMQPLAIN mechanism"}, {"enabled", true}},
			{{"name", "PLAIN"}, {"description", "SASL PLAIN authentication mechanism"}, {"enabled", true}},
		}},
		{"applications", []obj{
			{{"name", "rabbit"}, {"description", "RabbitMQ"}, {"version", rabbitVersion}},
			{{"name", "rabbitmq_management"}, {"description", "RabbitMQ Management Console"}, {"version", rabbitVersion}},
			{{"name", "rabbitmq_management_agent"}, {"description", "RabbitMQ Management Agent"}, {"version", rabbitVersion}},
		}},
		{"contexts", []obj{{{"description", "RabbitMQ Management"}, {"path", "/"}, {"cowboy_opts", "[{sendfile,false}]"}, {"port", "15672"}}}},
		{"log_files", []string{"/var/log/rabbitmq/" + name + ".log", "/var/log/rabbitmq/" + name + "_upgrade.log"}},
		{"db_dir", "/var/lib/rabbitmq/mnesia/" + name},
		{"config_files", []string{"/etc/rabbitmq/rabbitmq.conf"}},
		{"net_ticktime", 60}, {"enabled_plugins", []string{"rabbitmq_management"}},
		{"mem_calculation_strategy", "rss"},
		{"ra_open_file_metrics", obj{{"ra_log_wal", 1}, {"ra_log_segment_writer", 0}}},
		{"name", name}, {"type", "disc"}, {"running", true},
		{"mem_used", g.memUsed}, {"mem_used_details", rate(float64(g.memUsed) * 0.001 * st.sick)},
		{"fd_used", g.fdUsed}, {"fd_used_details", rate(0)},
		{"sockets_used", g.socketsUsed}, {"sockets_used_details", rate(0)},
		{"proc_used", g.procUsed}, {"proc_used_details", rate(0)},
		{"disk_free", 84793958400 - int64(i)*1e9}, {"disk_free_details", rate(0)},
	}
	for _, s := range []struct {
		n string
		r float64
	}{
		{"gc_num", 397 * (1 + 3*st.sick)}, {"gc_bytes_reclaimed", 6914824 * (1 + 3*st.sick)},
		{"context_switches", 2110 * (1 + 2*st.sick)},
		{"io_read_count", 0}, {"io_read_bytes", 0}, {"io_read_avg_time", 0}, {"io_write_count", 0},
		{"io_write_bytes", 0}, {"io_write_avg_time", 0}, {"io_sync_count", 0}, {"io_sync_avg_time", 0},
		{"io_seek_count", 0}, {"io_seek_avg_time", 0}, {"io_reopen_count", 0},
		{"mnesia_ram_tx_count", 5.8 * (1 + st.sick)}, {"mnesia_disk_tx_count", 0},
		{"msg_store_read_count", 0}, {"msg_store_write_count", 0},
		{"queue_index_write_count", 0}, {"queue_index_read_count", 0},
		{"connection_created", 0.4 + st.sick}, {"connection_closed", 0.4 + st.sick},
		{"channel_created", 0.4 + st.sick}, {"channel_closed", 0.4 + st.sick},
		{"queue_declared", 0.2 + st.sick}, {"queue_created", 0.1 * st.sick}, {"queue_deleted", 0},
	} {
		if cols.wants(s.n) || cols.wants(s.n+"_details") {
			o = append(o, field{s.n, int64(s.r * up)}, field{s.n + "_details", rate(s.r)})
		}
	}
	o = append(o, field{"cluster_links", links}, field{"metrics_gc_queue_length", obj{
		{"connection_closed", 0}, {"channel_closed", 0}, {"consumer_deleted", 0}, {"exchange_deleted", 0},
		{"queue_deleted", 0}, {"vhost_deleted", 0}, {"node_node_deleted", 0}, {"channel_consumer_deleted", 0},
	}})
	return o
}
