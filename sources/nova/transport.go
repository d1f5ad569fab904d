package nova

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// guard is the HTTP transport of every request the source makes. It counts
// requests for Health.Requests and enforces that stacktop is read-only: GET
// and HEAD anywhere, POST only to Keystone's token endpoint, nothing else.
type guard struct {
	next     http.RoundTripper
	requests atomic.Int64
}

// RoundTrip refuses writes and counts and forwards everything else.
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !allowed(req) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing %s %s: stacktop is read-only", req.Method, req.URL.Path)
	}
	g.requests.Add(1)
	return g.next.RoundTrip(req)
}

// allowed says whether a request may reach the cloud.
func allowed(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		p := strings.TrimSuffix(req.URL.Path, "/")
		return strings.HasSuffix(p, "/v3/auth/tokens") || strings.HasSuffix(p, "/v2.0/tokens")
	}
	return false
}
