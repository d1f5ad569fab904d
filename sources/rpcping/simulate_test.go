package rpcping

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// simFunc is a Simulator of a function.
type simFunc func(key string, request []byte, sent time.Time) SimReply

func (f simFunc) Deliver(key string, request []byte, sent time.Time) SimReply {
	return f(key, request, sent)
}

// osloReply is a service's reply to request, as the trace shows them.
func osloReply(t *testing.T, request []byte, result any, failure string) []byte {
	t.Helper()
	msg := map[string]any{"result": result, "failure": nil, "ending": true, "_msg_id": requestMsgID(request), "_unique_id": newID()}
	if failure != "" {
		msg["failure"] = failure
	}
	inner, _ := json.Marshal(msg)
	out, _ := json.Marshal(map[string]string{"oslo.version": "2.0", "oslo.message": string(inner)})
	return out
}

// A simulated ping takes the simulated round trip on the source's clock
// (or its timeout), and its reply is decoded as a broker's would be.
func TestPingSimulated(t *testing.T) {
	const timeout = 5 * time.Second
	unsupported := `{"class": "UnsupportedVersion", "module": "oslo_messaging.rpc.dispatcher", "message": "Endpoint does not support RPC version 1.0. Attempted method: oslo_rpc_server_ping", "tb": [], "args": [], "kwargs": {}}`
	for _, tc := range []struct {
		name   string
		answer func(t *testing.T, req []byte) SimReply
		rtt    time.Duration
		result sources.ProbeResult
		detail string
		health string // Health.Err after it; "" for OK
	}{
		{"pong", func(t *testing.T, req []byte) SimReply {
			return SimReply{Reply: osloReply(t, req, "pong", ""), After: 3 * time.Millisecond}
		}, 3 * time.Millisecond, sources.ProbeOK, "pong", ""},
		{"ping not enabled", func(t *testing.T, req []byte) SimReply {
			return SimReply{Reply: osloReply(t, req, nil, unsupported), After: 9 * time.Millisecond}
		}, 9 * time.Millisecond, sources.ProbeOK, "UnsupportedVersion (ping not enabled)", ""},
		{"reply after the timeout", func(t *testing.T, req []byte) SimReply {
			return SimReply{Reply: osloReply(t, req, "pong", ""), After: 7 * time.Second}
		}, timeout, sources.ProbeTimeout, "no reply in 5s", ""},
		{"no reply", func(t *testing.T, req []byte) SimReply { return SimReply{} }, timeout, sources.ProbeTimeout, "no reply in 5s", ""},
		{"reply to another call", func(t *testing.T, req []byte) SimReply {
			return SimReply{Reply: osloReply(t, []byte(`{"_msg_id": "other"}`), "pong", ""), After: time.Millisecond}
		}, timeout, sources.ProbeTimeout, "no reply in 5s", ""},
		{"bad reply", func(t *testing.T, req []byte) SimReply {
			return SimReply{Reply: []byte("\x1b[2J"), After: time.Millisecond}
		},
			timeout, sources.ProbeTimeout, "no reply in 5s", ""},
		{"unroutable", func(t *testing.T, req []byte) SimReply {
			return SimReply{Returned: "NO_ROUTE", After: time.Millisecond}
		},
			time.Millisecond, sources.ProbeError, "unroutable: no queue bound to compute.c00 on exchange nova (NO_ROUTE)", ""},
		{"blocked", func(t *testing.T, req []byte) SimReply { return SimReply{Blocked: "low on memory"} },
			0, sources.ProbeBlocked, "broker blocks publishers: low on memory", "broker blocks publishers: low on memory"},
		{"not connected", func(t *testing.T, req []byte) SimReply {
			return SimReply{NotConnected: "connection refused", Kind: sources.FailRefused}
		},
			0, sources.ProbeError, "not connected: connection refused", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				key  string
				req  []byte
				sent time.Time
			}
			s, clk := fakeSource(t, Config{Timeout: timeout, Targets: func() []Target { return nil },
				Simulator: simFunc(func(key string, req []byte, sent time.Time) SimReply {
					got.key, got.req, got.sent = key, req, sent
					return tc.answer(t, req)
				})}, nil)
			s.ping = s.pingSimulated
			probes := make(chan sources.Probe, 1)
			go func() { probes <- s.ping(context.Background(), targetsN(1)[0]) }()
			if tc.rtt > 0 {
				clk.Waiters(t, 1, guard)
				clk.Advance(tc.rtt - time.Nanosecond)
				select {
				case p := <-probes:
					t.Fatalf("probe before its round trip ended: %+v", p)
				default:
				}
				clk.Advance(time.Nanosecond)
			}
			p := recv(t, probes, "probe")
			if p.Kind != sources.ProbeRPC || p.Host != "c00" || !p.At.Equal(t0) || p.RTT != tc.rtt || p.Result != tc.result || p.Detail != tc.detail {
				t.Errorf("probe %+v, want %s %q in %v", p, tc.result, tc.detail, tc.rtt)
			}
			if got.key != "compute.c00" || !got.sent.Equal(t0) || !strings.Contains(string(got.req), PingMethod) {
				t.Errorf("delivered %s at %v: %s", got.key, got.sent, got.req)
			}
			h := s.batch(nil).Health
			wantKind := map[string]sources.FailureKind{"blocked": sources.FailBlocked, "not connected": sources.FailRefused}[tc.name]
			if h.OK != (tc.health == "") || h.Err != tc.health || h.Kind != wantKind || !strings.HasSuffix(h.Target, "(simulated)") {
				t.Errorf("health %+v, want error %q", h, tc.health)
			}
			if n := s.simBad.Load(); (n > 0) != (tc.name == "bad reply") {
				t.Errorf("%d bad replies counted", n)
			}
		})
	}
}

// With a simulator the Source makes no connection and its health is good
// from the first batch.
func TestSimulatedSourceNeedsNoBroker(t *testing.T) {
	s, err := New(Config{TransportURL: "rabbit://demo:secret@127.0.0.1:1/nova", Targets: func() []Target { return nil },
		Simulator: simFunc(func(string, []byte, time.Time) SimReply { return SimReply{} })})
	if err != nil {
		t.Fatal(err)
	}
	if s.broker {
		t.Error("a simulated source would dial the broker")
	}
	h := s.batch(nil).Health
	if !h.OK || h.Target != "amqp://127.0.0.1:1/nova (simulated)" || strings.Contains(fmt.Sprint(h), "secret") {
		t.Errorf("health %+v", h)
	}
}
