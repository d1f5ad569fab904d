package nova

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/poll"
)

func TestPollNegotiatesAndLists(t *testing.T) {
	tests := []struct {
		name       string
		versionDoc string // "" keeps the captured nova-version-2.1.json (max 2.93)
		wantHeader string // X-OpenStack-Nova-API-Version sent with os-services
		wantDetail string
		wantID     string // id of the first service: integer before 2.53, UUID after
	}{
		{"nova 26 offers 2.93, capped at 2.69", "", "2.69", "microversion 2.69", "c19e6170-d4e3-4859-89b0-3f30020c52cf"},
		{"older server, max 2.60", `{"version": {"id": "v2.1", "status": "CURRENT", "version": "2.60", "min_version": "2.1"}}`, "2.60", "microversion 2.60", "c19e6170-d4e3-4859-89b0-3f30020c52cf"},
		{"max 2.11: forced_down, integer ids", `{"version": {"id": "v2.1", "status": "CURRENT", "version": "2.11", "min_version": "2.1"}}`, "2.11", "microversion 2.11", "2"},
		{"no microversions", `{"version": {"id": "v2.1", "status": "CURRENT", "version": "", "min_version": ""}}`, "", "microversion 2.1", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, false)
			if tt.versionDoc != "" {
				f.versionDoc = []byte(tt.versionDoc)
			}
			s := newTestSource(t, Config{Auth: f.passwordAuth()})
			for i := 0; i < 2; i++ {
				b, err := s.poll(context.Background())
				if err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
				if len(b.Services) != 4 || b.Services[0].ID != tt.wantID {
					t.Fatalf("poll %d: services %+v, want 4 with first id %s", i, b.Services, tt.wantID)
				}
				if b.Health.Detail != tt.wantDetail {
					t.Errorf("Detail = %q, want %q", b.Health.Detail, tt.wantDetail)
				}
				// First poll: token, version document, list; then only the list.
				if want := map[int]int{0: 3, 1: 1}[i]; b.Health.Requests != want {
					t.Errorf("poll %d: Requests = %d, want %d", i, b.Health.Requests, want)
				}
				if b.Health.Target != redact.URL(f.authURL()) {
					t.Errorf("Target = %q", b.Health.Target)
				}
			}
			for _, h := range f.mvHeaders {
				if h != tt.wantHeader {
					t.Errorf("os-services sent microversion %q, want %q", h, tt.wantHeader)
				}
			}
		})
	}
}

