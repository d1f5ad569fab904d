package nova

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/httppolicy"
	"github.com/stacktop/stacktop/sources/internal/rsstest"
)

// otherHost is a second server, a second host as far as the redirect rule
// goes: it records what reached it and answers os-services with an empty list.
type otherHost struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string // "METHOD path token=… body=…"
}

func newOtherHost(t *testing.T) *otherHost {
	o := &otherHost{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.got = append(o.got, r.Method+" "+r.URL.Path+" token="+r.Header.Get("X-Auth-Token")+" body="+string(body))
		o.mu.Unlock()
		writeJSON(w, 200, `{"services": []}`)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *otherHost) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.got...)
}

// redirecting puts a handler in front of the fake cloud that redirects the
// requests matching when to target (given the request), and serves the rest.
func redirecting(f *fakeCloud, code int, when func(*http.Request) bool, target func(*http.Request) string) {
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if when(r) {
			w.Header().Set("Location", target(r))
			w.WriteHeader(code)
			return
		}
		f.ServeHTTP(w, r)
	})
}

func isTokenPOST(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/auth/tokens")
}

func isServices(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/os-services") && r.URL.Query().Get("moved") == ""
}

// TestRedirectsToAnotherOriginRefused: neither the password nor the token
// ever reaches a host, scheme or port nobody configured, and the poll fails
// (the state keeps the last services, stale) instead of showing that
// host's empty list as "nova ok, 0 services".
func TestRedirectsToAnotherOriginRefused(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		code    int
		when    func(*http.Request) bool
		other   func(o *otherHost) string // the Location's origin
		wantErr string
	}{
		{"Keystone token POST 307 to another host", false, 307, isTokenPOST,
			func(o *otherHost) string { return strings.Replace(o.srv.URL, "127.0.0.1", "localhost", 1) },
			"nova: authenticate: redirect (307) to http://localhost:"},
		{"Keystone token POST 308 to another port", false, 308, isTokenPOST,
			func(o *otherHost) string { return o.srv.URL }, "redirect (308) to http://127.0.0.1:"},
		{"Keystone https to http", true, 307, isTokenPOST,
			func(o *otherHost) string { return o.srv.URL }, "refused: another scheme than https"},
		{"os-services 301 to another host", false, 301, isServices,
			func(o *otherHost) string { return strings.Replace(o.srv.URL, "127.0.0.1", "localhost", 1) },
			"nova: list services: redirect (301) to http://localhost:"},
		{"os-services 302 to another port", false, 302, isServices,
			func(o *otherHost) string { return o.srv.URL }, "nova: list services: redirect (302)"},
		{"os-services 307 https to http", true, 307, isServices,
			func(o *otherHost) string { return o.srv.URL }, "refused: another scheme than https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, tt.tls)
			o := newOtherHost(t)
			redirecting(f, tt.code, tt.when, func(r *http.Request) string { return tt.other(o) + r.URL.Path })
			s := newTestSource(t, Config{Auth: f.passwordAuth(), Insecure: tt.tls})
			for i := range 2 {
				b, err := s.poll(context.Background())
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, httppolicy.ErrRedirect) || sources.KindOf(err) != sources.FailRedirect {
					t.Fatalf("poll %d: err = %v, want a refused redirect with %q", i, err, tt.wantErr)
				}
				if b.Services != nil {
					t.Fatalf("poll %d: services %v from a refused redirect", i, b.Services)
				}
				for _, secret := range []string{testPassword, "gAAAA"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q carries a secret", err)
					}
				}
			}
			if got := o.requests(); len(got) != 0 {
				t.Fatalf("the other host was sent %q", got)
			}
		})
	}
}

// TestSameOriginRedirectFollowed: a proxy moving os-services on the same
// scheme, host and port is followed (see httppolicy).
func TestSameOriginRedirectFollowed(t *testing.T) {
	f := newFakeCloud(t, false)
	redirecting(f, http.StatusFound, isServices, func(r *http.Request) string {
		return r.URL.Path + "?moved=1"
	})
	s := newTestSource(t, Config{Auth: f.passwordAuth()})
	b, err := s.poll(context.Background())
	if err != nil || len(b.Services) != 4 {
		t.Fatalf("poll: %v, %d services", err, len(b.Services))
	}
}

// gzipBomb is a gzip stream of the JSON prefix then n MiB of spaces: about
// 1 KB a MiB, built from repeated gzip members (which Go decodes as one stream).
func gzipBomb(t testing.TB, prefix string, mib int) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	zw.Close()
	var out bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write([]byte(prefix))
	zw.Close()
	for range mib {
		out.Write(member.Bytes())
	}
	return out.Bytes()
}

// fullLimitEnv makes TestResponseSizeLimited run every case at MaxResponseBytes.
const fullLimitEnv = "STACKTOP_NOVA_FULL_LIMIT"

