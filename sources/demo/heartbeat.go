package demo

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/heartbeat"
)

// Target and detail the heartbeat source reports in its Health.
const (
	heartbeatTarget = "amqp://127.0.0.1:5672/nova (demo)"
	heartbeatDetail = "simulated AMQP: heartbeats and canary"
	// errConnectionForced is what amqp091-go reports when a broker node
	// shuts down: AMQP's connection-forced (320).
	codeConnectionForced = 320
	errConnectionForced  = `Exception (320) Reason: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"`
)

// HeartbeatSource returns a source that emits, once per HeartbeatInterval,
// the heartbeats the hosts' agents published (encoded with heartbeat.Encode
// and decoded with heartbeat.Decode, as they would cross the broker) and one
// broker round-trip canary probe. While the broker node restarts the
// source's connection is down and it emits a failed batch.
func (c *Cloud) HeartbeatSource() sources.Source { return &heartbeatSource{c: c} }

type heartbeatSource struct {
	c    *Cloud
	prev time.Time // the previous batch's time: messages delivered after it are new
}

// Name is sources.NameHeartbeat.
func (s *heartbeatSource) Name() string { return sources.NameHeartbeat }

// Run emits one batch at once and then one per HeartbeatInterval until ctx is done.
func (s *heartbeatSource) Run(ctx context.Context, emit func(sources.Batch)) error {
	t := time.NewTicker(s.c.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		b, err := s.step(s.c.now())
		if err != nil {
			return err
		}
		emit(b)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// step builds the batch of everything delivered in (prev, now].
func (s *heartbeatSource) step(now time.Time) (sources.Batch, error) {
	start := time.Now()
	sc := s.c.sc
	iv := s.c.cfg.HeartbeatInterval
	b := sources.Batch{
		Source: sources.NameHeartbeat,
		At:     now,
		Health: sources.Health{Interval: iv, Target: heartbeatTarget, Detail: heartbeatDetail},
	}
	prev := s.prev
	// Look back at most as far as the longest delivery delay (a memory alarm).
	maxBack := 5 * time.Second
	for _, w := range sc.tl.Alarms {
		maxBack = max(maxBack, w[1]-w[0]+5*time.Second)
	}
	if prev.IsZero() || now.Sub(prev) > maxBack {
		prev = now.Add(-iv)
	}
	s.prev = now
	if off := sc.offset(now); off >= 0 && sc.tl.brokerDown(off) {
		b.Health.Err, b.Health.Kind = errConnectionForced, sources.KindOfAMQPCode(codeConnectionForced)
		b.Health.Latency = time.Since(start)
		return b, nil
	}
	b.Heartbeats = []sources.Heartbeat{}
	for _, h := range sc.hosts {
		agentStart := sc.cfg.Epoch.Add(-h.bootAge + 30*time.Second)
		k := floorDiv(now.Sub(agentStart), iv)
		stop := floorDiv(now.Add(-maxBack).Sub(agentStart), iv)
		var batch []heartbeat.Message
		for ; k >= stop && k >= 0; k-- {
			sent := agentStart.Add(time.Duration(k) * iv)
			at, ok := sc.delivered(h, sent)
			if !ok || at.After(now) || !at.After(prev) {
				continue
			}
			batch = append(batch, sc.heartbeatMessage(h, k, sent, iv))
		}
		for i := len(batch) - 1; i >= 0; i-- { // oldest first, as the queue delivers them
			raw, err := heartbeat.Encode(batch[i])
			if err != nil {
				return b, fmt.Errorf("demo: heartbeat of %s: %w", h.name, err)
			}
			hb, err := heartbeat.Decode(raw, now)
			if err != nil {
				return b, fmt.Errorf("demo: heartbeat of %s: %w", h.name, err)
			}
			b.Heartbeats = append(b.Heartbeats, hb)
		}
	}
	if p, ok := sc.canary(now); ok {
		b.Probes = []sources.Probe{p}
	}
	b.Health.OK = true
	b.Health.Latency = time.Since(start)
	return b, nil
}

// delivered is when a heartbeat host h sent at sent reaches the dashboard;
// ok is false when the broker lost it.
func (sc *scenario) delivered(h *host, sent time.Time) (time.Time, bool) {
	off := sc.offset(sent)
	base := sent.Add(2*time.Millisecond + time.Duration(unit(mix2(h.key^20, sent.UnixMilli()))*float64(2*time.Millisecond)))
	if off < 0 {
		return base, true
	}
	if sc.tl.brokerDown(off) {
		return time.Time{}, false
	}
	for _, w := range sc.tl.Alarms {
		if off >= w[0] && off < w[1] { // the publisher is blocked until the alarm clears
			return sent.Add(w[1] - off + 50*time.Millisecond + time.Duration(unit(mix(h.key^21))*float64(400*time.Millisecond))), true
		}
	}
	sick := sc.tl.brokerSick(off)
	if sick == 0 {
		return base, true
	}
	// A smooth delay, so that one host's heartbeats keep their order.
	wave := 0.5 + 0.5*math.Sin(unit(h.key)*2*math.Pi+float64(off)/float64(7*time.Second))
	return base.Add(time.Duration(sick * wave * float64(2500*time.Millisecond))), true
}

// heartbeatMessage is the k-th heartbeat of host h's agent.
func (sc *scenario) heartbeatMessage(h *host, k int64, sent time.Time, iv time.Duration) heartbeat.Message {
	boot := sc.cfg.Epoch.Add(-h.bootAge)
	m := heartbeat.Message{
		Host:       h.name,
		BootID:     uuidOf(mix(h.key^22), mix(h.key^23)),
		UptimeSec:  math.Round(sent.Sub(boot).Seconds()*1000) / 1000,
		Seq:        uint64(k),
		SentAt:     sent.Add(h.skew).UTC(),
		IntervalMS: iv.Milliseconds(),
		Agent:      agentVersion,
	}
	for _, p := range h.procs {
		if p == sc.brokerProc {
			if off := sc.offset(sent); off >= sc.tl.BrokerDown && off < sc.tl.BrokerUp-4*time.Second {
				continue // rabbitmq-server is stopped
			}
		}
		at, gen := sc.started(p, sent)
		m.Processes = append(m.Processes, heartbeat.Proc{Name: p.name, PID: pid(p, gen), Start: at.UTC()})
	}
	return m
}

// canary is the broker round-trip probe that completes at now; ok is false
// while stacktop's own connection to the broker is down.
func (sc *scenario) canary(now time.Time) (sources.Probe, bool) {
	p := sources.Probe{Kind: sources.ProbeCanary, Result: sources.ProbeOK}
	off := sc.offset(now)
	u := unit(mix2(sc.cfg.Seed^0xca9a, now.UnixMilli()/100))
	rtt := 1500*time.Microsecond + time.Duration(u*float64(1500*time.Microsecond))
	switch {
	case off < 0:
	case sc.tl.brokerDown(off):
		return p, false
	case off >= sc.tl.BrokerUp && off < sc.tl.BrokerUp+5*time.Second:
		rtt = 10*time.Millisecond + time.Duration(u*float64(30*time.Millisecond)) // caches cold after the restart
	default:
		if on, since := sc.tl.alarm(off); on {
			p.Result = sources.ProbeBlocked
			p.Detail = "connection.blocked: low on memory (memory alarm on " + brokerNodes[sickNode] + ")"
			rtt = min(max(off-since, 100*time.Millisecond), canaryTimeout)
			break
		}
		sick := sc.tl.brokerSick(off)
		if sick == 0 {
			break
		}
		rtt = time.Duration(float64(2*time.Millisecond) * math.Pow(1500, sick/0.9) * (0.7 + 0.6*u))
		u2 := unit(mix2(sc.cfg.Seed^0x7e0, now.UnixMilli()/100))
		if rtt >= canaryTimeout || (sick >= 0.85 && u2 < 0.35) {
			p.Result = sources.ProbeTimeout
			p.Detail = fmt.Sprintf("no reply within %s", canaryTimeout)
			rtt = canaryTimeout
		}
	}
	p.RTT = rtt
	p.At = now.Add(-rtt)
	return p, true
}
