// Package rpcping pings the Nova services themselves through the cloud's
// real RabbitMQ, the way their own RPC travels: an oslo.messaging call of
// the no-op method oslo_rpc_server_ping to "<topic>.<host>" on the control
// exchange, answered on a reply queue of stacktop's own.
//
// Any reply proves the path broker → service process → broker → stacktop:
// "pong" from a service with rpc_ping_enabled = true, a RemoteError
// UnsupportedVersion at once from one without. No reply within the timeout
// is exactly the MessagingTimeout Nova's own calls hit when the broker is
// sick. Seen beside Nova's own up/down state, a single host that stops
// answering is the host; every service timing out at once is the broker.
//
// stacktop only reads: the ping is the only method ever called, its
// messages expire after the timeout (so a dead service's queue does not
// fill with pings), and the reply queue is exclusive to stacktop's
// connection.
//
// amqp091-go does not reconnect by itself: the Source watches the
// connection and channel (NotifyClose), dials again with backoff and jitter
// (trying the transport URL's hosts in order), marks pings blocked while
// the broker blocks publishers (NotifyBlocked), and never blocks its
// schedule on the broker.
package rpcping

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock"
	"github.com/stacktop/stacktop/sources/heartbeat"
	"github.com/stacktop/stacktop/sources/poll"
)

// Name is the source's name in batches and health.
const Name = sources.NameRPCPing

// Defaults.
const (
	DefaultInterval    = 15 * time.Second // between two pings of one service
	DefaultTimeout     = 5 * time.Second  // a ping without a reply by then is a timeout
	DefaultConcurrency = 4                // pings in flight at most
	DefaultExchange    = "nova"           // Nova's control_exchange
)

const (
	reconnectBase = 500 * time.Millisecond
	reconnectMax  = 10 * time.Second
	flushEvery    = time.Second     // batch probes that end close together
	idleRecheck   = 2 * time.Second // how soon to ask for targets again when there are none
)

// Config configures a Source.
type Config struct {
	// TransportURL is nova.conf's transport_url:
	// rabbit://user:password@host:5672[,user:password@host2:5672]/vhost.
	TransportURL string
	// Exchange is the control exchange (nova.conf control_exchange); default "nova".
	Exchange string
	// Targets returns the services to ping; called once per round. The
	// dashboard derives them from Nova's service list.
	Targets func() []Target
	// Interval between two pings of one service; default 15s. The pings of
	// a round are spread evenly over it.
	Interval time.Duration
	// Timeout of one ping (and of dialing the broker); default 5s.
	Timeout time.Duration
	// Concurrency bounds the pings in flight; default 4. When every slot
	// waits on a timeout, the round stretches rather than piling more
	// messages on a sick broker.
	Concurrency int
	// TLS for amqps:// (or ?ssl=1); nil verifies with the system's roots.
	TLS *tls.Config
	// Clock paces the schedule, the flushes and the pings' timeouts; nil
	// for the machine's clock. Tests pass a hand-driven one.
	Clock clock.Clock
	// Simulator, when set, stands in for the broker (the demo): no
	// connection is made and every ping goes to it.
	Simulator Simulator
}

// Source pings Nova services over RPC. Create it with New.
type Source struct {
	cfg Config
	tr  Transport

	// ping sends one ping and returns its probe; tests replace it and
	// clear broker, and then no connection is made.
	ping   func(ctx context.Context, t Target) sources.Probe
	broker bool

	simBad atomic.Int64 // simulated replies that were not oslo replies

	mu         sync.Mutex
	sess       *session            // nil while not connected
	connErr    string              // why not connected, redacted
	connKind   sources.FailureKind // connErr's kind
	simBlocked string              // simulated: the broker blocks publishers, its reason
	attempts   int                 // failed dials since the last success
	targets    int                 // services in the current round
	latency    time.Duration
}

