package heartbeat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock"
)

// Defaults of the dashboard side.
const (
	DefaultFlush          = time.Second
	DefaultCanaryInterval = 5 * time.Second
	DefaultCanaryTimeout  = 5 * time.Second
	// maxBuffered bounds the heartbeats held between two batches; beyond it
	// (a dashboard stalled for a long time) heartbeats are dropped and counted.
	maxBuffered = 200_000
	// maxPerHost bounds one host's heartbeats in one batch: an agent sends
	// at most ten a second (its shortest interval is 100 ms). Past it, a
	// newer heartbeat replaces the host's last one in the batch, so that a
	// flood under one name costs one slot, not the batch.
	maxPerHost = 16
	// maxHosts bounds the host names the consumer accepts in its lifetime:
	// a sender spraying made-up names must not grow the state without end.
	maxHosts = 50_000
	// queueMaxLength and queueMaxBytes bound the dashboard's queue on the
	// broker: the oldest go first (drop-head), so a flood delays the other
	// hosts' heartbeats by at most this much backlog, never without end.
	queueMaxLength = 20_000
	queueMaxBytes  = 32 << 20
	// prefetch bounds the deliveries the broker sends before an ack, and so
	// the messages the client library holds in memory: at most prefetch
	// times the broker's max_message_size. ackEvery acks them in groups.
	prefetch = 64
	ackEvery = 16
	// ackIdle acks a group left short when the deliveries pause.
	ackIdle = 200 * time.Millisecond
	// backlogEvery is how often the consumer asks the broker for its queue's
	// depth; at backlogLimit messages waiting, the dashboard is behind (a
	// flood, or too slow a machine) and the queue drops the oldest, everyone's.
	backlogEvery = 500 * time.Millisecond
	backlogLimit = 1000
)

// SourceConfig configures the dashboard's heartbeat consumer and canary.
type SourceConfig struct {
	Conn ConnConfig // where the agents publish (the heartbeat exchange's vhost)
	// CanaryVHost is where the canary runs: Nova's vhost, so that it crosses
	// what Nova's RPC crosses. Default: Conn's vhost.
	CanaryVHost    string
	CanaryInterval time.Duration // default 5 s; negative disables the canary
	CanaryTimeout  time.Duration // default 5 s, at most CanaryInterval
	Flush          time.Duration // one batch per Flush (default 1 s)
	Logf           func(format string, args ...any)
	// Clock stamps heartbeats and batches and paces the flushes, the canary
	// and reconnects; nil for the machine's clock. Tests pass a hand-driven one.
	Clock clock.Clock
}

// Source consumes heartbeats and runs the canary; it is the dashboard's
// sources.NameHeartbeat source. Both keep their own connection (a
// publishing connection is the one the broker blocks in an alarm; the
// consumer's must keep draining) and reconnect by themselves.
type Source struct {
	cfg SourceConfig
	id  string // makes this dashboard's queue names unique

	mu       sync.Mutex
	buf      []sources.Heartbeat
	probes   []sources.Probe
	up       bool
	lastErr  string
	lastKind sources.FailureKind // lastErr's kind
	invalid  uint64              // malformed or oversized messages dropped
	lastBad  string              // why the last one was dropped
	overflow uint64              // dropped because the dashboard did not keep up
	limited  uint64              // replaced in a batch: over maxPerHost from one host
	lastLim  string              // the host of the last one
	flood    burst               // this batch's hosts over maxPerHost whose heartbeats were sent as fast
	held     burst               // … whose heartbeats were sent at their interval (by their clock) and came at once
	backlog  int                 // messages waiting in the queue at the last look
	maxIv    time.Duration       // the longest agent interval accepted (at most a minute)
	behind   string              // why the feed could not vouch for silence, while it holds
	behindTo time.Time           // until when it holds
	tooMany  uint64              // dropped: a new host name past maxHosts
	inBatch  map[string]hostSlot
	newest   map[string]rawHeartbeat // per host over maxPerHost: the newest, decoded at batch time
	known    map[string]struct{}
	received uint64
	connects int
	exchNote string
}

// hostSlot is a host's place in the current batch.
type hostSlot struct {
	first, last int  // index in buf of its oldest and newest heartbeat
	n           int  // heartbeats of it in buf
	held        bool // over maxPerHost, but sent at its interval: held back on the way (heldBack)
}

