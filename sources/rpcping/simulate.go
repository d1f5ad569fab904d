package rpcping

import (
	"context"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Simulator stands in for the broker and the Nova services behind it, for
// the demo's simulated cloud: with Config.Simulator set, the Source makes
// no connection and hands every ping's request, in the real wire format, to
// the simulator, which says what the broker and the service do with it.
// The schedule, the timeouts, the reply decoding and the health reporting
// are the Source's own.
type Simulator interface {
	// Deliver is what becomes of the enveloped request body published to
	// the control exchange with routingKey at sent.
	Deliver(routingKey string, request []byte, sent time.Time) SimReply
}

// SimReply is what becomes of one simulated ping. At most one of
// NotConnected, Blocked, Returned and Reply is set; none means no reply
// ever comes (the ping times out).
type SimReply struct {
	NotConnected string              // stacktop's connection to the broker is down: why
	Kind         sources.FailureKind // NotConnected's kind of failure
	Blocked      string              // the broker blocks publishers: its reason
	Returned     string              // the broker returned the ping unroutable: its reply text
	Reply        []byte              // the service's reply, as it is published to stacktop's reply queue
	After        time.Duration       // how long after sent Returned or Reply arrives
}

// simReplyQueue is the reply queue named in simulated requests.
const simReplyQueue = "reply_00000000000000000000000000000000"

// pingSimulated pings t through the simulator, taking as long on the
// source's clock as the simulated round trip (or the timeout).
func (s *Source) pingSimulated(ctx context.Context, t Target) sources.Probe {
	clk := s.cfg.Clock
	p := sources.Probe{Kind: sources.ProbeRPC, Binary: t.Binary, Host: t.Host, At: clk.Now()}
	msgID := newID()
	body, err := encodeRequest(msgID, simReplyQueue, newID())
	if err != nil {
		p.Result, p.Detail = sources.ProbeError, "encode: "+err.Error()
		return p
	}
	r := s.cfg.Simulator.Deliver(t.RoutingKey(), body, p.At)
	s.mu.Lock()
	s.connErr, s.connKind, s.simBlocked = r.NotConnected, r.Kind, r.Blocked
	if r.NotConnected != "" && r.Kind == sources.FailNone {
		s.connKind = sources.FailUnknown
	}
	s.mu.Unlock()
	switch {
	case r.NotConnected != "":
		p.Result, p.Detail = sources.ProbeError, "not connected: "+r.NotConnected
		return p
	case r.Blocked != "":
		p.Result, p.Detail = sources.ProbeBlocked, "broker blocks publishers: "+r.Blocked
		return p
	}
	timeout := s.cfg.Timeout
	var answer *reply
	if r.Reply != nil {
		// A reply that is not a final oslo reply to this call is dropped,
		// as the session drops it: the call then times out.
		if rep, err := decodeReply(r.Reply); err == nil && rep.Ending && rep.MsgID == msgID {
			answer = &rep
		} else if err != nil {
			s.simBad.Add(1)
		}
	}
	arrives := answer != nil || r.Returned != ""
	wait := timeout
	if arrives && r.After < timeout {
		wait = r.After
	} else {
		arrives = false
	}
	timer := clk.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		p.Result, p.Detail = sources.ProbeError, "stopped"
		return p
	case <-timer.C():
	}
	p.RTT = wait
	switch {
	case !arrives:
		p.Result, p.Detail = sources.ProbeTimeout, "no reply in "+timeout.String()
	case r.Returned != "":
		p.Result, p.Detail = sources.ProbeError, unroutable(t, s.cfg.Exchange, r.Returned)
	default:
		p.Result, p.Detail = sources.ProbeOK, answer.describe()
	}
	return p
}
