package nova

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/internal/faultproxy"
	"github.com/stacktop/stacktop/state"
)

// TestIntegrationFaultProxy drives the real source against the dev cloud's
// real Keystone and Nova through fault-injecting TLS proxies (the client
// trusts the proxies' CA): each fault is named in the health, no
// credential or token reaches a batch, the services go stale in the state,
// and the source recovers by itself once the fault is off.
func TestIntegrationFaultProxy(t *testing.T) {
	// retryAfter is the proxies' 429 Retry-After, s: longer than the poll
	// interval below, so the health's "next poll in 10s" shows it honoured.
	const retryAfter = 10
	c := useDevCloud(t, false)
	env, err := harness.Load("openstack")
	if err != nil {
		t.Fatal(err)
	}
	novaURL := env.Get("STACKTOP_TEST_NOVA_URL")
	if novaURL == "" {
		harness.Absent(t, "the openstack harness names no STACKTOP_TEST_NOVA_URL")
	}
	dir := t.TempDir()
	ca, err := faultproxy.NewCA(dir, "trusted")
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := faultproxy.NewCA(dir, "rogue")
	if err != nil {
		t.Fatal(err)
	}
	rw := &faultproxy.Rewrites{}
	ks, err := faultproxy.New(c.keystoneURL, faultproxy.Options{TLS: ca, Rogue: rogue, Rewrites: rw})
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	nv, err := faultproxy.New(novaURL, faultproxy.Options{TLS: ca, Rogue: rogue, Rewrites: rw})
	if err != nil {
		t.Fatal(err)
	}
	defer nv.Close()
	nv.RetryAfter = retryAfter

	// The dev cloud's clouds.yaml, its auth_url pointed at the Keystone proxy.
	raw, err := os.ReadFile(c.cloudsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), c.keystoneURL) {
		t.Fatalf("%s does not name %s", c.cloudsFile, c.keystoneURL)
	}
	clouds := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(clouds, []byte(strings.ReplaceAll(string(raw), c.keystoneURL, ks.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The dev cloud lists its services in about 0.1 s (Keystone caches its
	// validations), more on a loaded machine: a timeout with room, which a
	// stalled body costs in full.
	cfg := Config{CloudsFile: clouds, Cloud: c.cloud, CAFile: ca.File, Interval: 4 * time.Second, Timeout: 3 * time.Second}

	s, w := c.watchConfig(t, cfg)
	w.store = state.NewStore(state.DefaultConfig())
	w.next(t, "services through the proxies", 60*time.Second, func(b sources.Batch) bool { return b.Health.OK && len(b.Services) > 0 })
	if nv.Requests() == 0 || ks.Requests() == 0 {
		t.Fatalf("requests through the proxies: keystone %d, nova %d", ks.Requests(), nv.Requests())
	}
	tok := token(s)
	noLeak := func(t *testing.T, b sources.Batch) {
		t.Helper()
		for _, secret := range append([]string{tok}, c.secrets...) {
			if secret != "" && (strings.Contains(b.Health.Err, secret) || strings.Contains(b.Health.Detail, secret) || strings.Contains(b.Health.Target, secret)) {
				t.Fatalf("batch health leaks a credential or the token: %+v", b.Health)
			}
		}
	}

	faults := []struct {
		proxy *faultproxy.Proxy
		fault faultproxy.Fault
		want  []string // in the health's error
		stale bool     // wait for the services to read stale (two intervals)
	}{
		{nv, faultproxy.StallBody, []string{"nova: list services: ", "timed out"}, true},
		{nv, faultproxy.TooMany, []string{"rate limited (429) from GET", "as the server asked (Retry-After)"}, false},
		{nv, faultproxy.Reset, []string{"nova: list services: ", "connection reset by peer"}, false},
		{nv, faultproxy.Untrusted, []string{"TLS: certificate signed by an unknown authority"}, false},
	}
	for _, f := range faults {
		t.Run(f.fault.String(), func(t *testing.T) {
			f.proxy.Set(f.fault)
			b := w.next(t, "the fault in the health", 120*time.Second, func(b sources.Batch) bool {
				noLeak(t, b)
				return !b.Health.OK && b.Health.Err != ""
			})
			t.Logf("health: %s", b.Health.Err)
			for _, want := range f.want {
				if !strings.Contains(b.Health.Err, want) {
					t.Errorf("health %q, want %q in it", b.Health.Err, want)
				}
			}
			if b.Services != nil {
				t.Errorf("a failed poll carries services")
			}
			snap := w.store.Snapshot()
			if h, _ := snap.Source(sources.NameNova); h.LastErr != b.Health.Err {
				t.Errorf("state's nova health %q, want %q", h.LastErr, b.Health.Err)
			}
			if f.stale {
				// Stale in the state once past two intervals without a success.
				w.next(t, "the services stale", 90*time.Second, func(b sources.Batch) bool {
					noLeak(t, b)
					snap := w.store.Snapshot()
					h, ok := snap.Source(sources.NameNova)
					return ok && h.Stale(snap.At) && h.LastErr != "" && len(snap.Services) > 0
				})
			}
			f.proxy.Set(faultproxy.None)
			w.next(t, "recovery once the fault is off", 180*time.Second, func(b sources.Batch) bool {
				noLeak(t, b)
				return b.Health.OK && len(b.Services) > 0
			})
		})
	}

	// Keystone's faults bite when a token is asked for: a new source.
	for _, f := range []struct {
		fault faultproxy.Fault
		want  []string
	}{
		{faultproxy.TooMany, []string{"nova: authenticate: ", "rate limited (429) from POST", "as the server asked (Retry-After)"}},
		{faultproxy.Reset, []string{"nova: authenticate: ", "connection reset by peer"}},
		{faultproxy.Untrusted, []string{"nova: authenticate: ", "TLS: certificate signed by an unknown authority"}},
	} {
		t.Run("keystone "+f.fault.String(), func(t *testing.T) {
			ks.RetryAfter = retryAfter
			ks.Set(f.fault)
			_, w := c.watchConfig(t, cfg)
			b := w.next(t, "the fault in the health", 120*time.Second, func(b sources.Batch) bool {
				noLeak(t, b)
				return !b.Health.OK && b.Health.Err != ""
			})
			t.Logf("health: %s", b.Health.Err)
			for _, want := range f.want {
				if !strings.Contains(b.Health.Err, want) {
					t.Errorf("health %q, want %q in it", b.Health.Err, want)
				}
			}
			ks.Set(faultproxy.None)
			w.next(t, "recovery once the fault is off", 180*time.Second, func(b sources.Batch) bool {
				noLeak(t, b)
				return b.Health.OK && len(b.Services) > 0
			})
		})
	}
}
