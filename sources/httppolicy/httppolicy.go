// Package httppolicy is the one HTTP policy of every client of stacktop
// (Keystone, Nova, the RabbitMQ management API and prometheus endpoints):
// which redirects are followed and how many bytes a response may decode to.
//
// Redirects: a redirect to the same scheme, host and port is followed (at
// most MaxRedirects in a row): it carries the credentials nowhere new, and a
// reverse proxy that adds a trailing slash or moves an API under a path
// prefix needs it. A redirect to any other scheme, host or port is refused
// with a *RedirectError: Go would forward X-Auth-Token, a re-POSTed password
// (307/308) or basic auth to a party nobody configured, and that party's
// answer would be shown as the cloud's.
//
// Sizes: LimitBody caps the bytes read from a response body after any
// transparent gzip decoding, so a small compressed body cannot inflate
// without bound; reading past the limit fails with a *TooLargeError.
package httppolicy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// MaxRedirects is the most same-origin redirects followed for one request.
const MaxRedirects = 3

// ErrRedirect is what every *RedirectError is (errors.Is).
var ErrRedirect = errors.New("redirect refused")

// RedirectError is a redirect the policy refused.
type RedirectError struct {
	Status int    // the redirect's HTTP status, e.g. 307
	To     string // where it pointed: scheme://host:port only, never userinfo, path or query
	Reason string // why it was refused
}

// Error reads "redirect (307) to http://other:80 refused: another host".
func (e *RedirectError) Error() string {
	s := "redirect"
	if e.Status != 0 {
		s += fmt.Sprintf(" (%d)", e.Status)
	}
	s += " to " + e.To + " refused"
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes errors.Is(err, ErrRedirect) true.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// CheckRedirect is the http.Client.CheckRedirect of every client of
// stacktop: it follows same-origin redirects and refuses all others with a
// *RedirectError of kind sources.FailRedirect.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	from, to := via[0].URL, req.URL
	refuse := func(reason string) error {
		return sources.Fail(sources.FailRedirect, &RedirectError{Status: status, To: Origin(to), Reason: reason})
	}
	switch {
	case from.Scheme != to.Scheme:
		return refuse("another scheme than " + from.Scheme)
	case !strings.EqualFold(from.Hostname(), to.Hostname()):
		return refuse("another host than " + from.Hostname())
	case port(from) != port(to):
		return refuse("another port than " + port(from))
	case to.User != nil:
		return refuse("credentials in the URL")
	case len(via) > MaxRedirects:
		return refuse(fmt.Sprintf("more than %d redirects", MaxRedirects))
	}
	return nil
}

// NoRedirect is a CheckRedirect for a probe that follows no redirect at
// all: the client returns the redirect response itself.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Origin is u's scheme://host:port with the port always written, and
// nothing else; a host longer than 100 bytes is cut.
func Origin(u *url.URL) string {
	host := u.Hostname()
	if len(host) > 100 {
		host = strings.ToValidUTF8(host[:100], "") + "…"
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port(u))
}

// port is u's port, or its scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// Client returns an http.Client with the policy's redirect rule over transport.
func Client(transport http.RoundTripper) *http.Client {
	return &http.Client{Transport: transport, CheckRedirect: CheckRedirect}
}

// ErrTooLarge is what every *TooLargeError is (errors.Is).
var ErrTooLarge = errors.New("response too large")

// TooLargeError is a response body that decoded to more than its limit.
type TooLargeError struct{ Limit int64 }

// Error reads "response exceeds 64M (after decompression)".
func (e *TooLargeError) Error() string {
	return "response exceeds " + format.Bytes(e.Limit) + " (after decompression)"
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// LimitReader returns r reading at most limit bytes; reading past them
// fails with a *TooLargeError of kind sources.FailProtocol (the bytes up to
// the limit are returned first).
func LimitReader(r io.Reader, limit int64) io.Reader {
	return &limited{r: r, left: limit, limit: limit}
}

type limited struct {
	r     io.Reader
	left  int64 // bytes still allowed
	limit int64
}

func (l *limited) tooLarge() error {
	return sources.Fail(sources.FailProtocol, &TooLargeError{l.limit})
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.tooLarge()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more than allowed tells "too large" from "exactly the limit"
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = -1
		return n, l.tooLarge()
	}
	l.left -= int64(n)
	return n, err
}

// LimitBody makes resp's body, as the caller will read it (decompressed
// when the transport decompresses), fail past limit bytes.
func LimitBody(resp *http.Response, limit int64) {
	if resp == nil || resp.Body == nil {
		return
	}
	resp.Body = &limitedBody{Reader: LimitReader(resp.Body, limit), c: resp.Body}
}

type limitedBody struct {
	io.Reader
	c io.Closer
}

func (b *limitedBody) Close() error { return b.c.Close() }
