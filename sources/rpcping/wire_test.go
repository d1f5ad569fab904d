package rpcping

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// traceMessage is one message of testdata/oslo-rpc-ping-trace.json, a
// RabbitMQ firehose trace of oslo.messaging 14 pinging compute-1 (ping
// enabled: pong) and compute-2 (not: RemoteError UnsupportedVersion).
type traceMessage struct {
	TraceKey    string   `json:"trace_key"`
	Exchange    string   `json:"exchange_name"`
	RoutingKeys []string `json:"routing_keys"`
	Properties  struct {
		Expiration      string         `json:"expiration"`
		Priority        int            `json:"priority"`
		DeliveryMode    int            `json:"delivery_mode"`
		Headers         map[string]any `json:"headers"`
		ContentEncoding string         `json:"content_encoding"`
		ContentType     string         `json:"content_type"`
	} `json:"properties"`
	Body string `json:"body"`
}

func loadTrace(t *testing.T) []traceMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/oslo-rpc-ping-trace.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr struct{ Messages []traceMessage }
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Messages) != 4 {
		t.Fatalf("trace has %d messages, want 4 (request, reply, request, reply)", len(tr.Messages))
	}
	return tr.Messages
}

// openEnvelope returns the envelope's keys and its decoded message.
func openEnvelope(t *testing.T, body []byte) ([]string, map[string]any) {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	inner, ok := env["oslo.message"].(string)
	if !ok {
		t.Fatalf("oslo.message is %T, want a JSON string", env["oslo.message"])
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(inner), &msg); err != nil {
		t.Fatalf("oslo.message: %v", err)
	}
	return slices.Sorted(maps.Keys(env)), msg
}

