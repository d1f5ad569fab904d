package rabbitmq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/poll"
)

// prometheusRetryAfter is how long a prometheus endpoint that failed
// entirely is left alone, so that a firewalled port 15692 does not cost a
// request timeout on every poll.
const prometheusRetryAfter = time.Minute

// Source polls one RabbitMQ cluster. It is safe to call SetFocus from any
// goroutine while Run is running; Run and Poll must not run concurrently.
type Source struct {
	cfg     Config
	mgmt    *url.URL // without userinfo
	prom    []*url.URL
	queueRE *regexp.Regexp
	client  *http.Client
	user    string
	pass    string
	focus   atomic.Pointer[queueKey]
	now     func() time.Time

	// Owned by the polling goroutine.
	promRetryAt time.Time
	promLastErr string
	earlyDone   bool        // the first poll has sent its nodes and overview ahead of its queues
	index       *queueIndex // the prometheus path's queues, from poll to poll
}

// New validates cfg and returns a Source; it makes no request.
func New(cfg Config) (*Source, error) {
	cfg = cfg.withDefaults()
	mgmt, user, pass, prom, re, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	client, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	cfg.Password = "" // kept once, in s.pass
	s := &Source{cfg: cfg, mgmt: mgmt, prom: prom, queueRE: re, client: client, user: user, pass: pass, now: time.Now}
	s.index = newQueueIndex(s.keep)
	return s, nil
}

// Name is sources.NameRabbitMQ.
func (s *Source) Name() string { return sources.NameRabbitMQ }

// Target is the management URL without userinfo, as shown in Health.Target.
func (s *Source) Target() string { return s.mgmt.String() }

// Run polls every Config.Interval until ctx is cancelled.
func (s *Source) Run(ctx context.Context, emit func(sources.Batch)) error {
	return poll.Run(ctx, poll.Options{Name: s.Name(), Interval: s.cfg.Interval}, s.Poll, emit)
}

// SetFocus names the queue open in a drill-down: each poll then also fetches
// its message rates (one more request) into Queue.Rates. An empty name clears
// it; an empty vhost means "/". Safe to call from any goroutine.
func (s *Source) SetFocus(vhost, name string) {
	if name == "" {
		s.focus.Store(nil)
		return
	}
	if vhost == "" {
		vhost = "/"
	}
	s.focus.Store(&queueKey{vhost: vhost, name: name})
}