// burst counts a batch's heartbeats over maxPerHost of one kind and names
// the last host.
type burst struct {
	n    uint64
	host string
	span time.Duration // how long the host took to send its first maxPerHost (held only)
}

// heldBack says whether a host's heartbeats in a batch, n of them from
// first to last, were sent at the host's interval, at least half of it
// apart on average, and so came at once because something held them on
// the way (the broker's flow control, a consumer stalled), not because the
// host sent them at once. A flood, a looping agent or a replay sends them
// faster: only that is named a flood. Either way the batch is not proof
// of silence.
func heldBack(first, last sources.Heartbeat, n int) bool {
	iv := max(last.Interval, minInterval)
	return n > 1 && last.Seq > first.Seq && last.SentAt.Sub(first.SentAt) >= time.Duration(n-1)*iv/2
}

// rawHeartbeat is a delivery kept undecoded until the batch is made.
type rawHeartbeat struct {
	body []byte
	at   time.Time
}

// NewSource checks the configuration.
func NewSource(cfg SourceConfig) (*Source, error) {
	if err := cfg.Conn.Validate(); err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	if cfg.Flush <= 0 {
		cfg.Flush = DefaultFlush
	}
	if cfg.CanaryInterval == 0 {
		cfg.CanaryInterval = DefaultCanaryInterval
	}
	if cfg.CanaryTimeout <= 0 {
		cfg.CanaryTimeout = DefaultCanaryTimeout
	}
	if cfg.CanaryInterval > 0 {
		cfg.CanaryTimeout = min(cfg.CanaryTimeout, cfg.CanaryInterval)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cfg.Clock = clock.Or(cfg.Clock)
	var r [6]byte
	_, _ = rand.Read(r[:])
	host, _ := os.Hostname()
	host = strings.Map(func(c rune) rune {
		if c == '.' || c == ' ' {
			return '-'
		}
		return c
	}, host)
	return &Source{cfg: cfg, id: fmt.Sprintf("%s.%d.%s", host, os.Getpid(), hex.EncodeToString(r[:]))}, nil
}

// Name is sources.NameHeartbeat.
func (s *Source) Name() string { return sources.NameHeartbeat }

// QueueName is the dashboard's exclusive queue bound to the exchange.
func (s *Source) QueueName() string { return "stacktop.dashboard." + s.id }

// Run consumes and probes until ctx is cancelled, emitting one batch per Flush.
func (s *Source) Run(ctx context.Context, emit func(sources.Batch)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	consumer := &link{
		cfg: s.cfg.Conn,
		onUp: func() {
			s.mu.Lock()
			s.connects++
			s.mu.Unlock()
		},
		onDown: func(err error, attempt int) {
			s.mu.Lock()
			s.up, s.lastErr, s.lastKind = false, "heartbeat: "+err.Error(), AMQPKind(err)
			s.mu.Unlock()
			if attempt <= 1 || attempt%30 == 0 {
				s.cfg.Logf("heartbeat consumer: %v (attempt %d)", err, attempt)
			}
		},
		serve: s.consume,
		clk:   s.cfg.Clock,
	}
	if consumer.cfg.Name == "" {
		consumer.cfg.Name = "stacktop dashboard (heartbeats)"
	}
	wg.Add(1)
	go func() { defer wg.Done(); consumer.run(ctx) }()

	if s.cfg.CanaryInterval > 0 {
		c := newCanary(s.cfg, s.id, func(p sources.Probe) {
			s.mu.Lock()
			s.probes = append(s.probes, p)
			s.mu.Unlock()
		})
		wg.Add(1)
		go func() { defer wg.Done(); c.run(ctx) }()
	}

	t := s.cfg.Clock.NewTicker(s.cfg.Flush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		emit(s.batch(s.cfg.Clock.Now()))
	}
}

// batch takes what arrived since the last one.
func (s *Source) batch(now time.Time) sources.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, m := range s.newest {
		if hb, err := decodeKeyed(key, m.body, m.at); err != nil {
			s.invalid++
			s.lastBad = reason(err)
		} else {
			s.buf[s.inBatch[key].last] = hb // the newest one stands for the flood
		}
	}
	clear(s.newest)
	b := sources.Batch{
		Source: sources.NameHeartbeat,
		At:     now,
		Health: sources.Health{
			OK:       s.up,
			Interval: s.cfg.Flush,
			Target:   s.cfg.Conn.Target(),
		},
		Heartbeats: s.buf,
		Probes:     s.probes,
	}
	if !s.up {
		b.Health.Err, b.Health.Kind = s.lastErr, s.lastKind
		if b.Health.Err == "" {
			b.Health.Err = "heartbeat: connecting to " + s.cfg.Conn.Target()
			b.Health.Kind = sources.FailPending // the first attempt has not ended: nothing failed yet
		}
	} else {
		// A flood, or a dashboard behind: the queue drops the oldest
		// messages, everyone's alike, so a host's silence proves nothing
		// until it ends and every host has had an interval to report again.
		why := ""
		if s.flood.n > 0 {
			why = fmt.Sprintf("heartbeat: flood from %s (%d over %d a batch): other hosts' silence proves nothing", s.flood.host, s.flood.n, maxPerHost)
		} else if s.held.n > 0 {
			why = fmt.Sprintf("heartbeat: %s's came at once (%d over %d a batch), the first %d sent over %s by its clock: held back on the way, or replayed; other hosts' silence proves nothing",
				s.held.host, s.held.n, maxPerHost, maxPerHost, s.held.span.Round(100*time.Millisecond))
		} else if s.backlog >= backlogLimit {
			why = fmt.Sprintf("heartbeat: dashboard behind, %d messages queued (the oldest are dropped): other hosts' silence proves nothing", s.backlog)
		}
		if why != "" {
			s.behind, s.behindTo = why, now.Add(max(2*time.Second, s.maxIv*3/2))
		}
		if now.Before(s.behindTo) {
			b.Health.OK = false
			b.Health.Err, b.Health.Kind = s.behind, sources.FailBehind // not the connection: the verdict must not read a broker failure
		}
	}
	s.flood, s.held = burst{}, burst{}
	var d []string
	d = append(d, fmt.Sprintf("%d received", s.received))
	if s.invalid > 0 {
		d = append(d, fmt.Sprintf("%d invalid dropped (last: %s)", s.invalid, s.lastBad))
	}
	if s.overflow > 0 {
		d = append(d, fmt.Sprintf("%d dropped: dashboard behind", s.overflow))
	}
	if s.limited > 0 {
		d = append(d, fmt.Sprintf("%d over %d a batch from one host dropped (last: %s)", s.limited, maxPerHost, s.lastLim))
	}
	if s.tooMany > 0 {
		d = append(d, fmt.Sprintf("%d from new hosts dropped: %d host names is the limit", s.tooMany, maxHosts))
	}
	if s.connects > 1 {
		d = append(d, fmt.Sprintf("%d reconnects", s.connects-1))
	}
	if s.exchNote != "" {
		d = append(d, s.exchNote)
	}
	b.Health.Detail = strings.Join(d, " · ")
	s.buf, s.probes = nil, nil
	clear(s.inBatch)
	return b
}

