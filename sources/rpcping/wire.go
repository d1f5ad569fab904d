package rpcping

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The wire format of oslo.messaging's rabbit driver (oslo.messaging 14,
// _drivers/amqpdriver.py and common.py), as RabbitMQ's firehose shows it in
// /work/shared/fixtures/oslo-rpc-ping-trace.json:
//
//   - a call is published to the control exchange (a topic exchange, "nova")
//     with routing key "<topic>.<server>", e.g. "compute.compute-1", with
//     content type application/json, encoding utf-8, delivery mode 2,
//     priority 0 and expiration = the call's timeout in milliseconds;
//   - its body is the version 2.0 envelope, {"oslo.version": "2.0",
//     "oslo.message": "<the message as a JSON string>"}, the message being
//     {"method", "args", "_msg_id", "_reply_q", "_timeout", "_unique_id"}
//     plus "_context_<key>" for each key of the request context (stacktop
//     sends an empty context, as the trace's caller did, so there are none)
//     and "version"/"namespace" when the target sets them (the ping does not:
//     the dispatcher defaults to version 1.0 and no namespace);
//   - the server replies through the default exchange with routing key =
//     the caller's reply queue ("reply_<uuid hex>"), the same envelope around
//     {"result", "failure", "ending", "_msg_id", "_unique_id"}; "failure" is
//     a JSON string {"class", "module", "message", "tb", "args", "kwargs"}.
//     A reply with "ending": false is a call-monitor heartbeat (sent only
//     when "_timeout" is set, which stacktop never does).

// PingMethod is the one method stacktop ever calls: oslo.messaging's no-op
// ping (oslo.messaging ≥ 12), answered "pong" when the service has
// rpc_ping_enabled = true and with a RemoteError UnsupportedVersion (or
// NoSuchMethod) otherwise, both after a full trip through the broker.
const PingMethod = "oslo_rpc_server_ping"

// envelopeVersion is oslo.messaging's _MESSAGE_VERSION.
const envelopeVersion = "2.0"

// maxReplyBytes bounds a reply body; anything larger is not a ping reply.
const maxReplyBytes = 64 << 10

// envelope is oslo.messaging's versioned wrapper (common.serialize_msg).
type envelope struct {
	Version string `json:"oslo.version"`
	Message string `json:"oslo.message"`
}

// request is the message of a call. Field order follows the trace.
type request struct {
	Method   string         `json:"method"`
	Args     map[string]any `json:"args"`
	MsgID    string         `json:"_msg_id"`
	ReplyQ   string         `json:"_reply_q"`
	Timeout  *int           `json:"_timeout"` // call-monitor timeout; null: no heartbeats from the server
	UniqueID string         `json:"_unique_id"`
}

// encodeRequest returns the enveloped body of a ping call.
func encodeRequest(msgID, replyQ, uniqueID string) ([]byte, error) {
	inner, err := json.Marshal(request{Method: PingMethod, Args: map[string]any{}, MsgID: msgID, ReplyQ: replyQ, UniqueID: uniqueID})
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{Version: envelopeVersion, Message: string(inner)})
}

// reply is a decoded reply message.
type reply struct {
	MsgID   string
	Result  json.RawMessage // JSON value; "null" when absent
	Failure *remoteError    // nil when the call succeeded
	Ending  bool            // false: a call-monitor heartbeat, more to come
}

// remoteError is an exception raised in the server, as oslo serialises it.
type remoteError struct {
	Class   string `json:"class"`
	Module  string `json:"module"`
	Message string `json:"message"`
}

type wireReply struct {
	Result  json.RawMessage `json:"result"`
	Failure json.RawMessage `json:"failure"`
	Ending  *bool           `json:"ending"`
	MsgID   string          `json:"_msg_id"`
}

// decodeReply parses a reply body: the 2.0 envelope, or a bare message as
// oslo's deserialize_msg also accepts.
func decodeReply(body []byte) (reply, error) {
	if len(body) > maxReplyBytes {
		return reply{}, fmt.Errorf("reply of %d bytes is over the %d byte limit", len(body), maxReplyBytes)
	}
	inner, err := unwrap(body)
	if err != nil {
		return reply{}, err
	}
	var w wireReply
	if err := json.Unmarshal(inner, &w); err != nil {
		return reply{}, fmt.Errorf("reply message: %v", err)
	}
	if w.MsgID == "" {
		return reply{}, errors.New("reply without _msg_id")
	}
	r := reply{MsgID: w.MsgID, Result: w.Result, Ending: w.Ending == nil || *w.Ending}
	if len(r.Result) == 0 {
		r.Result = json.RawMessage("null")
	}
	if f := bytes.TrimSpace(w.Failure); len(f) > 0 && !bytes.Equal(f, []byte("null")) {
		re, err := decodeFailure(f)
		if err != nil {
			return reply{}, err
		}
		r.Failure = re
	}
	return r, nil
}

// unwrap returns the message inside an envelope, or body itself when it is
// a bare message (no "oslo.version").
func unwrap(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("reply is not a JSON object: %v", err)
	}
	v, ok := m["oslo.version"]
	if !ok {
		return body, nil
	}
	var version string
	if err := json.Unmarshal(v, &version); err != nil || version != envelopeVersion {
		return nil, fmt.Errorf("unsupported envelope version %s", truncate(string(v), 20))
	}
	var msg string
	if err := json.Unmarshal(m["oslo.message"], &msg); err != nil {
		return nil, errors.New("envelope without an oslo.message string")
	}
	return []byte(msg), nil
}

// decodeFailure reads "failure": a JSON string holding the exception
// object (oslo's serialize_remote_exception), or the object itself.
func decodeFailure(raw json.RawMessage) (*remoteError, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		raw = json.RawMessage(s)
	}
	var re remoteError
	if err := json.Unmarshal(raw, &re); err != nil {
		return nil, fmt.Errorf("reply failure: %v", err)
	}
	if re.Class == "" {
		re.Class = "RemoteError"
	}
	return &re, nil
}

// describe turns a final reply into a probe detail. Every reply counts as
// a successful round trip: it came from the service through the broker.
func (r reply) describe() string {
	if r.Failure != nil {
		switch r.Failure.Class {
		case "UnsupportedVersion", "NoSuchMethod":
			return r.Failure.Class + " (ping not enabled)"
		}
		return "RemoteError " + r.Failure.Class + ": " + truncate(r.Failure.Message, 80)
	}
	var s string
	if bytes.HasPrefix(r.Result, []byte(`"`)) && json.Unmarshal(r.Result, &s) == nil {
		return truncate(s, 80)
	}
	return "result " + truncate(string(r.Result), 80)
}

// newID returns a uuid4().hex-like random identifier, as oslo uses for
// _msg_id, _unique_id and reply queue names.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