// Poll makes one poll cycle; Run calls it on schedule, a test may call it once.
//
// Requests, in order, all GET:
//   - /api/nodes and /api/overview; a running node without mem_used means the
//     management metrics collector is off;
//   - queues, one request for all of them: /api/queues?columns=… when the
//     collector is on and no prometheus URL is configured (or in management
//     mode); otherwise, in auto or prometheus mode,
//     /metrics on each prometheus endpoint and then, if those
//     cover every running node, /metrics/detailed?family=queue_coarse_metrics&
//     family=queue_consumer_count on each; otherwise /api/queues with
//     enable_queue_totals, which has depths but no consumers;
//   - /api/queues/{vhost}/{name} for the focused queue, if it is listed and the
//     collector is on (with it off the broker keeps no rates).
//
// Under Run, the first poll sends the nodes and overview in a batch of their
// own as soon as they are read (sendEarly); the two batches' Requests add up
// to the poll's.
func (s *Source) Poll(ctx context.Context) (b sources.Batch, err error) {
	f := &fetcher{client: s.client, user: s.user, pass: s.pass, timeout: s.cfg.Timeout, limit: s.cfg.MaxResponseBytes}
	b.Health.Target = s.Target()
	defer func() {
		b.Health.Requests = f.n - f.early // an early batch reported its own
		if err != nil {
			err = sources.Fail(kindOf(err), s.redact(err))
		}
		b.Health.Detail = s.redactString(b.Health.Detail)
	}()

	var (
		nodes    []sources.Node
		metrics  bool
		nameless int
		ov       sources.Overview
	)
	err = f.get(ctx, s.api("/api/nodes", "columns="+nodeColumns), true, "application/json", f.docLimit(), func(r io.Reader) error {
		var err error
		nodes, metrics, nameless, err = decodeNodes(r)
		return err
	})
	if err != nil {
		return b, wrap("list nodes", err)
	}
	err = f.get(ctx, s.api("/api/overview", ""), true, "application/json", f.docLimit(), func(r io.Reader) error {
		var err error
		ov, err = decodeOverview(r)
		return err
	})
	if err != nil {
		return b, wrap("overview", err)
	}
	s.sendEarly(ctx, f, nodes, ov, metrics)

	var (
		queues []sources.Queue
		detail []string
	)
	usePrometheus := s.cfg.Mode == ModePrometheus || (s.cfg.Mode == ModeAuto && (!metrics || len(s.cfg.PrometheusURLs) > 0))
	if usePrometheus {
		queues, detail = s.pollPrometheus(ctx, f, nodes, &ov, metrics)
	} else if !metrics {
		detail = append(detail, "management API, metrics collector off: node gauges and consumers unknown")
	} else {
		detail = append(detail, "management API")
	}
	if queues == nil {
		queues, err = s.managementQueues(ctx, f, metrics)
		if err != nil {
			return b, wrap("list queues", err)
		}
		if ov.MessagesReady < 0 && s.cfg.VHost == "" && s.queueRE == nil {
			ov.MessagesReady, ov.MessagesUnacked = totals(queues)
		}
		sortQueues(queues) // the prometheus path's come sorted (queueIndex)
	}

	if nameless > 0 {
		detail = append(detail, fmt.Sprintf("invalid data: %d node(s) without a name dropped", nameless))
	}
	if fk := s.focus.Load(); fk != nil {
		if d := s.pollFocus(ctx, f, *fk, queues, metrics); d != "" {
			detail = append(detail, d)
		}
	}

	b.Overview = &ov
	b.Nodes = nodes
	b.Queues = queues
	if n := b.Clip(); n > 0 {
		detail = append(detail, fmt.Sprintf("%d over-long strings cut to %d bytes", n, sources.MaxName))
	}
	b.Health.Detail = strings.Join(detail, "; ")
	return b, nil
}

// sendEarly sends the first poll's nodes and overview (alarms, partitions,
// totals) as soon as they are read, ahead of a queue list that takes a
// large broker a second to build: the first screen shows the broker's
// health at once and the queues pane "no queue list yet" until it comes.
// Only with the metrics collector on, when the node list is complete
// without the prometheus endpoints; only once.
func (s *Source) sendEarly(ctx context.Context, f *fetcher, nodes []sources.Node, ov sources.Overview, metrics bool) {
	if s.earlyDone || !metrics {
		return
	}
	s.earlyDone = true
	b := sources.Batch{Nodes: slices.Clone(nodes), Overview: &ov}
	b.Health.Target = s.Target()
	b.Health.Detail = "management API: nodes and overview; queues being listed"
	b.Health.Requests = f.n
	b.Clip()
	if poll.Early(ctx, b) {
		f.early = f.n // the poll's own batch reports the requests after these
	}
}