// New validates cfg and returns a Source; it does not connect yet.
func New(cfg Config) (*Source, error) {
	if cfg.TransportURL == "" {
		return nil, errors.New("rpcping: no transport URL")
	}
	tr, err := ParseTransportURL(cfg.TransportURL)
	if err != nil {
		return nil, fmt.Errorf("rpcping: %w", err)
	}
	if cfg.Targets == nil {
		return nil, errors.New("rpcping: no Targets function")
	}
	if cfg.Exchange == "" {
		cfg.Exchange = DefaultExchange
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	cfg.Clock = clock.Or(cfg.Clock)
	s := &Source{cfg: cfg, tr: tr, connErr: "connecting", broker: true}
	s.ping = s.pingBroker
	if cfg.Simulator != nil {
		s.broker, s.connErr = false, ""
		s.ping = s.pingSimulated
	}
	return s, nil
}

// Name implements sources.Source.
func (s *Source) Name() string { return Name }

// Target is the broker (or brokers) pinged through, without credentials.
func (s *Source) Target() string { return s.tr.String() }

// Run pings until ctx is cancelled, emitting the probes that ended about
// once a second, and a health batch at least twice per interval.
func (s *Source) Run(ctx context.Context, emit func(sources.Batch)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	results := make(chan sources.Probe, 4*s.cfg.Concurrency)
	// The first round waits for the first dial, so that its pings do not
	// fail merely because the connection is still being made.
	dialed := make(chan struct{})
	if s.broker {
		wg.Go(func() { s.maintain(ctx, dialed) })
	} else {
		close(dialed)
	}
	wg.Go(func() {
		select {
		case <-dialed:
			s.schedule(ctx, results)
		case <-ctx.Done():
		}
	})

	tick := s.cfg.Clock.NewTicker(flushEvery)
	defer tick.Stop()
	var pending []sources.Probe
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-results:
			pending = append(pending, p)
		case now := <-tick.C():
			select {
			case <-dialed:
			default:
				continue // no health to tell before the first dial ends
			}
			if len(pending) == 0 && now.Sub(last) < s.cfg.Interval/2 {
				continue
			}
			emit(s.batch(pending))
			pending, last = nil, now
		}
	}
}

// Ping pings t once, as Run's schedule does, and returns its probe. Run
// calls it on schedule; a test may call it alone.
func (s *Source) Ping(ctx context.Context, t Target) sources.Probe { return s.ping(ctx, t) }

// Batch is the batch Run emits with probes: them and the connection's health.
func (s *Source) Batch(probes []sources.Probe) sources.Batch { return s.batch(probes) }

// batch is one emitted batch: the probes that ended and the connection's health.
func (s *Source) batch(probes []sources.Probe) sources.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range probes {
		if p.Result == sources.ProbeOK {
			s.latency = p.RTT
		}
	}
	h := sources.Health{
		OK:       true,
		Interval: s.cfg.Interval,
		Target:   s.tr.String(),
		Latency:  s.latency,
	}
	var detail []string
	if s.cfg.Simulator != nil {
		h.Target += " (simulated)"
		switch {
		case s.connErr != "":
			h.OK, h.Err, h.Kind = false, s.connErr, s.connKind
		case s.simBlocked != "":
			h.OK, h.Err, h.Kind = false, "broker blocks publishers: "+s.simBlocked, sources.FailBlocked
		}
		if n := s.simBad.Load(); n > 0 {
			detail = append(detail, fmt.Sprintf("%d bad replies dropped", n))
		}
	} else if s.sess != nil {
		h.Target = s.tr.url(s.sess.addr)
		if b := s.sess.blockedReason(); b != "" {
			h.OK, h.Err, h.Kind = false, "broker blocks publishers: "+b, sources.FailBlocked
		}
		if n := s.sess.undecodable.Load(); n > 0 {
			detail = append(detail, fmt.Sprintf("%d bad replies dropped", n))
		}
	} else if s.broker {
		h.OK, h.Err, h.Kind = false, s.connErr, s.connKind
		if s.attempts > 1 {
			h.Err += fmt.Sprintf(" (%d attempts)", s.attempts)
		}
	}
	detail = append([]string{fmt.Sprintf("exchange %s, %d services every %s", s.cfg.Exchange, s.targets, s.cfg.Interval)}, detail...)
	h.Detail = strings.Join(detail, ", ")
	return sources.Batch{Source: Name, At: s.cfg.Clock.Now(), Health: h, Probes: probes}
}