func TestRequestMatchesTrace(t *testing.T) {
	for _, m := range []traceMessage{loadTrace(t)[0], loadTrace(t)[2]} {
		wantKeys, want := openEnvelope(t, []byte(m.Body))
		body, err := encodeRequest(want["_msg_id"].(string), want["_reply_q"].(string), want["_unique_id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		gotKeys, got := openEnvelope(t, body)
		if !slices.Equal(gotKeys, wantKeys) {
			t.Errorf("envelope keys %v, want %v", gotKeys, wantKeys)
		}
		var env map[string]any
		_ = json.Unmarshal(body, &env)
		if env["oslo.version"] != "2.0" {
			t.Errorf("oslo.version %v, want 2.0", env["oslo.version"])
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("message\n got %v\nwant %v", got, want)
		}
		// Publishing: exchange, routing key and properties as in the trace.
		tg, _ := NewTarget("nova-compute", strings.TrimPrefix(m.RoutingKeys[0], "compute."))
		if m.Exchange != DefaultExchange || tg.RoutingKey() != m.RoutingKeys[0] {
			t.Errorf("publish to %q %q, trace %q %v", DefaultExchange, tg.RoutingKey(), m.Exchange, m.RoutingKeys)
		}
		timeout, _ := strconv.Atoi(m.Properties.Expiration)
		p := publishing(body, time.Duration(timeout)*time.Millisecond)
		if p.ContentType != m.Properties.ContentType || p.ContentEncoding != m.Properties.ContentEncoding ||
			int(p.DeliveryMode) != m.Properties.DeliveryMode || int(p.Priority) != m.Properties.Priority ||
			p.Expiration != m.Properties.Expiration || len(p.Headers) != len(m.Properties.Headers) || p.Headers == nil {
			t.Errorf("properties %+v, trace %+v", p, m.Properties)
		}
	}
}

func TestRequestIDs(t *testing.T) {
	body, err := encodeRequest(newID(), "reply_"+newID(), newID())
	if err != nil {
		t.Fatal(err)
	}
	_, msg := openEnvelope(t, body)
	for _, k := range []string{"_msg_id", "_unique_id"} {
		if s, _ := msg[k].(string); len(s) != 32 || strings.Trim(s, "0123456789abcdef") != "" {
			t.Errorf("%s = %q, want 32 hex digits like uuid4().hex", k, s)
		}
	}
	if q, _ := msg["_reply_q"].(string); !strings.HasPrefix(q, "reply_") || len(q) != 38 {
		t.Errorf("_reply_q = %q, want reply_<uuid hex>", q)
	}
	if msg["_timeout"] != nil {
		t.Errorf("_timeout = %v, want null (no call-monitor heartbeats)", msg["_timeout"])
	}
	if id := requestMsgID(body); id != msg["_msg_id"] {
		t.Errorf("requestMsgID = %q, want %q", id, msg["_msg_id"])
	}
	seen := map[string]bool{}
	for range 1000 {
		seen[newID()] = true
	}
	if len(seen) != 1000 {
		t.Errorf("newID repeats: %d distinct of 1000", len(seen))
	}
}

func TestDecodeTraceReplies(t *testing.T) {
	tr := loadTrace(t)
	for _, c := range []struct {
		req, rep   int
		detail     string
		failure    string
		resultJSON string
	}{
		{0, 1, "pong", "", `"pong"`},
		{2, 3, "UnsupportedVersion (ping not enabled)", "UnsupportedVersion", "null"},
	} {
		if tr[c.rep].Exchange != "" || tr[c.rep].RoutingKeys[0] != mustReplyQ(t, tr[c.req].Body) {
			t.Errorf("reply %d goes to %q %v, want the default exchange and the reply queue", c.rep, tr[c.rep].Exchange, tr[c.rep].RoutingKeys)
		}
		r, err := decodeReply([]byte(tr[c.rep].Body))
		if err != nil {
			t.Fatalf("reply %d: %v", c.rep, err)
		}
		if want := requestMsgID([]byte(tr[c.req].Body)); r.MsgID != want {
			t.Errorf("reply %d: _msg_id %q, want the request's %q", c.rep, r.MsgID, want)
		}
		if !r.Ending || string(r.Result) != c.resultJSON || r.describe() != c.detail {
			t.Errorf("reply %d: ending %v result %s detail %q, want true %s %q", c.rep, r.Ending, r.Result, r.describe(), c.resultJSON, c.detail)
		}
		if (r.Failure == nil) != (c.failure == "") || (r.Failure != nil && (r.Failure.Class != c.failure || r.Failure.Module != "oslo_messaging.rpc.dispatcher")) {
			t.Errorf("reply %d: failure %+v, want class %q", c.rep, r.Failure, c.failure)
		}
	}
}

func mustReplyQ(t *testing.T, body string) string {
	t.Helper()
	_, msg := openEnvelope(t, []byte(body))
	return msg["_reply_q"].(string)
}

// wrap puts a message in the 2.0 envelope, as oslo does.
func wrap(msg string) string {
	b, _ := json.Marshal(map[string]string{"oslo.version": "2.0", "oslo.message": msg})
	return string(b)
}

func TestDecodeReply(t *testing.T) {
	for _, c := range []struct {
		name, body string
		detail     string // "" when decoding must fail
		ending     bool
	}{
		{"bare message", `{"result": "pong", "failure": null, "ending": true, "_msg_id": "a"}`, "pong", true},
		{"no ending key", wrap(`{"result": "pong", "_msg_id": "a"}`), "pong", true},
		{"heartbeat", wrap(`{"result": null, "failure": null, "ending": false, "_msg_id": "a"}`), "result null", false},
		{"no such method", wrap(`{"result": null, "failure": "{\"class\": \"NoSuchMethod\", \"message\": \"x\"}", "ending": true, "_msg_id": "a"}`), "NoSuchMethod (ping not enabled)", true},
		{"other remote error", wrap(`{"failure": "{\"class\": \"MessagingTimeout\", \"message\": \"Timed out waiting for a reply\"}", "ending": true, "_msg_id": "a"}`), "RemoteError MessagingTimeout: Timed out waiting for a reply", true},
		{"failure as object", wrap(`{"failure": {"class": "UnsupportedVersion"}, "_msg_id": "a"}`), "UnsupportedVersion (ping not enabled)", true},
		{"failure without class", wrap(`{"failure": "{}", "_msg_id": "a"}`), "RemoteError RemoteError: ", true},
		{"other result", wrap(`{"result": {"x": 1}, "_msg_id": "a"}`), `result {"x": 1}`, true},
		{"not JSON", `pong`, "", false},
		{"JSON array", `["pong"]`, "", false},
		{"envelope 1.0", `{"oslo.version": "1.0", "oslo.message": "{}"}`, "", false},
		{"envelope without message", `{"oslo.version": "2.0"}`, "", false},
		{"inner not JSON", wrap(`pong`), "", false},
		{"no _msg_id", wrap(`{"result": "pong", "ending": true}`), "", false},
		{"failure garbage", wrap(`{"failure": "not json", "_msg_id": "a"}`), "", false},
		{"oversized", wrap(`{"result": "` + strings.Repeat("x", maxReplyBytes) + `", "_msg_id": "a"}`), "", false},
	} {
		r, err := decodeReply([]byte(c.body))
		if c.detail == "" {
			if err == nil {
				t.Errorf("%s: decoded %+v, want an error", c.name, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if r.describe() != c.detail || r.Ending != c.ending || r.MsgID != "a" {
			t.Errorf("%s: detail %q ending %v id %q, want %q %v a", c.name, r.describe(), r.Ending, r.MsgID, c.detail, c.ending)
		}
	}
}

func TestDeliverRoutesByMsgID(t *testing.T) {
	s := &session{waiting: map[string]chan outcome{}, redact: func(s string) string { return s }}
	w := make(chan outcome, 1)
	s.waiting["a"] = w
	s.deliver([]byte(wrap(`{"result": null, "ending": false, "_msg_id": "a"}`)))  // heartbeat: keep waiting
	s.deliver([]byte(wrap(`{"result": "pong", "ending": true, "_msg_id": "b"}`))) // nobody waits
	s.deliver([]byte(`garbage`))
	select {
	case o := <-w:
		t.Fatalf("got %+v before the final reply", o)
	default:
	}
	s.deliver([]byte(wrap(`{"result": "pong", "ending": true, "_msg_id": "a"}`)))
	if o := <-w; o.reply.describe() != "pong" {
		t.Errorf("outcome %+v", o)
	}
	if s.late.Load() != 1 || s.undecodable.Load() != 1 {
		t.Errorf("late %d undecodable %d, want 1 1", s.late.Load(), s.undecodable.Load())
	}

	body, _ := encodeRequest("c", "reply_x", "u")
	wc := make(chan outcome, 1)
	s.waiting["c"] = wc
	s.returned(amqp.Return{ReplyCode: 312, ReplyText: "NO_ROUTE", Body: body})
	if o := <-wc; o.returned != "NO_ROUTE" {
		t.Errorf("returned outcome %+v, want NO_ROUTE", o)
	}
}
