package demo

import (
	"encoding/json"
	"math"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/rpcping"
)

// The Nova services' side of oslo.messaging RPC pings (rpcping), for a
// Source given Cloud.RPCSimulator: the call is read in the wire format
// stacktop publishes, and the reply is written as oslo.messaging 14 writes
// it (the firehose trace in testdata): "pong" from a service with
// rpc_ping_enabled = true, a RemoteError UnsupportedVersion from one
// without. What becomes of a ping follows the scenario:
//   - while rabbit@mq-1 is stopped, stacktop's own connection is gone
//     (connection-forced, as the heartbeat source sees it);
//   - for a few seconds after it is back, a service that has not yet
//     reconnected has no queue: the broker returns the ping unroutable;
//   - in a memory alarm the broker blocks publishers;
//   - a service whose connection is stuck (Nova sees its reports missing)
//     never answers: the ping times out;
//   - otherwise it answers, as slowly as the sick broker relays it.

// oslo.messaging's reply to a ping without rpc_ping_enabled, from the trace.
const unsupportedPing = `{"class": "UnsupportedVersion", "module": "oslo_messaging.rpc.dispatcher", ` +
	`"message": "Endpoint does not support RPC version 1.0. Attempted method: oslo_rpc_server_ping", ` +
	`"tb": ["(traceback lines omitted)"], "args": ["Endpoint does not support RPC version 1.0. Attempted method: oslo_rpc_server_ping"], "kwargs": {}}`

// RPCTransportURL is the transport URL an rpcping Source on RPCSimulator
// is given: the simulated broker's, without credentials (none are needed).
const RPCTransportURL = "rabbit://127.0.0.1:5672/" + DefaultVHost

// RPCSimulator is the simulated broker and Nova services for an rpcping
// Source (rpcping.Config.Simulator), so that the demo's RPC pings go
// through the real source, its schedule and its wire format.
func (c *Cloud) RPCSimulator() rpcping.Simulator { return rpcSim{c} }

type rpcSim struct{ c *Cloud }

// Deliver implements rpcping.Simulator.
func (r rpcSim) Deliver(routingKey string, request []byte, sent time.Time) rpcping.SimReply {
	return r.c.sc.rpcAnswer(routingKey, request, sent)
}

// pingEnabled says whether s runs with rpc_ping_enabled = true; a few do not.
func pingEnabled(s *service) bool { return unit(mix(s.key^25)) >= 0.2 }

// serviceAt is the Nova service whose RPC server consumes routingKey
// ("compute.compute-01"), or nil.
func (sc *scenario) serviceAt(routingKey string) *service {
	for _, s := range sc.services {
		if s.proc.topic != "" && s.proc.topic+"."+s.host == routingKey {
			return s
		}
	}
	return nil
}

// rpcAnswer is what becomes of one ping published at sent.
func (sc *scenario) rpcAnswer(routingKey string, request []byte, sent time.Time) rpcping.SimReply {
	const returned = "NO_ROUTE"
	var env struct {
		Message string `json:"oslo.message"`
	}
	var call struct {
		Method string `json:"method"`
		MsgID  string `json:"_msg_id"`
	}
	if json.Unmarshal(request, &env) != nil || json.Unmarshal([]byte(env.Message), &call) != nil || call.MsgID == "" {
		return rpcping.SimReply{} // not an oslo call: nothing answers
	}
	off := sc.offset(sent)
	s := sc.serviceAt(routingKey)
	u := unit(mix2(sc.cfg.Seed^0x49c, sent.UnixMilli()^int64(len(routingKey))))
	switch {
	case off >= 0 && sc.tl.brokerDown(off):
		return rpcping.SimReply{NotConnected: "connection lost: " + errConnectionForced, Kind: sources.KindOfAMQPCode(codeConnectionForced)}
	case s == nil:
		return rpcping.SimReply{Returned: returned, After: time.Millisecond}
	case off >= sc.tl.BrokerUp && off < sc.tl.BrokerUp+s.proc.reconnect:
		return rpcping.SimReply{Returned: returned, After: time.Millisecond} // its queue went with the restart
	}
	if off >= 0 {
		if on, _ := sc.tl.alarm(off); on {
			return rpcping.SimReply{Blocked: "low on memory"}
		}
	}
	tick := floorDiv(sent.Sub(sc.cfg.Epoch.Add(s.phase)), sc.cfg.ReportInterval)
	if !sc.reportOK(s, sent, tick) {
		return rpcping.SimReply{} // its connection is stuck: no reply ever comes
	}
	rtt := 2*time.Millisecond + time.Duration(u*float64(4*time.Millisecond))
	if sick := sc.tl.brokerSick(off); sick > 0 {
		rtt = time.Duration(float64(rtt) * math.Pow(1000, sick/0.9))
	}
	return rpcping.SimReply{Reply: osloReply(call.MsgID, pingEnabled(s), mix2(s.key^26, sent.UnixNano())), After: rtt}
}

// osloReply is a service's final reply to call msgID, enveloped.
func osloReply(msgID string, enabled bool, k uint64) []byte {
	msg := obj{{"result", "pong"}, {"failure", nil}, {"ending", true}, {"_msg_id", msgID}, {"_unique_id", hex32(k, mix(k))}}
	if !enabled {
		msg[0].v, msg[1].v = nil, unsupportedPing
	}
	return appendJSON(nil, obj{{"oslo.version", "2.0"}, {"oslo.message", string(appendJSON(nil, msg))}})
}