// schedule runs rounds: each asks for the targets and pings each once,
// spread evenly over the interval, with at most Concurrency in flight and
// never two pings of one service at once.
func (s *Source) schedule(ctx context.Context, out chan<- sources.Probe) {
	sem := make(chan struct{}, s.cfg.Concurrency)
	var mu sync.Mutex
	inFlight := map[Target]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		start := s.cfg.Clock.Now()
		ts := normalise(s.cfg.Targets())
		s.mu.Lock()
		s.targets = len(ts)
		s.mu.Unlock()
		if len(ts) == 0 {
			if !s.sleepUntil(ctx, start.Add(min(s.cfg.Interval, idleRecheck))) {
				return
			}
			continue
		}
		step := s.cfg.Interval / time.Duration(len(ts))
		for i, t := range ts {
			if !s.sleepUntil(ctx, start.Add(time.Duration(i)*step)) {
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			mu.Lock()
			busy := inFlight[t]
			inFlight[t] = true
			mu.Unlock()
			if busy {
				<-sem
				continue
			}
			wg.Go(func() {
				p := s.ping(ctx, t)
				// The ping is over; its slot stays taken until the probe is
				// handed over, so a stalled consumer cannot pile pings up.
				mu.Lock()
				delete(inFlight, t)
				mu.Unlock()
				select {
				case out <- p:
				case <-ctx.Done():
				}
				<-sem
			})
		}
		if !s.sleepUntil(ctx, start.Add(s.cfg.Interval)) {
			return
		}
	}
}

// sleepUntil waits until t on the source's clock or ctx's end; false when ctx ended.
func (s *Source) sleepUntil(ctx context.Context, t time.Time) bool {
	d := t.Sub(s.cfg.Clock.Now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := s.cfg.Clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C():
		return true
	}
}

// pingBroker pings t through the current session.
func (s *Source) pingBroker(ctx context.Context, t Target) sources.Probe {
	p := sources.Probe{Kind: sources.ProbeRPC, Binary: t.Binary, Host: t.Host, At: s.cfg.Clock.Now()}
	s.mu.Lock()
	sess, why := s.sess, s.connErr
	s.mu.Unlock()
	if sess == nil {
		p.Result, p.Detail = sources.ProbeError, "not connected: "+why
		return p
	}
	if b := sess.blockedReason(); b != "" {
		p.Result, p.Detail = sources.ProbeBlocked, "broker blocks publishers: "+b
		return p
	}
	return sess.call(ctx, s.cfg.Clock, t, s.cfg.Timeout, p)
}

// maintain keeps a session open until ctx ends: it dials (the transport's
// hosts in order, the first that answers), waits for the session to end,
// and dials again, backing off with jitter while dials fail.
func (s *Source) maintain(ctx context.Context, dialed chan<- struct{}) {
	failures := 0
	first := true
	for ctx.Err() == nil {
		sess, err := s.connect()
		if first {
			close(dialed)
			first = false
		}
		if err != nil {
			failures++
			s.mu.Lock()
			s.connErr, s.connKind, s.attempts = err.Error(), sources.KindOf(err), failures
			s.mu.Unlock()
			if !s.sleepUntil(ctx, s.cfg.Clock.Now().Add(poll.Delay(reconnectBase, reconnectMax, failures, rand.Float64()))) {
				return
			}
			continue
		}
		up := s.cfg.Clock.Now()
		s.mu.Lock()
		s.sess, s.connErr, s.attempts = sess, "", 0
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			sess.close("stacktop stopped", s.cfg.Timeout)
		case <-sess.done:
		}
		s.mu.Lock()
		s.sess, s.connErr, s.connKind = nil, "connection lost: "+sess.closeReason(), sources.FailReset
		s.mu.Unlock()
		// A session that dies at once counts as a failed dial, so a broker
		// that accepts and then drops us is not hammered.
		if clock.Since(s.cfg.Clock, up) < reconnectMax {
			failures++
		} else {
			failures = 0
		}
		if failures > 0 && !s.sleepUntil(ctx, s.cfg.Clock.Now().Add(poll.Delay(reconnectBase, reconnectMax, failures, rand.Float64()))) {
			return
		}
	}
}

// connect dials the transport's brokers in order and returns the first session.
func (s *Source) connect() (*session, error) {
	var errs []string
	kind := sources.FailUnknown
	for i := range s.tr.Brokers {
		sess, err := dial(dialConfig{transport: s.tr, index: i, exchange: s.cfg.Exchange, timeout: s.cfg.Timeout, tls: s.cfg.TLS})
		if err == nil {
			return sess, nil
		}
		errs = append(errs, s.tr.Brokers[i].Addr()+": "+s.tr.redact(err.Error()))
		kind = heartbeat.AMQPKind(err) // the last broker's: all failed
	}
	return nil, sources.Fail(kind, errors.New(strings.Join(errs, "; ")))
}
