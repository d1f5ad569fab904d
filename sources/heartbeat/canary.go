package heartbeat

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock"
)

// canary sends a message through the broker to itself the way an RPC call
// goes: a request to a queue that a responder consumes, the responder's
// reply to the caller's reply queue. The round trip crosses the broker
// twice, like an oslo.messaging call; no reply within the timeout is the
// MessagingTimeout of a sick broker.
type canary struct {
	cfg     SourceConfig
	conn    ConnConfig
	id      string
	record  func(sources.Probe)
	replies chan canaryReply
	seq     uint64

	mu      sync.Mutex
	cur     *canarySession
	lastErr string
}

type canaryReply struct {
	corr string
	at   time.Time
}

// canarySession is the live connection's state, guarded by canary.mu.
type canarySession struct {
	conn           *amqp.Connection
	ch             *amqp.Channel // the caller's channel
	request, reply string        // queue names
	blockedSince   time.Time     // zero unless the broker blocked the connection
	blockedReason  string
}

func newCanary(cfg SourceConfig, id string, record func(sources.Probe)) *canary {
	cfg.Clock = clock.Or(cfg.Clock)
	conn := cfg.Conn
	if cfg.CanaryVHost != "" {
		conn.VHost = cfg.CanaryVHost
	}
	conn.Name = "stacktop dashboard (canary)"
	return &canary{cfg: cfg, conn: conn, id: id, record: record, replies: make(chan canaryReply, 16)}
}

func (c *canary) run(ctx context.Context) {
	l := &link{
		cfg: c.conn,
		onDown: func(err error, attempt int) {
			c.mu.Lock()
			c.lastErr = err.Error()
			c.mu.Unlock()
			if attempt <= 1 || attempt%30 == 0 {
				c.cfg.Logf("canary: %v (attempt %d)", err, attempt)
			}
		},
		serve: c.serve,
		clk:   c.cfg.Clock,
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.run(ctx) }()
	defer wg.Wait()

	t := c.cfg.Clock.NewTicker(c.cfg.CanaryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if p, ok := c.probe(ctx); ok {
			c.record(p)
		}
	}
}

// probe makes one round trip; it returns within the timeout whatever the broker does.
func (c *canary) probe(ctx context.Context) (sources.Probe, bool) {
	timeout := c.cfg.CanaryTimeout
	clk := c.cfg.Clock
	sent := clk.Now()
	p := sources.Probe{Kind: sources.ProbeCanary, At: sent}
	c.mu.Lock()
	s := c.cur
	var blockedSince time.Time
	var reason string
	if s != nil {
		blockedSince, reason = s.blockedSince, s.blockedReason
	}
	lastErr := c.lastErr
	c.mu.Unlock()
	switch {
	case s == nil:
		p.Result = sources.ProbeError
		p.Detail = "not connected"
		if lastErr != "" {
			p.Detail += ": " + lastErr
		}
		return p, true
	case !blockedSince.IsZero():
		return blockedProbe(p, clock.Since(clk, blockedSince), reason, timeout), true
	}
	for drained := false; !drained; { // replies to earlier, timed-out probes
		select {
		case <-c.replies:
		default:
			drained = true
		}
	}
	c.seq++
	corr := c.id + "." + strconv.FormatUint(c.seq, 10)
	_, err := publishWithin(timeout, func() (*amqp.DeferredConfirmation, error) {
		return nil, s.ch.Publish("", s.request, false, false, amqp.Publishing{
			ContentType:   "text/plain",
			DeliveryMode:  amqp.Transient,
			CorrelationId: corr,
			ReplyTo:       s.reply,
			Expiration:    strconv.FormatInt(timeout.Milliseconds(), 10),
			Timestamp:     sent,
			Body:          []byte("stacktop canary " + corr),
		})
	})
	if err != nil {
		if err == errStuck {
			closeConn(s.conn) // unsticks the write; the link reconnects
		}
		p.Result, p.Detail, p.RTT = sources.ProbeError, "publish: "+err.Error(), clock.Since(clk, sent)
		return c.maybeBlocked(p, timeout), true
	}
	wait := clk.NewTimer(timeout - clock.Since(clk, sent))
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return p, false
		case r := <-c.replies:
			if r.corr != corr {
				continue
			}
			p.Result, p.RTT = sources.ProbeOK, r.at.Sub(sent)
			return p, true
		case <-wait.C():
			p.Result, p.RTT = sources.ProbeTimeout, clock.Since(clk, sent)
			p.Detail = fmt.Sprintf("no reply within %s", timeout)
			return c.maybeBlocked(p, timeout), true
		}
	}
}

