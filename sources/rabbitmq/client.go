package rabbitmq

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/httppolicy"
	"github.com/stacktop/stacktop/sources/poll"
)

// Errors a poll can be tested against with errors.Is.
var (
	// ErrCredentials is the broker refusing the user or password.
	ErrCredentials = errors.New("rabbitmq: credentials refused (401)")
	// ErrUnreachable is a failure to connect at all: refused, no route, unknown host.
	ErrUnreachable = errors.New("broker unreachable")
	// ErrTooLarge is a response body over its limit: Config.MaxResponseBytes
	// for queue lists, MaxDocumentBytes for the other documents.
	ErrTooLarge = httppolicy.ErrTooLarge
	// ErrTooMany is a list of more than MaxQueues queues.
	ErrTooMany = errors.New("too many items")
	// ErrTimeout is a request that did not finish within Config.Timeout.
	ErrTimeout = errors.New("timed out")
)

// StatusError is an HTTP error status other than 401.
type StatusError struct {
	Code   int    // HTTP status code
	Status string // e.g. "503 Service Unavailable"
	Body   string // the start of the response body, printable characters only
}

// Error describes the status and, when the broker said why, its reason.
func (e *StatusError) Error() string {
	msg := "HTTP " + e.Status
	switch {
	case e.Code == http.StatusForbidden:
		msg += " (the user needs the monitoring tag)"
	case e.Code == http.StatusNotFound:
		msg += " (is this the management API on port 15672, or the prometheus plugin on 15692?)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// fetcher makes the GET requests of one poll and counts them.
type fetcher struct {
	client  *http.Client
	user    string
	pass    string
	timeout time.Duration
	limit   int64
	n       int // requests made, failed ones included
	early   int // of those, reported by an early batch (Source.sendEarly)
}

// get fetches u and hands the size-limited body to decode. auth adds the
// management API's basic auth. Errors are described without credentials.
func (f *fetcher) get(ctx context.Context, u string, auth bool, accept string, limit int64, decode func(io.Reader) error) error {
	shown, _, _ := strings.Cut(u, "?") // the query is noise in a message
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "stacktop")
	if auth {
		req.SetBasicAuth(f.user, f.pass)
	}
	f.n++
	resp, err := f.client.Do(req)
	if err != nil {
		return f.transportError(ctx, rctx, shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return ErrCredentials
	}
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		err := fmt.Errorf("GET %s: %w", shown, &StatusError{Code: resp.StatusCode, Status: resp.Status, Body: printable(string(snippet), 200)})
		if wait, ok := poll.RetryAfter(resp.StatusCode, resp.Header, time.Now()); ok {
			return &poll.RetryAfterError{Wait: wait, Err: err}
		}
		return err
	}
	if err := decode(httppolicy.LimitReader(resp.Body, limit)); err != nil {
		switch {
		case errors.Is(err, ErrTooLarge):
			return sources.Fail(sources.FailProtocol, fmt.Errorf("GET %s: %w", shown, &httppolicy.TooLargeError{Limit: limit}))
		case rctx.Err() != nil:
			return f.transportError(ctx, rctx, shown, err)
		}
		return fmt.Errorf("GET %s: %w", shown, err)
	}
	return nil
}

// transportError names what went wrong before or while reading a response.
func (f *fetcher) transportError(ctx, rctx context.Context, u string, err error) error {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		ue      *url.Error
	)
	if errors.As(err, &ue) {
		err = ue.Err // it would repeat the URL, query and all: u says it once
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("GET %s: poll deadline: %w", u, ctx.Err())
	case rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("GET %s: %w after %v", u, ErrTimeout, f.timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return sources.Fail(sources.FailRefused, fmt.Errorf("%w: %s: connection refused", ErrUnreachable, u))
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return sources.Fail(sources.FailUnreachable, fmt.Errorf("%w: %s: no route to host", ErrUnreachable, u))
	case errors.As(err, &dnsErr):
		return sources.Fail(sources.FailUnreachable, fmt.Errorf("%w: %s: cannot resolve %s", ErrUnreachable, u, dnsErr.Name))
	case errors.Is(err, httppolicy.ErrRedirect):
		var re *httppolicy.RedirectError
		errors.As(err, &re)
		return sources.Fail(sources.FailRedirect, fmt.Errorf("GET %s: %w", u, re))
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &host):
		return sources.Fail(sources.FailTLS, fmt.Errorf("GET %s: TLS certificate not trusted (set a CA file, or insecure): %w", u, err))
	}
	return fmt.Errorf("GET %s: %w", u, err)
}

// kindOf is the failure kind of a poll error: from this package's typed
// errors (credentials, status, timeout, size), else from the error's types.
func kindOf(err error) sources.FailureKind {
	var st *StatusError
	switch {
	case err == nil:
		return sources.FailNone
	case errors.Is(err, ErrCredentials):
		return sources.FailAuth
	case errors.As(err, &st):
		return sources.KindOfStatus(st.Code)
	case errors.Is(err, ErrTimeout):
		return sources.FailTimeout
	case errors.Is(err, ErrTooLarge):
		return sources.FailProtocol
	}
	return sources.KindOf(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// docLimit is the limit of a response that is not a queue list.
func (f *fetcher) docLimit() int64 { return min(f.limit, MaxDocumentBytes) }

// printable keeps a broker-supplied string safe for a terminal and short.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
