package rabbitmq

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/internal/faultproxy"
	"github.com/stacktop/stacktop/state"
)

// TestRabbitFaultProxy polls the real management API through a
// fault-injecting TLS proxy (the client trusts the proxy's CA): each fault
// is named in the health, the password never reaches a batch, the data goes
// stale in the state, and the next poll after the fault is off succeeds.
func TestRabbitFaultProxy(t *testing.T) {
	harness.Share(t)
	b := sharedBroker(t)
	dir := t.TempDir()
	ca, err := faultproxy.NewCA(dir, "trusted")
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := faultproxy.NewCA(dir, "rogue")
	if err != nil {
		t.Fatal(err)
	}
	px, err := faultproxy.New(b.url, faultproxy.Options{TLS: ca, Rogue: rogue})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	px.RetryAfter = 45
	away, err := faultproxy.NewElsewhere()
	if err != nil {
		t.Fatal(err)
	}
	defer away.Close()
	faultproxy.RedirectTo(away)

	s := newITSource(t, b, func(c *Config) {
		c.URL, c.CAFile, c.PrometheusURLs, c.Mode = px.URL, ca.File, nil, ModeManagement
	})
	secrets := []string{b.monitor[1], base64.StdEncoding.EncodeToString([]byte(b.monitor[0] + ":" + b.monitor[1]))}
	noLeak := func(bt sources.Batch) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(bt.Health.Err, sec) || strings.Contains(bt.Health.Detail, sec) || strings.Contains(bt.Health.Target, sec) {
				t.Fatalf("the password reached a batch: %+v", bt.Health)
			}
		}
	}
	s.pollUntil("a poll through the proxy", 60*time.Second, func(bt sources.Batch, _ *state.Snapshot) string {
		if !bt.Health.OK {
			return bt.Health.Err
		}
		return ""
	})

	faults := []struct {
		fault faultproxy.Fault
		want  []string
		stale bool
	}{
		{faultproxy.StallBody, []string{"rabbitmq: list nodes: GET ", "timed out after 3s"}, true},
		{faultproxy.TooMany, []string{"HTTP 429 Too Many Requests", "next poll in 45s, as the server asked (Retry-After)"}, false},
		{faultproxy.Redirect, []string{"redirect (307) to http://127.0.0.2:", "refused: another scheme than https"}, false},
		{faultproxy.Reset, []string{"rabbitmq: list nodes: GET ", "connection reset by peer"}, false},
		{faultproxy.Untrusted, []string{"TLS certificate not trusted (set a CA file, or insecure)"}, false},
	}
	for _, f := range faults {
		t.Run(f.fault.String(), func(t *testing.T) {
			px.Set(f.fault)
			bt, snap := s.poll()
			noLeak(bt)
			t.Logf("health: %s", bt.Health.Err)
			if bt.Health.OK || bt.Nodes != nil || bt.Queues != nil {
				t.Errorf("a fault read as a good poll: %+v", bt.Health)
			}
			for _, want := range f.want {
				if !strings.Contains(bt.Health.Err, want) {
					t.Errorf("health %q, want %q in it", bt.Health.Err, want)
				}
			}
			if h, _ := snap.Source(sources.NameRabbitMQ); h.LastErr != bt.Health.Err || len(snap.Nodes) == 0 {
				t.Errorf("state: %q with %d nodes kept, want the error and the last nodes", h.LastErr, len(snap.Nodes))
			}
			if f.stale {
				s.pollUntil("the data stale", 60*time.Second, func(bt sources.Batch, snap *state.Snapshot) string {
					noLeak(bt)
					if h, _ := snap.Source(sources.NameRabbitMQ); !h.Stale(snap.At) {
						return "not stale yet"
					}
					return ""
				})
			}
			px.Set(faultproxy.None)
			s.pollUntil("recovery once the fault is off", 60*time.Second, func(bt sources.Batch, snap *state.Snapshot) string {
				noLeak(bt)
				if !bt.Health.OK {
					return bt.Health.Err
				}
				if h, _ := snap.Source(sources.NameRabbitMQ); h.Stale(snap.At) || h.LastErr != "" {
					return "still stale in the state"
				}
				return ""
			})
		})
	}
	if got := away.Received(); len(got) != 0 {
		t.Errorf("the redirect was followed to another host: %q", got)
	}
}