// Invalid is how many malformed or oversized messages were dropped.
func (s *Source) Invalid() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invalid
}

// consume serves one consumer connection.
func (s *Source) consume(ctx context.Context, sess *session) error {
	ch, err := sess.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	ch, note, err := declareExchange(sess.conn, ch)
	if err != nil {
		return err
	}
	q, err := ch.QueueDeclare(s.QueueName(), false, true, true, false, amqp.Table{
		"x-max-length":       int32(queueMaxLength),
		"x-max-length-bytes": int32(queueMaxBytes),
		"x-overflow":         "drop-head", // the oldest go first when the dashboard falls behind
	})
	if err != nil {
		return fmt.Errorf("declare queue: %w", err)
	}
	if err := ch.QueueBind(q.Name, "#", Exchange, false, nil); err != nil {
		return fmt.Errorf("bind queue: %w", err)
	}
	// Manual acks under a prefetch: with auto-ack the broker pushes as fast
	// as it can and the client library queues without limit in memory.
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, q.Name, "", false, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	s.mu.Lock()
	s.up, s.lastErr, s.exchNote = true, "", note
	reconnected := s.connects > 1
	s.mu.Unlock()
	if reconnected {
		s.cfg.Logf("heartbeat consumer: connected to %s again", s.cfg.Conn.Target())
	}
	idle := s.cfg.Clock.NewTicker(ackIdle)
	defer idle.Stop()
	depth := s.cfg.Clock.NewTicker(backlogEvery)
	defer depth.Stop()
	var (
		lastTag uint64 // the newest delivery not acked yet; 0 for none
		unacked int
	)
	ack := func() error {
		if unacked == 0 {
			return nil
		}
		unacked = 0
		if err := ch.Ack(lastTag, true); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-sess.closed:
			return closeErr(e, "connection")
		case e := <-chClosed:
			return closeErr(e, "channel")
		case <-idle.C():
			if err := ack(); err != nil {
				return err
			}
		case <-depth.C():
			qi, err := ch.QueueDeclarePassive(q.Name, false, true, true, false, nil)
			if err != nil {
				return fmt.Errorf("queue depth: %w", err)
			}
			s.mu.Lock()
			s.backlog = qi.Messages
			s.mu.Unlock()
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("consumer cancelled")
			}
			s.receive(d.RoutingKey, d.Body, s.cfg.Clock.Now())
			lastTag = d.DeliveryTag
			if unacked++; unacked >= ackEvery {
				if err := ack(); err != nil {
					return err
				}
			}
		}
	}
}