// TestResponseSizeLimited: the decoded size of a response is capped, gzip
// or not, and the poll fails clearly instead of reading on.
func TestResponseSizeLimited(t *testing.T) {
	bomb := gzipBomb(t, `{"services": [`, 1024) // 1 GiB decoded, ~1 MB sent
	tests := []struct {
		name  string
		token bool // serve it as Keystone's token response instead of os-services
		gzip  bool
		full  bool // at the real limit, MaxResponseBytes
		body  func(w io.Writer)
	}{
		{"os-services gzip bomb", false, true, false, func(w io.Writer) { w.Write(bomb) }},
		{"os-services gzip bomb at the real limit", false, true, true, func(w io.Writer) { w.Write(bomb) }},
		{"Keystone gzip bomb", true, true, false, func(w io.Writer) { w.Write(bomb) }},
		{"300 MB host name", false, false, false, func(w io.Writer) {
			io.WriteString(w, `{"services": [{"binary": "nova-compute", "state": "up", "status": "enabled", "host": "`)
			chunk := bytes.Repeat([]byte("h"), 1<<20)
			for range 300 {
				if _, err := w.Write(chunk); err != nil {
					return // the client hung up: the point
				}
			}
			io.WriteString(w, `"}]}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, false)
			f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if (tt.token && isTokenPOST(r)) || (!tt.token && strings.HasSuffix(r.URL.Path, "/os-services")) {
					w.Header().Set("Content-Type", "application/json")
					if tt.token {
						w.Header().Set("X-Subject-Token", "gAAAAAtoken")
					}
					if tt.gzip {
						w.Header().Set("Content-Encoding", "gzip")
					}
					w.WriteHeader(map[bool]int{true: 201, false: 200}[tt.token])
					tt.body(w)
					return
				}
				f.ServeHTTP(w, r)
			})
			if tt.full && rsstest.Race {
				t.Skip("64 MiB through the race detector's inflate is ten seconds of CPU; the smaller limit runs the same code")
			}
			// A generous deadline: this is about size, not speed, on a loaded machine.
			s := newTestSource(t, Config{Auth: f.passwordAuth(), Interval: 2 * time.Minute, Timeout: time.Minute})
			if !tt.full && os.Getenv(fullLimitEnv) == "" {
				s.guard.limit = 4 << 20 // the same code at a 16th of the cost; TestPeakRSS runs the real limit
			}
			b, err := s.poll(context.Background())
			want := "response exceeds " + format.Bytes(s.guard.limit) + " (after decompression)"
			if s.guard.limit == 0 {
				want = "response exceeds 64M (after decompression)"
			}
			if err == nil || !errors.Is(err, httppolicy.ErrTooLarge) || !strings.Contains(err.Error(), want) || sources.KindOf(err) != sources.FailProtocol {
				t.Fatalf("err = %v, want the size limit", err)
			}
			if b.Services != nil {
				t.Fatalf("%d services from an oversized response", len(b.Services))
			}
		})
	}
}

// TestLongStringsClipped: a field longer than any Nova column is cut at
// decode time, and the cut is counted in the health detail.
func TestLongStringsClipped(t *testing.T) {
	f := newFakeCloud(t, false)
	long := strings.Repeat("h", 1<<20)
	f.services = func(string) (int, string, []byte) {
		return 200, "application/json", []byte(`{"services": [{"binary": "nova-compute", "state": "up", "status": "disabled", "host": "` +
			long + `", "disabled_reason": "` + long + `"}, {"binary": "nova-compute", "state": "down", "status": "enabled", "host": "ok"}]}`)
	}
	s := newTestSource(t, Config{Auth: f.passwordAuth()})
	b, err := s.poll(context.Background())
	if err != nil || len(b.Services) != 2 {
		t.Fatalf("poll: %v, %d services", err, len(b.Services))
	}
	if h := b.Services[0].Host; len(h) != sources.MaxName || !strings.HasSuffix(h, "…") || len(b.Services[0].DisabledReason) != sources.MaxName {
		t.Errorf("host of %d bytes, reason of %d", len(h), len(b.Services[0].DisabledReason))
	}
	if b.Services[1].Host != "ok" || !strings.Contains(b.Health.Detail, "2 over-long strings cut to 255 bytes") {
		t.Errorf("second host %q, detail %q", b.Services[1].Host, b.Health.Detail)
	}
}

// TestDeepNestingFails: a body nested far deeper than any JSON document is
// an error, not a goroutine stack of a gigabyte.
func TestDeepNestingFails(t *testing.T) {
	body := `{"services": [{"binary": "b", "host": "h", "state": "up", "x": ` + strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20) + `}]}`
	if _, err := decodeJSON([]byte(body)); err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Fatalf("err = %v", err)
	}
}
