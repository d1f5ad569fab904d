package demo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock/clocktest"
	"github.com/stacktop/stacktop/sources/rpcping"
)

// TestRPCPingsThroughTheSource pings services of the demo with the real
// rpcping Source on its simulator, through the scenario.
func TestRPCPingsThroughTheSource(t *testing.T) {
	c, clk := testScenario(t, Config{})
	src, err := rpcping.New(rpcping.Config{TransportURL: "rabbit://demo@127.0.0.1:5672/nova", Targets: func() []rpcping.Target { return nil },
		Simulator: c.RPCSimulator(), Clock: clocktest.Instant(clk.Now)})
	if err != nil {
		t.Fatal(err)
	}
	ping := func(binary, host string) sources.Probe {
		tg, ok := rpcping.NewTarget(binary, host)
		if !ok {
			t.Fatalf("no target %s on %s", binary, host)
		}
		return src.Ping(context.Background(), tg)
	}
	tl := c.Timeline()
	results := func(sec float64) map[sources.ProbeResult]int {
		clk.Set(at(sec))
		n := map[sources.ProbeResult]int{}
		for _, s := range c.sc.services {
			if tg, ok := rpcping.NewTarget(s.binary, s.host); ok {
				n[src.Ping(context.Background(), tg).Result]++
			}
		}
		return n
	}
	// Healthy: every service answers, most pong, a few without ping enabled.
	clk.Set(at(10))
	details := map[string]int{}
	for _, s := range c.sc.services {
		if _, ok := rpcping.NewTarget(s.binary, s.host); !ok {
			continue
		}
		p := ping(s.binary, s.host)
		if p.Result != sources.ProbeOK || p.RTT <= 0 || p.RTT > 10*time.Millisecond || !p.At.Equal(at(10)) {
			t.Errorf("%s on %s, healthy: %+v", s.binary, s.host, p)
		}
		details[p.Detail]++
	}
	if details["pong"] < 30 || details["UnsupportedVersion (ping not enabled)"] < 2 || len(details) != 2 {
		t.Errorf("healthy replies %v, want mostly pong and a few UnsupportedVersion", details)
	}
	if p := ping("nova-compute", "compute-99"); p.Result != sources.ProbeError || !strings.HasPrefix(p.Detail, "unroutable") {
		t.Errorf("a host with no service: %+v, want unroutable", p)
	}
	if n := results(tl.Alarms[0][0].Seconds() + 1); n[sources.ProbeBlocked] != 44 {
		t.Errorf("in the memory alarm: %v, want every ping blocked", n)
	}
	if n := results(105); n[sources.ProbeTimeout] < 3 || n[sources.ProbeOK] < 20 {
		t.Errorf("flapping: %v, want some stuck services timing out, most answering", n)
	}
	if n := results(tl.BrokerDown.Seconds() + 2); n[sources.ProbeError] != 44 {
		t.Errorf("broker down: %v, want every ping failing", n)
	}
	if b := src.Batch(nil); b.Health.OK || b.Health.Kind != sources.FailReset || !strings.Contains(b.Health.Err, "CONNECTION_FORCED") {
		t.Errorf("health with the broker down: %+v", b.Health)
	}
	if n := results(tl.BrokerUp.Seconds() + 0.5); n[sources.ProbeError] < 20 {
		t.Errorf("just after the broker is back: %v, want most unroutable", n)
	}
	if n := results(240); n[sources.ProbeOK] != 44 {
		t.Errorf("recovered: %v, want every service answering", n)
	}
	if b := src.Batch(nil); !b.Health.OK {
		t.Errorf("health after recovery: %+v", b.Health)
	}
}

// TestRPCReplyMatchesTrace holds the simulated replies to the real ones of
// the firehose trace: the same envelope, the same members in the same
// order, the same failure for a service without ping enabled.
func TestRPCReplyMatchesTrace(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "oslo-rpc-ping-trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var trace struct {
		Messages []struct {
			Exchange string `json:"exchange_name"`
			Body     string `json:"body"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &trace); err != nil {
		t.Fatal(err)
	}
	var replies []string
	for _, m := range trace.Messages {
		if m.Exchange == "" {
			replies = append(replies, m.Body)
		}
	}
	if len(replies) != 2 {
		t.Fatalf("%d replies in the trace, want pong and UnsupportedVersion", len(replies))
	}
	for i, enabled := range []bool{true, false} {
		got, want := inner(t, osloReply("b351114d792a442e9049fbdda69f7b20", enabled, 7)), inner(t, []byte(replies[i]))
		if !slices.Equal(keysInOrder(t, got), keysInOrder(t, want)) {
			t.Errorf("reply members %v, the trace's %v", keysInOrder(t, got), keysInOrder(t, want))
		}
		var g, w map[string]any
		_ = json.Unmarshal(got, &g)
		_ = json.Unmarshal(want, &w)
		if g["result"] != w["result"] || g["ending"] != w["ending"] || (g["failure"] == nil) != (w["failure"] == nil) {
			t.Errorf("reply %s, the trace's %s", got, want)
		}
		if !enabled && g["failure"] != w["failure"] {
			t.Errorf("failure %v, the trace's %v", g["failure"], w["failure"])
		}
	}
}

func inner(t *testing.T, body []byte) []byte {
	t.Helper()
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil || env["oslo.version"] != "2.0" {
		t.Fatalf("envelope %s: %v", body, err)
	}
	return []byte(env["oslo.message"])
}

func keysInOrder(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
