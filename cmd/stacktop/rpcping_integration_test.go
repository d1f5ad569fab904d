package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/nova"
	"github.com/stacktop/stacktop/state"
)

// The dashboard's wiring on the dev cloud (scripts/dev-openstack): the Nova
// source lists the services, the rpcping source pings what the store's
// snapshot lists, and every nova-compute, conductor and scheduler row gets
// its RPC round trip.
func TestIntegrationRPCPingOfNovaServices(t *testing.T) {
	harness.Share(t) // before Require: a broker another test stopped is back once the lock is ours
	env := harness.Require(t, "openstack", "STACKTOP_TEST_TRANSPORT_URL")
	c, err := loadConfig("", false, func(k string) string {
		if k == "STACKTOP_TRANSPORT_URL" {
			return env.Get("STACKTOP_TEST_TRANSPORT_URL")
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	c.RPC.Interval = duration(2 * time.Second)
	r, err := newRPCSource(c.RPC)
	if err != nil {
		t.Fatal(err)
	}
	n, err := nova.New(nova.Config{Cloud: env.Get("STACKTOP_TEST_OS_CLOUD"), CloudsFile: env.Get("STACKTOP_TEST_CLOUDS_YAML"), Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	enabled := map[string]bool{}
	for _, s := range strings.Split(env.Get("STACKTOP_TEST_NOVA_RPC_PING"), ",") {
		enabled[s] = true
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newPipeline(state.NewStore(state.DefaultConfig()), []sources.Source{n, r})
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	for {
		select {
		case <-ctx.Done():
			t.Fatal("not every nova-compute, conductor and scheduler got an answered RPC ping within 60s")
		case snap := <-p.Snapshots():
			answered, pingable := 0, 0
			var rows []string
			for _, sv := range snap.Services {
				if _, ok := map[string]bool{"nova-compute": true, "nova-conductor": true, "nova-scheduler": true}[sv.Key.Binary]; !ok {
					continue
				}
				pingable++
				if sv.RPC == nil || sv.RPC.Result != sources.ProbeOK {
					continue
				}
				want := "UnsupportedVersion (ping not enabled)"
				if enabled[sv.Key.Host] || enabled[sv.Key.Binary] {
					want = "pong"
				}
				if sv.RPC.Detail != want {
					t.Fatalf("%s on %s: %q, want %q", sv.Key.Binary, sv.Key.Host, sv.RPC.Detail, want)
				}
				answered++
				rows = append(rows, sv.Key.Binary+"@"+sv.Key.Host+" "+sv.RPC.Detail+" "+sv.RPC.RTT.Round(10*time.Microsecond).String())
			}
			if pingable >= 4 && answered == pingable {
				h, _ := snap.Source(r.Name())
				if h.LastErr != "" || strings.Contains(h.Target, "@") {
					t.Errorf("rpcping health %+v", h)
				}
				t.Logf("%d services answered: %s; rpcping health: %s, %s", answered, strings.Join(rows, "; "), h.Target, h.Detail)
				return
			}
		}
	}
}
