package nova

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/stacktop/stacktop/sources/httppolicy"
)

// guard is the HTTP transport of every request the source makes. It counts
// requests for Health.Requests, enforces that stacktop is read-only (GET
// and HEAD anywhere, POST only to Keystone's token endpoint, nothing else),
// and caps every response body at limit bytes after gzip decoding.
type guard struct {
	next     http.RoundTripper
	limit    int64 // 0 means MaxResponseBytes
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
	raw := req.Header.Get(rawPageHeader) != ""
	if raw {
		req = req.Clone(req.Context())
		req.Header.Del(rawPageHeader)
	}
	resp, err := g.next.RoundTrip(req)
	if err == nil {
		limit := g.limit
		if limit == 0 {
			limit = MaxResponseBytes
		}
		httppolicy.LimitBody(resp, limit) // next (http.Transport) has already undone gzip
	}
	if raw && err == nil {
		keepRaw(resp)
	}
	return resp, err
}

// rawPageHeader, set on a request (services.List's Pager.Headers), asks the
// guard to have gophercloud's pager hand over that response's JSON body as
// bytes, for decodeJSON, instead of parsing it into map[string]any. The
// guard removes it before the request leaves.
const rawPageHeader = "X-Stacktop-Raw-Page"

// rawContentTypeHeader holds the Content-Type of a response whose own the
// guard replaced (keepRaw).
const rawContentTypeHeader = "X-Stacktop-Raw-Content-Type"

// keepRaw makes a successful JSON response look like opaque bytes to
// gophercloud (pagination.PageResultFrom parses only application/json),
// keeping its real Content-Type in rawContentTypeHeader for decodePage.
// Error responses are left alone: gophercloud reads their bodies as bytes anyway.
func keepRaw(resp *http.Response) {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode/100 != 2 || !isJSON(ct) {
		return
	}
	resp.Header.Set(rawContentTypeHeader, ct)
	resp.Header.Set("Content-Type", "application/octet-stream")
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
