package nova

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Test credentials; tests scan every error and batch for these strings.
const (
	testUser     = "oncall"
	testPassword = "pw-Sup3r-S3cret!"
	testAppCred  = "appcred-S3cret-value"
	testRegion   = "RegionOne"
)

// fakeCloud is an httptest Keystone (under /identity/v3) and Nova (under
// /compute/v2.1) that records every request and can revoke tokens.
type fakeCloud struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	requests   []string // "METHOD /path"
	mvHeaders  []string // X-OpenStack-Nova-API-Version of each os-services request
	password   string   // accepted password
	token      string   // the one valid token; "" when revoked
	issued     int      // tokens issued
	versionDoc []byte   // GET /compute/v2.1/
	services   func(mv string) (status int, contentType string, body []byte)
	identity   int           // when not 0, every /identity request is answered with this status (Keystone failing)
	hang       chan struct{} // when not nil, os-services (and, with identity -1, /identity) wait for it or the client
	idHang     chan struct{} // when not nil, /identity alone waits for it or the client (Keystone not answering, Nova answering)
}

func newFakeCloud(t *testing.T, tlsServer bool) *fakeCloud {
	t.Helper()
	f := &fakeCloud{t: t, password: testPassword, versionDoc: fixture(t, "nova-version-2.1.json")}
	f.services = func(mv string) (int, string, []byte) {
		name := "nova-os-services-2.1.json"
		switch {
		case mv == "":
		case mvAtLeast(mv, 69):
			name = "nova-os-services-2.69.json"
		case mvAtLeast(mv, 53):
			name = "nova-os-services-2.53.json"
		case mvAtLeast(mv, 11):
			name = "nova-os-services-2.11.json"
		}
		return 200, "application/json", fixture(t, name)
	}
	if tlsServer {
		f.srv = httptest.NewUnstartedServer(f)
		f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
		f.srv.StartTLS()
	} else {
		f.srv = httptest.NewServer(f)
	}
	t.Cleanup(f.srv.Close)
	return f
}

func mvAtLeast(mv string, minor int) bool {
	v, err := parseMicroversion(mv)
	return err == nil && !v.less(microversion{2, minor})
}

func (f *fakeCloud) authURL() string { return f.srv.URL + "/identity/v3" }

func (f *fakeCloud) revoke() {
	f.mu.Lock()
	f.token = ""
	f.mu.Unlock()
}

func (f *fakeCloud) tokensIssued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued
}

func (f *fakeCloud) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	identity, hang, idHang := f.identity, f.hang, f.idHang
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/identity") && idHang != nil:
		select {
		case <-idHang:
		case <-r.Context().Done():
		}
	case strings.HasPrefix(r.URL.Path, "/identity") && identity == -1:
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	case strings.HasPrefix(r.URL.Path, "/identity") && identity != 0:
		writeJSON(w, identity, `{"error": {"code": 503, "message": "Service Unavailable"}}`)
	case r.URL.Path == "/identity/v3/auth/tokens" && r.Method == http.MethodPost:
		f.issueToken(w, r)
	case r.URL.Path == "/compute/v2.1/" || r.URL.Path == "/compute/v2.1":
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.versionDoc)
	case r.URL.Path == "/compute/v2.1/os-services":
		f.mu.Lock()
		valid := f.token != "" && r.Header.Get("X-Auth-Token") == f.token
		mv := r.Header.Get("X-OpenStack-Nova-API-Version")
		f.mvHeaders = append(f.mvHeaders, mv)
		f.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		if !valid {
			writeJSON(w, 401, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
			return
		}
		status, ct, body := f.services(mv)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "45")
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		w.Write(body)
	default:
		http.NotFound(w, r)
	}
}

// issueToken is Keystone's POST /v3/auth/tokens for password, application credential and token auth.
func (f *fakeCloud) issueToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
				AppCred struct {
					Secret string `json:"secret"`
				} `json:"application_credential"`
				Token struct {
					ID string `json:"id"`
				} `json:"token"`
			} `json:"identity"`
		} `json:"auth"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, 400, `{"error": {"code": 400, "message": "bad request"}}`)
		return
	}
	id := req.Auth.Identity
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := (id.Password.User.Password != "" && id.Password.User.Password == f.password) ||
		(id.AppCred.Secret != "" && id.AppCred.Secret == testAppCred) ||
		(id.Token.ID != "" && strings.HasPrefix(id.Token.ID, "user-token"))
	if !ok {
		writeJSON(w, 401, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
		return
	}
	f.issued++
	f.token = fmt.Sprintf("gAAAAAtoken-%d-xyz", f.issued)
	w.Header().Set("X-Subject-Token", f.token)
	writeJSON(w, 201, fmt.Sprintf(`{"token": {"methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
  "catalog": [{"id": "c1", "type": "compute", "name": "nova", "endpoints": [
    {"id": "e1", "interface": "public", "region": %[2]q, "region_id": %[2]q, "url": %[1]q},
    {"id": "e2", "interface": "internal", "region": %[2]q, "region_id": %[2]q, "url": %[1]q}]}]}}`,
		f.srv.URL+"/compute/v2.1", testRegion))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(body))
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// passwordAuth is explicit credentials accepted by the fake cloud.
func (f *fakeCloud) passwordAuth() *Auth {
	return &Auth{
		URL: f.authURL(), Username: testUser, Password: testPassword, UserDomainName: "Default",
		ProjectName: "admin", ProjectDomainName: "Default",
	}
}

// newTestSource builds a source against f with an empty environment.
func newTestSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := newSource(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatalf("newSource: %v", err)
	}
	return s
}
