package rpcping

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock"
)

// session is one AMQP connection to the broker with a channel that
// publishes pings and consumes their replies from stacktop's own reply
// queue (exclusive and auto-delete: it goes away with the connection).
// A session never recovers: when the connection or channel closes, done is
// closed, every call waiting on it fails at once, and the Source dials a new
// session.
type session struct {
	conn     *amqp.Connection
	ch       *amqp.Channel
	addr     string // host:port of the broker
	exchange string
	replyQ   string
	redact   func(string) string

	mu      sync.Mutex
	waiting map[string]chan outcome // by _msg_id
	closed  bool
	reason  string // why the session ended

	done    chan struct{}
	blocked atomic.Pointer[string] // the broker's reason while it blocks publishers, nil otherwise

	undecodable atomic.Int64 // replies that were not oslo replies
	late        atomic.Int64 // replies to no waiting call (after its timeout)
}

// outcome is what ends a call other than a timeout.
type outcome struct {
	reply    reply
	returned string // the broker returned the call unroutable: its reply text
}

// dialConfig is what dialing a session needs.
type dialConfig struct {
	transport Transport
	index     int // which broker of the transport
	exchange  string
	timeout   time.Duration // dial and handshake
	tls       *tls.Config
}

// dial connects to one broker, checks the control exchange exists, declares
// the reply queue and starts consuming it.
func dial(dc dialConfig) (*session, error) {
	b := dc.transport.Brokers[dc.index]
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("stacktop rpcping")
	cfg := amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: b.Username, Password: b.Password}},
		Vhost:      dc.transport.VHost,
		Heartbeat:  10 * time.Second,
		Properties: props,
		Dial:       amqp.DefaultDial(dc.timeout),
	}
	if dc.transport.TLS {
		if dc.tls != nil {
			cfg.TLSClientConfig = dc.tls.Clone()
		} else {
			cfg.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	conn, err := amqp.DialConfig(dc.transport.brokerURL(dc.index), cfg)
	if err != nil {
		return nil, err
	}
	s := &session{
		conn: conn, addr: b.Addr(), exchange: dc.exchange,
		replyQ:  "reply_" + newID(),
		redact:  dc.transport.redact,
		waiting: map[string]chan outcome{},
		done:    make(chan struct{}),
	}
	fail := func(what string, err error) (*session, error) {
		_ = conn.CloseDeadline(time.Now().Add(dc.timeout))
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// A passive declare fails (and closes its channel) when the exchange is
	// missing: a wrong vhost or control_exchange would otherwise only show
	// as every ping timing out.
	check, err := conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if err := check.ExchangeDeclarePassive(dc.exchange, "topic", false, false, false, false, nil); err != nil {
		return fail(fmt.Sprintf("control exchange %q in vhost %q (is this Nova's transport_url?)", dc.exchange, dc.transport.VHost), err)
	}
	_ = check.Close()

	s.ch, err = conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if _, err := s.ch.QueueDeclare(s.replyQ, false, true, true, false, nil); err != nil {
		return fail("declare reply queue", err)
	}
	deliveries, err := s.ch.Consume(s.replyQ, "", true, true, false, false, nil)
	if err != nil {
		return fail("consume reply queue", err)
	}

	// amqp091 delivers notifications synchronously from its reader: every
	// channel below is drained until the library closes it, so a
	// notification can never stall the connection.
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := s.ch.NotifyClose(make(chan *amqp.Error, 1))
	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	returns := s.ch.NotifyReturn(make(chan amqp.Return, 16))
	go func() {
		for d := range deliveries {
			s.deliver(d.Body)
		}
	}()
	go func() {
		for r := range returns {
			s.returned(r)
		}
	}()
	go func() {
		for b := range blocks {
			if b.Active {
				reason := b.Reason
				s.blocked.Store(&reason)
			} else {
				s.blocked.Store(nil)
			}
		}
	}()
	go func() {
		var e *amqp.Error
		var ok bool
		select {
		case e, ok = <-connClosed:
		case e, ok = <-chClosed:
		}
		reason := "closed"
		if ok && e != nil {
			reason = e.Error()
		}
		s.close(reason, dc.timeout)
	}()
	return s, nil
}

// close ends the session once: waiting calls fail, the connection closes.
func (s *session) close(reason string, timeout time.Duration) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed, s.reason = true, s.redact(reason)
	s.mu.Unlock()
	close(s.done)
	go func() { _ = s.conn.CloseDeadline(time.Now().Add(timeout)) }()
}

func (s *session) closeReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// blockedReason is the broker's reason while it blocks publishers, "" otherwise.
func (s *session) blockedReason() string {
	if r := s.blocked.Load(); r != nil {
		if *r == "" {
			return "resource alarm"
		}
		return *r
	}
	return ""
}

// deliver hands a reply to the call waiting for it.
func (s *session) deliver(body []byte) {
	r, err := decodeReply(body)
	if err != nil {
		s.undecodable.Add(1)
		return
	}
	if !r.Ending {
		return // a call-monitor heartbeat: the final reply follows
	}
	s.mu.Lock()
	w, ok := s.waiting[r.MsgID]
	s.mu.Unlock()
	if !ok {
		s.late.Add(1)
		return
	}
	select {
	case w <- outcome{reply: r}:
	default:
	}
}

// returned fails the call the broker could not route (mandatory publish).
func (s *session) returned(r amqp.Return) {
	id := requestMsgID(r.Body)
	s.mu.Lock()
	w, ok := s.waiting[id]
	s.mu.Unlock()
	if !ok {
		return
	}
	text := r.ReplyText
	if text == "" {
		text = strconv.Itoa(int(r.ReplyCode))
	}
	select {
	case w <- outcome{returned: text}:
	default:
	}
}

// requestMsgID is the _msg_id of an (enveloped) request body, "" if none.
func requestMsgID(body []byte) string {
	inner, err := unwrap(body)
	if err != nil {
		return ""
	}
	var m struct {
		MsgID string `json:"_msg_id"`
	}
	_ = json.Unmarshal(inner, &m)
	return m.MsgID
}

// call pings t and waits for the reply, the timeout, the session's end or
// ctx. p comes with Kind, Binary, Host and At set; call sets the rest.
func (s *session) call(ctx context.Context, clk clock.Clock, t Target, timeout time.Duration, p sources.Probe) sources.Probe {
	msgID := newID()
	w := make(chan outcome, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		p.Result, p.Detail = sources.ProbeError, "not connected: "+s.reason
		return p
	}
	s.waiting[msgID] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, msgID)
		s.mu.Unlock()
	}()

	body, err := encodeRequest(msgID, s.replyQ, newID())
	if err != nil {
		p.Result, p.Detail = sources.ProbeError, "encode: "+err.Error()
		return p
	}
	msg := publishing(body, timeout)
	start := clk.Now()
	timer := clk.NewTimer(timeout)
	defer timer.Stop()
	// Publish runs apart: a write to a broker that stopped reading (blocked
	// by an alarm) must not hold the call past its timeout. Closing the
	// session's connection ends such a write.
	published := make(chan error, 1)
	go func() {
		published <- s.ch.PublishWithContext(ctx, s.exchange, t.RoutingKey(), true, false, msg)
	}()
	for {
		select {
		case err := <-published:
			if err != nil {
				p.RTT = clock.Since(clk, start)
				p.Result, p.Detail = sources.ProbeError, "publish: "+s.redact(err.Error())
				return p
			}
			published = nil
		case o := <-w:
			p.RTT = clock.Since(clk, start)
			if o.returned != "" {
				p.Result = sources.ProbeError
				p.Detail = unroutable(t, s.exchange, o.returned)
				return p
			}
			p.Result, p.Detail = sources.ProbeOK, o.reply.describe()
			return p
		case <-timer.C():
			p.RTT = timeout
			if b := s.blockedReason(); b != "" {
				p.Result, p.Detail = sources.ProbeBlocked, "broker blocks publishers: "+b
				return p
			}
			p.Result, p.Detail = sources.ProbeTimeout, "no reply in "+timeout.String()
			return p
		case <-s.done:
			p.RTT = clock.Since(clk, start)
			p.Result, p.Detail = sources.ProbeError, "connection lost: "+s.closeReason()
			return p
		case <-ctx.Done():
			p.RTT = clock.Since(clk, start)
			p.Result, p.Detail = sources.ProbeError, "stopped"
			return p
		}
	}
}

// unroutable is the detail of a ping the broker returned: no queue is bound
// to the service's routing key.
func unroutable(t Target, exchange, text string) string {
	return fmt.Sprintf("unroutable: no queue bound to %s on exchange %s (%s)", t.RoutingKey(), exchange, text)
}

// publishing wraps a request body in the properties oslo.messaging (kombu)
// gives a call: JSON in UTF-8, persistent, priority 0, empty headers, and an
// expiration of the call's timeout, so that a ping nobody consumes (its
// service is down) leaves the service's queue when its caller gave up.
func publishing(body []byte, timeout time.Duration) amqp.Publishing {
	return amqp.Publishing{
		Headers:         amqp.Table{},
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Priority:        0,
		Expiration:      strconv.FormatInt(max(timeout.Milliseconds(), 1), 10),
		Body:            body,
	}
}