// pollPrometheus fills node gauges and, when it can, the queue list from the
// prometheus endpoints. It returns nil queues when the management API must
// list them, and the notes for Health.Detail. It never fails the poll.
func (s *Source) pollPrometheus(ctx context.Context, f *fetcher, nodes []sources.Node, ov *sources.Overview, metrics bool) ([]sources.Queue, []string) {
	why := "prometheus"
	if s.cfg.Mode == ModeAuto && !metrics {
		why = "prometheus (management metrics collector off)"
	}
	// What falling back to the management API loses: nothing while its
	// metrics collector is on.
	unknown, consumersUnknown := "", ""
	if !metrics {
		unknown, consumersUnknown = "; node gauges and consumers unknown", ", consumers unknown"
	}
	if now := s.now(); now.Before(s.promRetryAt) {
		return nil, []string{fmt.Sprintf("management API; prometheus failed, retry in %v: %s%s",
			s.promRetryAt.Sub(now).Round(time.Second), s.promLastErr, unknown)}
	}

	var (
		answered []promNode
		urls     []*url.URL // of the endpoints that answered
		errs     []string
	)
	for _, pu := range s.prom {
		var pn promNode
		err := f.get(ctx, pu.JoinPath("/metrics").String(), false, promAccept, f.docLimit(), func(r io.Reader) error {
			var err error
			pn, err = parseNodeMetrics(r)
			return err
		})
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		answered = append(answered, pn)
		urls = append(urls, pu)
	}
	if len(answered) == 0 {
		s.promRetryAt = s.now().Add(prometheusRetryAfter)
		s.promLastErr = strings.Join(errs, "; ")
		return nil, []string{fmt.Sprintf("management API; prometheus failed: %s%s", s.promLastErr, unknown)}
	}
	s.promRetryAt, s.promLastErr = time.Time{}, ""
	ov.Via = "prometheus"

	// Match each answer to its node; a single node needs no identity.
	covered := 0
	running := 0
	for i := range nodes {
		if nodes[i].Running {
			running++
		}
		for _, pn := range answered {
			if pn.Name == nodes[i].Name || (pn.Name == "" && len(nodes) == 1 && len(answered) == 1) {
				mergeNode(&nodes[i], pn.Node)
				if nodes[i].Running {
					covered++
				}
				break
			}
		}
	}
	notes := []string{why}
	if len(errs) > 0 {
		notes = append(notes, "some prometheus endpoints failed: "+strings.Join(errs, "; "))
	}
	if covered < running {
		notes = append(notes, fmt.Sprintf("prometheus covers %d of %d running nodes (set a prometheus URL for each node); queues from management API%s", covered, running, consumersUnknown))
		return nil, notes
	}

	// Every running node answered: the node-local totals add up to the cluster's.
	var conns, chans, cons int
	var ready, unacked int64
	for _, pn := range answered {
		conns, chans, cons = addKnown(conns, pn.Connections), addKnown(chans, pn.Channels), addKnown(cons, pn.Consumers)
		ready, unacked = addKnown(ready, pn.Ready), addKnown(unacked, pn.Unacked)
	}
	ov.Connections, ov.Channels, ov.Consumers = conns, chans, cons
	ov.MessagesReady, ov.MessagesUnacked = ready, unacked

	// Queue metrics are node-local: ask every node that answered (a node
	// down has no live queues to report).
	s.index.begin()
	q := detailedQuery
	if s.cfg.VHost != "" {
		q += "&vhost=" + url.QueryEscape(s.cfg.VHost)
	}
	for _, pu := range urls {
		u := pu.JoinPath("/metrics/detailed")
		u.RawQuery = q
		err := f.get(ctx, u.String(), false, promAccept, f.limit, func(r io.Reader) error {
			return parseDetailedQueues(r, s.index)
		})
		if err != nil {
			notes = append(notes, "prometheus queue metrics failed, queues from management API"+consumersUnknown+": "+err.Error())
			return nil, notes
		}
	}
	return s.index.end(), notes
}

// managementQueues lists queues from the management API in one request.
// With the metrics collector off, the plain listing has no depths, so it asks
// for the queue totals the broker still keeps; consumers are then unknown.
func (s *Source) managementQueues(ctx context.Context, f *fetcher, metrics bool) ([]sources.Queue, error) {
	path := "/api/queues"
	if s.cfg.VHost != "" {
		path += "/" + url.PathEscape(s.cfg.VHost)
	}
	query := "columns=" + queueColumns
	if !metrics {
		query = "disable_stats=true&enable_queue_totals=true&" + query
	}
	var queues []sources.Queue
	err := f.get(ctx, s.api(path, query), true, "application/json", f.limit, func(r io.Reader) error {
		var err error
		queues, err = decodeQueues(r, s.keep)
		return err
	})
	return queues, err
}

