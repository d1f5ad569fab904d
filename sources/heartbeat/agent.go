package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultInterval is the agent's publish interval unless configured.
const DefaultInterval = 2 * time.Second

// minInterval is an agent's shortest interval.
const minInterval = 100 * time.Millisecond

// AgentConfig configures a node's heartbeat agent.
type AgentConfig struct {
	Conn     ConnConfig
	Host     string        // routing key and Message.Host; must match Nova's host option (default: os.Hostname)
	Interval time.Duration // publish interval (default 2 s)
	Version  string        // the agent's version, sent in every heartbeat
	ProcRoot string        // default "/proc"
	// Match selects the processes listed in a heartbeat (default DefaultMatch).
	Match func(name string) bool
	// Logf reports connection changes and trouble; nil discards.
	Logf func(format string, args ...any)
}

// AgentStats counts what an agent did since it started.
type AgentStats struct {
	Built       uint64 // heartbeats built (the last Seq)
	Published   uint64 // handed to the broker
	Confirmed   uint64 // acknowledged by a publisher confirm
	Nacked      uint64 // refused by the broker, or no confirm in time
	Dropped     uint64 // never published: not connected, blocked, or superseded by a newer one
	Blocked     uint64 // of Dropped: while the broker blocked the connection (resource alarm)
	Connects    uint64 // successful connections
	Connected   bool
	BlockedNow  bool
	LastErr     string
	LastErrTime time.Time
}

// Agent publishes a node's heartbeat every Interval. Its ticker never
// waits for the broker: a heartbeat that cannot go out at once (broker away
// or blocked by an alarm) is dropped and counted, and the next one carries
// on with the following sequence number, so the dashboard sees a gap.
type Agent struct {
	cfg  AgentConfig
	proc *procFS
	// pending holds the newest heartbeat not yet published; a newer one replaces it.
	pending chan Message

	mu    sync.Mutex
	stats AgentStats
	seq   atomic.Uint64
}

// NewAgent checks the configuration and reads the boot time.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if err := cfg.Conn.Validate(); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: host name: %w", err)
		}
		cfg.Host = h
	}
	if len(cfg.Host) > maxStringLen {
		return nil, fmt.Errorf("agent: host name longer than %d bytes", maxStringLen)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < minInterval || cfg.Interval > time.Hour {
		return nil, fmt.Errorf("agent: interval %s is outside %s..1h", cfg.Interval, minInterval)
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Conn.Name == "" {
		cfg.Conn.Name = "stacktop agent " + cfg.Host
	}
	p, err := newProcFS(cfg.ProcRoot, cfg.Match)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return &Agent{cfg: cfg, proc: p, pending: make(chan Message, 1)}, nil
}

// Host is the name the agent publishes under.
func (a *Agent) Host() string { return a.cfg.Host }

// Interval is the effective publish interval.
func (a *Agent) Interval() time.Duration { return a.cfg.Interval }

// Stats returns a copy of the agent's counters.
func (a *Agent) Stats() AgentStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Built = a.seq.Load()
	return s
}

func (a *Agent) count(f func(*AgentStats)) {
	a.mu.Lock()
	f(&a.stats)
	a.mu.Unlock()
}

// Message builds the next heartbeat: the node's state now.
func (a *Agent) Message() Message {
	m := Message{
		V:          Version,
		Host:       a.cfg.Host,
		BootID:     a.proc.bootID(),
		UptimeSec:  a.proc.uptime(),
		Seq:        a.seq.Add(1),
		IntervalMS: a.cfg.Interval.Milliseconds(),
		Agent:      a.cfg.Version,
	}
	procs, err := a.proc.processes()
	if err != nil {
		a.cfg.Logf("read processes: %v", err)
	}
	m.Processes = procs
	m.SentAt = time.Now().UTC()
	return m
}