// maybeBlocked turns a failed probe into a blocked one when the broker
// blocked the connection meanwhile: the alarm is the reason.
func (c *canary) maybeBlocked(p sources.Probe, timeout time.Duration) sources.Probe {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && !c.cur.blockedSince.IsZero() {
		return blockedProbe(p, clock.Since(c.cfg.Clock, c.cur.blockedSince), c.cur.blockedReason, timeout)
	}
	return p
}

// blockedProbe is p failed because the broker has blocked the connection
// for blocked (its RTT, within 1 ms..timeout).
func blockedProbe(p sources.Probe, blocked time.Duration, reason string, timeout time.Duration) sources.Probe {
	p.Result = sources.ProbeBlocked
	p.RTT = min(max(blocked, time.Millisecond), timeout)
	p.Detail = "connection.blocked"
	if reason != "" {
		p.Detail += ": " + reason
	}
	return p
}

// serve runs the responder and the reply consumer on one connection.
func (c *canary) serve(ctx context.Context, sess *session) error {
	s := &canarySession{
		conn:    sess.conn,
		request: "stacktop.canary." + c.id + ".request",
		reply:   "stacktop.canary." + c.id + ".reply",
	}
	var err error
	if s.ch, err = sess.conn.Channel(); err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	srv, err := sess.conn.Channel() // the responder's, like another process's
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	for _, q := range []string{s.request, s.reply} {
		if _, err := s.ch.QueueDeclare(q, false, true, true, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	requests, err := srv.ConsumeWithContext(ctx, s.request, "", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", s.request, err)
	}
	replies, err := s.ch.ConsumeWithContext(ctx, s.reply, "", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", s.reply, err)
	}
	chClosed := s.ch.NotifyClose(make(chan *amqp.Error, 1))
	srvClosed := srv.NotifyClose(make(chan *amqp.Error, 1))
	c.mu.Lock()
	c.cur, c.lastErr = s, ""
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-sess.closed:
			return closeErr(e, "connection")
		case e := <-chClosed:
			return closeErr(e, "channel")
		case e := <-srvClosed:
			return closeErr(e, "channel")
		case b := <-sess.blocked:
			c.mu.Lock()
			if b.Active {
				if s.blockedSince.IsZero() {
					s.blockedSince = c.cfg.Clock.Now()
				}
				s.blockedReason = b.Reason
			} else {
				s.blockedSince, s.blockedReason = time.Time{}, ""
			}
			c.mu.Unlock()
		case d, ok := <-requests:
			if !ok {
				return fmt.Errorf("canary responder cancelled")
			}
			if d.ReplyTo == "" {
				continue
			}
			_, err := publishWithin(c.cfg.CanaryTimeout, func() (*amqp.DeferredConfirmation, error) {
				return nil, srv.Publish("", d.ReplyTo, false, false, amqp.Publishing{
					ContentType:   "text/plain",
					DeliveryMode:  amqp.Transient,
					CorrelationId: d.CorrelationId,
					Expiration:    d.Expiration,
					Body:          []byte("pong"),
				})
			})
			if err != nil {
				return fmt.Errorf("canary reply: %w", err)
			}
		case d, ok := <-replies:
			if !ok {
				return fmt.Errorf("canary reply consumer cancelled")
			}
			select {
			case c.replies <- canaryReply{corr: d.CorrelationId, at: c.cfg.Clock.Now()}:
			default: // nobody is waiting: a late reply
			}
		}
	}
}