func TestRunEmitsBatches(t *testing.T) {
	f := newFakeCloud(t, false)
	s := newTestSource(t, Config{Auth: f.passwordAuth(), Interval: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got sources.Batch
	err := s.Run(ctx, func(b sources.Batch) { got = b; cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if got.Source != sources.NameNova || !got.Health.OK || len(got.Services) != 4 ||
		got.Health.Detail != "microversion 2.69" || got.Health.Interval != time.Second || got.Health.Requests != 3 {
		t.Fatalf("batch = %+v", got)
	}
	if s.Name() != sources.NameNova {
		t.Errorf("Name = %q", s.Name())
	}
}

// The token is revoked (or expires) mid-session: the next request gets a
// 401, gophercloud re-issues the token and retries, and the poll succeeds.
func TestReauthenticatesWhenTokenRevoked(t *testing.T) {
	tests := []struct {
		name string
		auth func(f *fakeCloud) *Auth
	}{
		{"password", func(f *fakeCloud) *Auth { return f.passwordAuth() }},
		{"application credential", func(f *fakeCloud) *Auth {
			return &Auth{URL: f.authURL(), ApplicationCredentialID: "ac-1", ApplicationCredentialSecret: testAppCred}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, false)
			s := newTestSource(t, Config{Auth: tt.auth(f)})
			for i := 0; i < 4; i++ {
				if i == 1 || i == 3 {
					f.revoke()
				}
				b, err := s.poll(context.Background())
				if err != nil {
					t.Fatalf("poll %d after revocation: %v", i, err)
				}
				if len(b.Services) != 4 {
					t.Fatalf("poll %d: %d services", i, len(b.Services))
				}
				if i == 1 && b.Health.Requests != 3 { // 401, token POST, retry
					t.Errorf("poll %d: Requests = %d, want 3", i, b.Health.Requests)
				}
			}
			if n := f.tokensIssued(); n != 3 {
				t.Errorf("tokens issued = %d, want 3", n)
			}
		})
	}
}

func TestAuthFailureReadsClearly(t *testing.T) {
	f := newFakeCloud(t, false)
	a := f.passwordAuth()
	a.Password = "wrong-" + testPassword
	s := newTestSource(t, Config{Auth: a})
	_, err := s.poll(context.Background())
	if err == nil || err.Error() != "nova: authenticate: credentials refused (401)" {
		t.Fatalf("err = %v", err)
	}

	// Credentials that worked, then a password change: the re-authentication fails.
	f2 := newFakeCloud(t, false)
	s2 := newTestSource(t, Config{Auth: f2.passwordAuth()})
	if _, err := s2.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	f2.mu.Lock()
	f2.password, f2.token = "rotated", ""
	f2.mu.Unlock()
	_, err = s2.poll(context.Background())
	want := "nova: list services: token rejected and re-authentication failed: credentials refused (401)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
	}{
		{"truncated JSON", 200, "application/json", `{"services": [{"binary": "nova-compute", "host": "c`, "nova: list services: truncated response"},
		{"500 with a compute fault", 500, "application/json", `{"computeFault": {"code": 500, "message": "Unexpected API Error. Please report this."}}`, `HTTP 500 from GET ` + "URL" + `/compute/v2.1/os-services: Unexpected API Error. Please report this.`},
		{"HTML error page from a proxy", 502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>", `HTTP 502 from GET URL/compute/v2.1/os-services: HTML page "502 Bad Gateway"`},
		{"HTML page with 200", 200, "text/html", "<!DOCTYPE html><html><title>Login</title></html>", `nova: list services: response is not JSON (Content-Type "text/html"): HTML page "Login"`},
		{"JSON without services", 200, "application/json", `{"error": "nope"}`, `nova: list services: response has no "services" list`},
		{"services not a list", 200, "application/json", `{"services": {"a": 1}}`, "nova: list services: unexpected JSON"},
		{"bad timestamp", 200, "application/json", `{"services": [{"id": 1, "binary": "nova-compute", "host": "c1", "status": "enabled", "state": "up", "updated_at": "yesterday"}]}`, `updated_at "yesterday" is not a timestamp`},
		{"forbidden", 403, "application/json", `{"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:os-services:list to be performed."}}`, "forbidden (403)"},
		{"empty 200", 200, "application/json", ``, "nova: list services:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, false)
			f.services = func(string) (int, string, []byte) { return tt.status, tt.contentType, []byte(tt.body) }
			s := newTestSource(t, Config{Auth: f.passwordAuth()})
			b, err := s.poll(context.Background())
			if err == nil {
				t.Fatalf("no error; services %+v", b.Services)
			}
			want := strings.ReplaceAll(tt.want, "URL", f.srv.URL)
			if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "nova: list services: ") {
				t.Errorf("err = %q\nwant it to contain %q", err, want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 400 {
				t.Errorf("err is not one short line: %q", err)
			}
			if b.Services != nil {
				t.Errorf("failed poll carries services")
			}
		})
	}
}

// TestRetryAfter: a 429 with Retry-After reads "rate limited" and carries
// the wait for poll.Run (which honours it: see sources/poll); a 500 does not.
func TestRetryAfter(t *testing.T) {
	for _, status := range []int{429, 500} {
		f := newFakeCloud(t, false)
		f.services = func(string) (int, string, []byte) {
			return status, "application/json", []byte(`{"overLimit": {"code": 429, "message": "slow down"}}`)
		}
		s := newTestSource(t, Config{Auth: f.passwordAuth()})
		_, err := s.pollHonouringRetryAfter(context.Background())
		var ra *poll.RetryAfterError
		switch got := errors.As(err, &ra); {
		case status == 429 && (!got || ra.Wait != 45*time.Second || !strings.Contains(err.Error(), "rate limited (429) from GET")):
			t.Errorf("429: err %v, Retry-After %+v; want rate limited, 45s", err, ra)
		case status != 429 && got:
			t.Errorf("%d: err %v carries a Retry-After", status, err)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name       string
		doc        string // a testdata file name, or a literal document
		want       string
		wantHeader string
		wantErr    string
	}{
		{"versions list (GET /)", "nova-versions.json", "2.69", "2.69", ""},
		{"single version (GET /v2.1/)", "nova-version-2.1.json", "2.69", "2.69", ""},
		{"exactly 2.69", `{"version": {"id": "v2.1", "version": "2.69", "min_version": "2.1"}}`, "2.69", "2.69", ""},
		{"old server max 2.60", `{"version": {"id": "v2.1", "version": "2.60", "min_version": "2.1"}}`, "2.60", "2.60", ""},
		{"max_version spelling", `{"versions": [{"id": "v2.1", "max_version": "2.53", "min_version": "2.1"}]}`, "2.53", "2.53", ""},
		{"no microversions", `{"version": {"id": "v2.1", "version": "", "min_version": ""}}`, "2.1", "", ""},
		{"only the legacy v2.0 API", `{"versions": [{"id": "v2.0", "version": "", "min_version": ""}]}`, "", "", "no v2.1 API"},
		{"minimum above 2.69", `{"version": {"id": "v2.1", "version": "2.120", "min_version": "2.80"}}`, "", "", "requires microversion 2.80 or later"},
		{"garbage version", `{"version": {"id": "v2.1", "version": "two", "min_version": "2.1"}}`, "", "", `microversion "two" is not major.minor`},
		{"not a version document", `{"foo": 1}`, "", "", "neither"},
		{"truncated", `{"version": {"id": "v2.1", "vers`, "", "", "version document"},
		{"HTML", `<html>oops</html>`, "", "", "version document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := []byte(tt.doc)
			if strings.HasSuffix(tt.doc, ".json") {
				doc = fixture(t, tt.doc)
			}
			mv, header, err := negotiate(doc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || mv.String() != tt.want || header != tt.wantHeader {
				t.Fatalf("negotiate = %s, %q, %v; want %s, %q", mv, header, err, tt.want, tt.wantHeader)
			}
		})
	}
}

// A 406 (the API was rolled back under us) makes the next poll negotiate again.
func TestRenegotiatesAfter406(t *testing.T) {
	f := newFakeCloud(t, false)
	s := newTestSource(t, Config{Auth: f.passwordAuth()})
	if _, err := s.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.versionDoc = []byte(`{"version": {"id": "v2.1", "version": "2.60", "min_version": "2.1"}}`)
	orig := f.services
	f.services = func(mv string) (int, string, []byte) {
		if mvAtLeast(mv, 61) {
			return 406, "application/json", []byte(`{"HTTPNotAcceptable": {"code": 406, "message": "Version 2.69 is not supported by the API."}}`)
		}
		return orig(mv)
	}
	if _, err := s.poll(context.Background()); err == nil || !strings.Contains(err.Error(), "microversion not acceptable (406)") {
		t.Fatalf("err = %v", err)
	}
	b, err := s.poll(context.Background())
	if err != nil || b.Health.Detail != "microversion 2.60" {
		t.Fatalf("after renegotiation: %v, detail %q", err, b.Health.Detail)
	}
}

// Only GET, and the token POST to Keystone, may reach the cloud.
func TestReadOnly(t *testing.T) {
	f := newFakeCloud(t, false)
	s := newTestSource(t, Config{Auth: f.passwordAuth()})
	for i := 0; i < 4; i++ {
		if i == 2 {
			f.revoke()
		}
		if _, err := s.poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	log := f.log()
	if len(log) == 0 {
		t.Fatal("no requests recorded")
	}
	for _, r := range log {
		if !strings.HasPrefix(r, "GET ") && r != "POST /identity/v3/auth/tokens" {
			t.Errorf("request %q reached the cloud", r)
		}
	}

	// The transport itself refuses writes, whatever code asks for them.
	client := &http.Client{Transport: s.guard}
	for _, m := range []string{"PUT", "DELETE", "PATCH", "POST"} {
		req, _ := http.NewRequest(m, f.srv.URL+"/compute/v2.1/os-services/1", strings.NewReader("{}"))
		if _, err := client.Do(req); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s went through: %v", m, err)
		}
	}
	if n := len(f.log()); n != len(log) {
		t.Errorf("a refused request reached the server")
	}
}

// Errors never carry the password, the application credential secret, a
// token or URL userinfo, even when a server echoes them back.
func TestNoCredentialsInErrors(t *testing.T) {
	type scenario struct {
		name string
		run  func(t *testing.T) (errs []error, batches []sources.Batch, tokens []string)
	}
	scenarios := []scenario{
		{"wrong password", func(t *testing.T) ([]error, []sources.Batch, []string) {
			f := newFakeCloud(t, false)
			f.password = "something-else"
			s := newTestSource(t, Config{Auth: f.passwordAuth()})
			_, err := s.poll(context.Background())
			return []error{err}, nil, nil
		}},
		{"server echoes credentials in a 500", func(t *testing.T) ([]error, []sources.Batch, []string) {
			f := newFakeCloud(t, false)
			f.services = func(string) (int, string, []byte) {
				f.mu.Lock()
				tok := f.token
				f.mu.Unlock()
				return 500, "application/json", []byte(`{"computeFault": {"code": 500, "message": "boom: token ` + tok + ` password ` + testPassword + `"}}`)
			}
			s := newTestSource(t, Config{Auth: f.passwordAuth()})
			_, err := s.poll(context.Background())
			return []error{err}, nil, []string{f.token}
		}},
		{"server echoes the app credential in HTML", func(t *testing.T) ([]error, []sources.Batch, []string) {
			f := newFakeCloud(t, false)
			f.services = func(string) (int, string, []byte) {
				return 502, "text/html", []byte(`<html><title>bad ` + testAppCred + `</title></html>`)
			}
			s := newTestSource(t, Config{Auth: &Auth{URL: f.authURL(), ApplicationCredentialID: "x", ApplicationCredentialSecret: testAppCred}})
			_, err := s.poll(context.Background())
			return []error{err}, nil, []string{f.token}
		}},
		{"nothing listening", func(t *testing.T) ([]error, []sources.Batch, []string) {
			a := &Auth{URL: "http://127.0.0.1:1/v3", Username: testUser, Password: testPassword, UserDomainName: "Default"}
			s := newTestSource(t, Config{Auth: a, Timeout: 2 * time.Second})
			_, err := s.poll(context.Background())
			return []error{err}, nil, nil
		}},
		{"userinfo in the auth URL", func(t *testing.T) ([]error, []sources.Batch, []string) {
			_, err1 := newSource(Config{Auth: &Auth{URL: "https://u:" + testPassword + "@h/v3", Username: "u", Password: testPassword, UserDomainName: "D"}}, func(string) string { return "" })
			_, err2 := newSource(Config{Auth: &Auth{URL: "ftp://u:" + testPassword + "@h/v3", Username: "u", Password: testPassword, UserDomainName: "D"}}, func(string) string { return "" })
			return []error{err1, err2}, nil, nil
		}},
		{"failed re-authentication via Run", func(t *testing.T) ([]error, []sources.Batch, []string) {
			f := newFakeCloud(t, false)
			s := newTestSource(t, Config{Auth: f.passwordAuth(), Interval: time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var batches []sources.Batch
			var tokens []string
			s.Run(ctx, func(b sources.Batch) {
				batches = append(batches, b)
				f.mu.Lock()
				tokens = append(tokens, f.token)
				f.password, f.token = "rotated", ""
				f.mu.Unlock()
				if len(batches) == 2 {
					cancel()
				}
			})
			return nil, batches, tokens
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			errs, batches, tokens := sc.run(t)
			var texts []string
			for _, err := range errs {
				if err == nil {
					t.Fatal("expected an error")
				}
				texts = append(texts, err.Error())
			}
			for _, b := range batches {
				j, _ := json.Marshal(b)
				texts = append(texts, string(j))
			}
			if len(batches) > 0 && batches[len(batches)-1].Health.OK {
				t.Fatalf("last batch should have failed: %+v", batches[len(batches)-1].Health)
			}
			secrets := append([]string{testPassword, testAppCred, "gAAAAAtoken"}, tokens...)
			for _, text := range texts {
				for _, sec := range secrets {
					if sec != "" && strings.Contains(text, sec) {
						t.Errorf("%q leaks %q", text, sec)
					}
				}
			}
			t.Logf("%s", texts)
		})
	}
}

func TestTLS(t *testing.T) {
	f := newFakeCloud(t, true)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cfg        Config
		wantErr    string
		wantDetail string
	}{
		{"verification on by default", Config{}, "certificate signed by an unknown authority", ""},
		{"CA file", Config{CAFile: caFile}, "", "microversion 2.69"},
		{"insecure", Config{Insecure: true}, "", "microversion 2.69, TLS not verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Auth = f.passwordAuth()
			s := newTestSource(t, tt.cfg)
			b, err := s.poll(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || b.Health.Detail != tt.wantDetail {
				t.Fatalf("poll: %v, detail %q", err, b.Health.Detail)
			}
		})
	}
}