// Run publishes until ctx is cancelled; it returns nil then. The first
// heartbeat is built at once.
func (a *Agent) Run(ctx context.Context) error {
	l := &link{
		cfg: a.cfg.Conn,
		max: min(5*time.Second, max(a.cfg.Interval, time.Second)),
		onUp: func() {
			a.count(func(s *AgentStats) { s.Connects++; s.Connected = true })
		},
		onDown: func(err error, attempt int) {
			a.count(func(s *AgentStats) {
				s.Connected, s.BlockedNow = false, false
				s.LastErr, s.LastErrTime = err.Error(), time.Now()
			})
			// Say it the first time and then sparingly: a broker away for an
			// hour must not fill the journal.
			if attempt <= 1 || attempt%30 == 0 {
				a.cfg.Logf("broker %s: %v (attempt %d; retrying with backoff)", a.cfg.Conn.Target(), err, attempt)
			}
		},
		serve: a.serve,
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.run(ctx) }()
	defer wg.Wait()

	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		a.offer(a.Message())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// offer puts m in the pending slot, dropping the heartbeat it supersedes.
func (a *Agent) offer(m Message) {
	for {
		select {
		case a.pending <- m:
			return
		default:
		}
		select {
		case <-a.pending:
			a.count(func(s *AgentStats) { s.Dropped++ })
		default:
		}
	}
}

// serve publishes pending heartbeats on one connection until it fails.
func (a *Agent) serve(ctx context.Context, s *session) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	ch, note, err := declareExchange(s.conn, ch)
	if err != nil {
		return err
	}
	if note != "" {
		a.cfg.Logf("%s", note)
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	a.cfg.Logf("connected to %s, publishing as %s every %s", a.cfg.Conn.Target(), a.cfg.Host, a.cfg.Interval)

	type inflight struct {
		dc   *amqp.DeferredConfirmation
		sent time.Time
	}
	var waiting []inflight
	settle := func(now time.Time) {
		keep := waiting[:0]
		for _, w := range waiting {
			select {
			case <-w.dc.Done():
				if w.dc.Acked() {
					a.count(func(s *AgentStats) { s.Confirmed++ })
				} else {
					a.count(func(s *AgentStats) { s.Nacked++ })
				}
				continue
			default:
			}
			if now.Sub(w.sent) > 3*a.cfg.Interval {
				a.count(func(s *AgentStats) { s.Nacked++ })
				continue
			}
			keep = append(keep, w)
		}
		waiting = keep
	}
	sweep := time.NewTicker(max(a.cfg.Interval/2, 50*time.Millisecond))
	defer sweep.Stop()
	blocked := false
	expiration := fmt.Sprint((3 * a.cfg.Interval).Milliseconds())
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-s.closed:
			return closeErr(e, "connection")
		case e := <-chClosed:
			return closeErr(e, "channel")
		case b := <-s.blocked:
			blocked = b.Active
			a.count(func(s *AgentStats) { s.BlockedNow = b.Active })
			if b.Active {
				a.cfg.Logf("broker blocked this connection (%s): heartbeats are dropped until it unblocks", b.Reason)
			} else {
				a.cfg.Logf("broker unblocked this connection")
			}
		case now := <-sweep.C:
			settle(now)
		case m := <-a.pending:
			if blocked {
				a.count(func(s *AgentStats) { s.Dropped++; s.Blocked++ })
				continue
			}
			body, err := Encode(m)
			if err != nil {
				return err
			}
			dc, err := publishWithin(a.cfg.Interval, func() (*amqp.DeferredConfirmation, error) {
				return ch.PublishWithDeferredConfirm(Exchange, m.Host, false, false, amqp.Publishing{
					ContentType:  ContentType,
					DeliveryMode: amqp.Transient,
					Expiration:   expiration, // a heartbeat older than three intervals is worthless
					Timestamp:    m.SentAt,
					Type:         "stacktop.heartbeat.v1",
					Body:         body,
				})
			})
			if err != nil {
				a.count(func(s *AgentStats) { s.Dropped++ })
				return fmt.Errorf("publish: %w", err)
			}
			a.count(func(s *AgentStats) { s.Published++ })
			if dc != nil {
				waiting = append(waiting, inflight{dc, time.Now()})
			}
		}
	}
}

// errStuck says a publish did not return in time: the socket is not being
// read (a blocked or dead broker). The caller closes the connection, which
// ends the write.
var errStuck = errors.New("publish did not complete in time")

// publishWithin runs publish, giving up after d without waiting for it.
func publishWithin(d time.Duration, publish func() (*amqp.DeferredConfirmation, error)) (*amqp.DeferredConfirmation, error) {
	type result struct {
		dc  *amqp.DeferredConfirmation
		err error
	}
	done := make(chan result, 1)
	go func() {
		dc, err := publish()
		done <- result{dc, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-done:
		return r.dc, r.err
	case <-t.C:
		return nil, errStuck
	}
}