// pollFocus fetches the focused queue's rates into its row. It returns a note
// for Health.Detail when it could not; it never fails the poll.
func (s *Source) pollFocus(ctx context.Context, f *fetcher, fk queueKey, queues []sources.Queue, metrics bool) string {
	i := slices.IndexFunc(queues, func(q sources.Queue) bool { return q.VHost == fk.vhost && q.Name == fk.name })
	if i < 0 {
		return ""
	}
	if !metrics {
		return "no rates for " + fk.vhost + "/" + fk.name + ": management metrics collector off"
	}
	path := "/api/queues/" + url.PathEscape(fk.vhost) + "/" + url.PathEscape(fk.name)
	var rates *sources.QueueRates
	err := f.get(ctx, s.api(path, "columns="+focusColumns), true, "application/json", f.docLimit(), func(r io.Reader) error {
		var err error
		rates, err = decodeQueueDetail(r)
		return err
	})
	if err != nil {
		return "rates for " + fk.vhost + "/" + fk.name + ": " + err.Error()
	}
	queues[i].Rates = rates
	return ""
}

// sortQueues orders queues by vhost, then name, as the state keeps them.
func sortQueues(queues []sources.Queue) {
	slices.SortFunc(queues, func(a, b sources.Queue) int {
		return cmp.Or(strings.Compare(a.VHost, b.VHost), strings.Compare(a.Name, b.Name))
	})
}

// keep applies the queue-name filter.
func (s *Source) keep(name string) bool { return s.queueRE == nil || s.queueRE.MatchString(name) }

// api is the management URL of an already-escaped path and query.
func (s *Source) api(escapedPath, rawQuery string) string {
	u := s.mgmt.String() + escapedPath
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}

// redact removes the password from an error, should anything have echoed it.
func (s *Source) redact(err error) error { return s.secrets().Error(err) }

func (s *Source) redactString(msg string) string { return s.secrets().Scrub(msg) }

// secrets are the password and the basic-auth header value carrying it.
func (s *Source) secrets() *redact.Secrets {
	sec := &redact.Secrets{}
	sec.AddBasicAuth(s.user, s.pass)
	return sec
}

// wrap adds what was being done, except to the credentials error, which is
// already the whole story.
func wrap(what string, err error) error {
	if errors.Is(err, ErrCredentials) {
		return ErrCredentials
	}
	return fmt.Errorf("rabbitmq: %s: %w", what, err)
}

// mergeNode overlays the gauges prometheus knows on a management node.
func mergeNode(n *sources.Node, p sources.Node) {
	set := func(dst *int64, v int64) {
		if v >= 0 {
			*dst = v
		}
	}
	set(&n.MemUsed, p.MemUsed)
	set(&n.MemLimit, p.MemLimit)
	set(&n.DiskFree, p.DiskFree)
	set(&n.DiskFreeLimit, p.DiskFreeLimit)
	set(&n.FDUsed, p.FDUsed)
	set(&n.FDTotal, p.FDTotal)
	set(&n.SocketsUsed, p.SocketsUsed)
	set(&n.SocketsTotal, p.SocketsTotal)
	set(&n.ProcUsed, p.ProcUsed)
	set(&n.ProcTotal, p.ProcTotal)
	n.MemAlarm = n.MemAlarm || p.MemAlarm
	n.DiskAlarm = n.DiskAlarm || p.DiskAlarm
	if p.Uptime >= 0 {
		n.Uptime = p.Uptime
	}
}

// addKnown adds v to an accumulator, turning it unknown (-1) when v is.
func addKnown[T int | int64](acc, v T) T {
	if acc < 0 || v < 0 {
		return -1
	}
	return acc + v
}

// totals adds the depths of a complete queue list; -1 if any is unknown.
func totals(queues []sources.Queue) (ready, unacked int64) {
	for _, q := range queues {
		ready, unacked = addKnown(ready, q.Ready), addKnown(unacked, q.Unacked)
	}
	return ready, unacked
}