// receive decodes one delivery into the buffer, or counts it as invalid.
// A host already at maxPerHost in this batch costs no decoding: its newest
// delivery is kept raw and replaces the host's last heartbeat at batch time,
// so that a flood under one name costs a map lookup per message.
func (s *Source) receive(key string, body []byte, at time.Time) {
	s.mu.Lock()
	s.received++
	if slot, ok := s.inBatch[key]; ok && slot.n >= maxPerHost && len(body) <= MaxMessageSize {
		if s.newest == nil {
			s.newest = make(map[string]rawHeartbeat)
		}
		if _, again := s.newest[key]; !again { // the host's first over the limit: which kind of burst
			slot.held = heldBack(s.buf[slot.first], s.buf[slot.last], slot.n)
			s.inBatch[key] = slot
		}
		s.newest[key] = rawHeartbeat{body, at}
		s.limited++
		s.lastLim = printable(key, 40)
		if slot.held {
			s.held.n++
			s.held.host = s.lastLim
			s.held.span = s.buf[slot.last].SentAt.Sub(s.buf[slot.first].SentAt)
		} else {
			s.flood.n++
			s.flood.host = s.lastLim
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	hb, err := decodeKeyed(key, body, at)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.invalid++
		s.lastBad = reason(err)
		return
	}
	if _, ok := s.known[hb.Host]; !ok {
		if len(s.known) >= maxHosts {
			s.tooMany++
			return
		}
		if s.known == nil {
			s.known = make(map[string]struct{})
		}
		s.known[hb.Host] = struct{}{}
	}
	if len(s.buf) >= maxBuffered {
		s.overflow++
		return
	}
	s.maxIv = max(s.maxIv, min(hb.Interval, time.Minute))
	if s.inBatch == nil {
		s.inBatch = make(map[string]hostSlot)
	}
	slot, ok := s.inBatch[hb.Host]
	if !ok {
		slot.first = len(s.buf)
	}
	slot.last, slot.n = len(s.buf), slot.n+1
	s.inBatch[hb.Host] = slot
	s.buf = append(s.buf, hb)
}

// decodeKeyed decodes a delivery and checks that its routing key is its host.
func decodeKeyed(key string, body []byte, at time.Time) (sources.Heartbeat, error) {
	hb, err := Decode(body, at)
	if err == nil && key != hb.Host {
		err = fmt.Errorf("%w: routing key %.40q is not the host %.40q", ErrInvalid, key, hb.Host)
	}
	return hb, err
}

// reason is an invalid delivery's error, short and printable, for the health detail.
func reason(err error) string {
	return printable(strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "), 80)
}

// printable keeps at most n runes of s, with control characters (terminal
// escapes from a hostile payload) replaced.
func printable(s string, n int) string {
	var b strings.Builder
	for i, r := range []rune(s) {
		if i == n {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
