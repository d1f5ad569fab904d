package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/rpcping"
	"github.com/stacktop/stacktop/state"
)

const novaConf = `[DEFAULT]
# transport_url = rabbit://old:old@gone:5672/nova
host = compute-1
transport_url = rabbit://nova:hunter2@mq1:5672,nova:hunter2@mq2:5672/nova
[oslo_messaging_notifications]
transport_url = rabbit://notify:other@mq9:5672/notifications
`

func TestRPCConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	urlFile := write("transport_url", "# Nova's transport_url\n\nrabbit://nova:hunter2@mq1:5672/nova\n")
	confFile := write("nova.conf", novaConf)
	noURL := write("nova-nourl.conf", "[DEFAULT]\nhost = x\n[oslo_messaging_notifications]\ntransport_url = rabbit://a:b@c/d\n")
	empty := write("empty", "\n# nothing\n")

	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantErr string
		wantURL string
		check   func(*testing.T, rpcConfig)
	}{
		{name: "no rpc section", yaml: "nova: {cloud: x}"},
		{name: "url in the file", yaml: "rpc: {transport_url: 'rabbit://nova:hunter2@mq1:5672/nova', interval: 30s, timeout: 2s, concurrency: 2, exchange: openstack}",
			wantURL: "rabbit://nova:hunter2@mq1:5672/nova", check: func(t *testing.T, r rpcConfig) {
				if time.Duration(r.Interval) != 30*time.Second || time.Duration(r.Timeout) != 2*time.Second || r.Concurrency != 2 || r.Exchange != "openstack" {
					t.Errorf("parsed %+v", r)
				}
			}},
		{name: "url file", yaml: "rpc: {transport_url_file: " + urlFile + "}", wantURL: "rabbit://nova:hunter2@mq1:5672/nova"},
		{name: "nova.conf itself", yaml: "rpc: {transport_url_file: " + confFile + "}", wantURL: "rabbit://nova:hunter2@mq1:5672,nova:hunter2@mq2:5672/nova"},
		{name: "environment wins", yaml: "rpc: {transport_url_file: " + confFile + "}",
			env: map[string]string{"STACKTOP_TRANSPORT_URL": "rabbit://e:hunter2@env:5672/nova"}, wantURL: "rabbit://e:hunter2@env:5672/nova"},
		{name: "environment only", env: map[string]string{"STACKTOP_TRANSPORT_URL": "amqp://e:hunter2@env/nova"}, wantURL: "amqp://e:hunter2@env/nova"},
		{name: "both keys", yaml: "rpc: {transport_url: 'rabbit://a:hunter2@b/c', transport_url_file: /x}", wantErr: "both set"},
		{name: "missing file", yaml: "rpc: {transport_url_file: " + filepath.Join(dir, "nope") + "}", wantErr: "rpc.transport_url_file"},
		{name: "nova.conf without it", yaml: "rpc: {transport_url_file: " + noURL + "}", wantErr: "no transport_url in its [DEFAULT] section"},
		{name: "empty file", yaml: "rpc: {transport_url_file: " + empty + "}", wantErr: "is empty"},
		{name: "bad url redacted", yaml: "rpc: {transport_url: 'http://nova:hunter2@mq1:5672/nova'}", wantErr: "rpc.transport_url: "},
		{name: "bad url in env redacted", env: map[string]string{"STACKTOP_TRANSPORT_URL": "nova:hunter2@mq1"}, wantErr: "config environment: rpc.transport_url"},
		{name: "interval out of range", yaml: "rpc: {transport_url: 'rabbit://a:b@c/d', interval: 10ms}", wantErr: "rpc.interval"},
		{name: "concurrency out of range", yaml: "rpc: {transport_url: 'rabbit://a:b@c/d', concurrency: 1000}", wantErr: "rpc.concurrency"},
		{name: "settings without url", yaml: "rpc: {interval: 30s}", wantErr: "without a transport URL"},
		{name: "unknown key", yaml: "rpc: {transport_uri: x}", wantErr: "transport_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = write("config.yaml", tt.yaml)
			}
			c, err := loadConfig(path, path != "", func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("err = %v leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.RPC.TransportURL != tt.wantURL {
				t.Errorf("transport URL %q, want %q", c.RPC.TransportURL, tt.wantURL)
			}
			if tt.check != nil {
				tt.check(t, c.RPC)
			}
		})
	}
}

// The source pings what the store's latest snapshot lists: nova-compute,
// -conductor and -scheduler, not nova-api; nothing until it is bound.
func TestRPCSourceTargetsFromStore(t *testing.T) {
	r, err := newRPCSource(rpcConfig{TransportURL: "rabbit://nova:hunter2@127.0.0.1:5672/nova"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != rpcping.Name || strings.Contains(r.Target(), "hunter2") {
		t.Errorf("name %q target %q", r.Name(), r.Target())
	}
	if got := r.targets(); got != nil {
		t.Errorf("targets before the store is bound: %v", got)
	}
	store := state.NewStore(state.DefaultConfig())
	newPipeline(store, []sources.Source{r}) // binds
	now := time.Now()
	store.Apply(sources.Batch{Source: sources.NameNova, At: now, Health: sources.Health{OK: true}, Services: []sources.Service{
		{ID: "1", Binary: "nova-compute", Host: "compute-2", State: sources.StateUp, Status: sources.StatusEnabled, UpdatedAt: now},
		{ID: "2", Binary: "nova-compute", Host: "compute-1", State: sources.StateDown, Status: sources.StatusDisabled, UpdatedAt: now},
		{ID: "3", Binary: "nova-conductor", Host: "ctl", State: sources.StateUp, Status: sources.StatusEnabled, UpdatedAt: now},
		{ID: "4", Binary: "nova-scheduler", Host: "ctl", State: sources.StateUp, Status: sources.StatusEnabled, UpdatedAt: now},
		{ID: "5", Binary: "nova-api", Host: "ctl", State: sources.StateUp, Status: sources.StatusEnabled, UpdatedAt: now},
	}})
	var keys []string
	for _, tg := range r.targets() {
		keys = append(keys, tg.RoutingKey())
	}
	slices.Sort(keys)
	want := []string{"compute.compute-1", "compute.compute-2", "conductor.ctl", "scheduler.ctl"}
	if !slices.Equal(keys, want) {
		t.Errorf("targets %v, want %v", keys, want)
	}
	if snapshotTargets(nil) != nil {
		t.Error("targets of no snapshot")
	}
}

func TestUsageNamesTransportURL(t *testing.T) {
	if !strings.Contains(usage, "STACKTOP_TRANSPORT_URL") {
		t.Error("--help does not mention STACKTOP_TRANSPORT_URL")
	}
}
