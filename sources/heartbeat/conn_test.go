package heartbeat

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConnConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		c       ConnConfig
		wantErr string
		target  string
	}{
		{c: ConnConfig{URL: "amqp://mq1:5672/"}, target: "amqp://mq1:5672/"},
		{c: ConnConfig{URL: "amqps://mq1:5671/nova"}, target: "amqps://mq1:5671/nova"},
		{c: ConnConfig{URL: "amqp://mq1:5672/nova", VHost: "other"}, target: "amqp://mq1:5672/other"},
		{c: ConnConfig{URL: "amqp://mq1:5672/%2f"}, target: "amqp://mq1:5672/"},
		{c: ConnConfig{URL: "amqp://mq1"}, target: "amqp://mq1/"},
		{c: ConnConfig{}, wantErr: "no broker URL"},
		{c: ConnConfig{URL: "https://mq1:15672"}, wantErr: "amqp(s)://"},
		{c: ConnConfig{URL: "amqp://guest:hunter2@mq1/"}, wantErr: "credentials do not belong"},
		{c: ConnConfig{URL: "amqp://mq1/", CAFile: "/ca.pem"}, wantErr: "amqps"},
	} {
		err := tt.c.Validate()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%q: error %v, want %q", tt.c.URL, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.c.URL, err)
		}
		if got := tt.c.Target(); got != tt.target {
			t.Errorf("%q: target %q, want %q", tt.c.URL, got, tt.target)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	wantCaps := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, c := range wantCaps {
		c *= time.Millisecond
		d := b.next()
		if d < c/2 || d > c {
			t.Errorf("step %d: %s, want in [%s, %s]", i, d, c/2, c)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %s", d)
	}
}

// TestDialVerifiesTLS: an amqps:// broker whose certificate does not chain
// to the configured roots is refused; with its CA file the TLS handshake
// passes (and the AMQP handshake then fails on this HTTP server).
func TestDialVerifiesTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	c := ConnConfig{URL: "amqps://" + addr + "/", DialTimeout: 2 * time.Second}
	_, err := c.dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: error %v, want a verification failure", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	// httptest's certificate is for 127.0.0.1 and example.com.
	c.CAFile = ca
	_, err = c.dial(context.Background())
	if err == nil || strings.Contains(err.Error(), "certificate") {
		t.Fatalf("trusted certificate: error %v, want a non-TLS (AMQP handshake) failure", err)
	}
	c.CAFile = filepath.Join(t.TempDir(), "empty.pem")
	_ = os.WriteFile(c.CAFile, []byte("not pem"), 0o600)
	if _, err := c.dial(context.Background()); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Errorf("bad CA file: error %v", err)
	}
}
