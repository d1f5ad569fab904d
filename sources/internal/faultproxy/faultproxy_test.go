package faultproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaults: each fault as a client meets it, and the pass-through between them.
func TestFaults(t *testing.T) {
	var upstream *httptest.Server
	upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"self": "`+upstream.URL+`/v2.1/thing", "pad": "`+strings.Repeat("x", 1000)+`"}`)
	}))
	defer upstream.Close()
	dir := t.TempDir()
	ca, err := NewCA(dir, "trusted")
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := NewCA(dir, "rogue")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(upstream.URL+"/v2.1", Options{TLS: ca, Rogue: rogue})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	away, err := NewElsewhere()
	if err != nil {
		t.Fatal(err)
	}
	defer away.Close()
	RedirectTo(away)

	pem, _ := os.ReadFile(ca.File)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(timeout time.Duration) (*http.Response, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/thing", nil)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	tests := []struct {
		fault Fault
		check func(*http.Response, []byte, error) string // "" when as expected
	}{
		{None, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 200 || !strings.Contains(string(b), `"self": "`+strings.TrimSuffix(p.URL, "/v2.1")+`/v2.1/thing"`) {
				return "want the body with the upstream's origin rewritten to the proxy's"
			}
			return ""
		}},
		{StallBody, func(r *http.Response, b []byte, err error) string {
			if !errors.Is(err, context.DeadlineExceeded) || r == nil || r.StatusCode != 200 || len(b) == 0 || len(b) >= int(r.ContentLength) {
				return "want the status, half the body, then the client's deadline"
			}
			return ""
		}},
		{TooMany, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 429 || r.Header.Get("Retry-After") != "30" {
				return "want 429 with Retry-After: 30"
			}
			return ""
		}},
		{Redirect, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 307 || !strings.HasPrefix(r.Header.Get("Location"), away.URL+"/v2.1/thing") {
				return "want 307 to the other host"
			}
			return ""
		}},
		{Untrusted, func(r *http.Response, b []byte, err error) string {
			var ua x509.UnknownAuthorityError
			if !errors.As(err, &ua) {
				return "want a certificate from an unknown authority"
			}
			return ""
		}},
		{Reset, func(r *http.Response, b []byte, err error) string {
			if !errors.Is(err, syscall.ECONNRESET) {
				return "want a reset connection"
			}
			return ""
		}},
		{None, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 200 {
				return "want the pass-through back"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			p.Set(tt.fault)
			timeout := 30 * time.Second // generous: only the stall waits for it
			if tt.fault == StallBody {
				timeout = 500 * time.Millisecond
			}
			r, b, err := get(timeout)
			if why := tt.check(r, b, err); why != "" {
				status := 0
				if r != nil {
					status = r.StatusCode
				}
				t.Errorf("%s: got status %d, %d bytes, err %v", why, status, len(b), err)
			}
		})
	}
}
