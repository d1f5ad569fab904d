// Package nova is the source that watches Nova's compute services: it lists
// os-services on every poll, read-only, authenticating against Keystone the
// way the openstack CLI does (clouds.yaml, secure.yaml, OS_CLOUD or an
// openrc's OS_* variables).
//
// Each poll authenticates if it has no token yet (gophercloud re-issues the
// token on a 401 later on), negotiates the compute microversion once (the
// highest the server offers up to 2.69), and lists the services. Nothing but
// GET requests and Keystone's token POST ever leaves the process, and no
// error or health report carries a password, secret or token.
package nova

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/httppolicy"
	"github.com/stacktop/stacktop/sources/poll"
)

// MaxResponseBytes caps every Keystone and Nova response body after gzip
// decoding. An os-services entry is about 300 bytes (600 with a long host
// name and disabled_reason), so 50,000 services fit twice over; a token's
// service catalog is well under 1 MiB.
const MaxResponseBytes = 64 << 20

// Source polls Nova's os-services. Its zero value is not usable; call New.
type Source struct {
	cfg   *resolved
	guard *guard
	http  http.Client

	// Owned by the goroutine running Run; poll.Run keeps one poll in flight.
	compute *gophercloud.ServiceClient // nil until authenticated
	mv      microversion               // zero until negotiated
	mvHead  string                     // microversion header value, "" for none
	clipped int                        // strings the last poll cut to their limit
}

// New validates cfg and returns a source ready to Run. It reads clouds.yaml
// and the environment but does not touch the network.
func New(cfg Config) (*Source, error) {
	return newSource(cfg, getenv)
}

func newSource(cfg Config, getenv func(string) string) (*Source, error) {
	r, err := resolve(cfg, getenv)
	if err != nil {
		return nil, &safeError{msg: scrub(err.Error(), configSecrets(cfg, getenv)), err: err}
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = r.tls
	g := &guard{next: base}
	c := httppolicy.Client(g)
	c.Timeout = r.timeout
	return &Source{cfg: r, guard: g, http: *c}, nil
}

// Name is sources.NameNova.
func (s *Source) Name() string { return sources.NameNova }

// Target is what the source polls: the cloud name, or the auth URL without userinfo.
func (s *Source) Target() string { return s.cfg.target }

// Run polls until ctx is cancelled, emitting one batch per poll.
func (s *Source) Run(ctx context.Context, emit func(sources.Batch)) error {
	return poll.Run(ctx, poll.Options{
		Name:     sources.NameNova,
		Interval: s.cfg.interval,
		Timeout:  s.cfg.timeout,
	}, s.pollHonouringRetryAfter, emit)
}

// pollHonouringRetryAfter is poll, its error marked with the wait a 429 or
// 503 answer's Retry-After asked for, for poll.Run to honour.
func (s *Source) pollHonouringRetryAfter(ctx context.Context) (sources.Batch, error) {
	b, err := s.poll(ctx)
	if err == nil {
		return b, nil
	}
	var code gophercloud.ErrUnexpectedResponseCode
	var codeP *gophercloud.ErrUnexpectedResponseCode
	switch {
	case errors.As(err, &codeP):
		code = *codeP
	case !errors.As(err, &code):
		return b, err
	}
	if wait, ok := poll.RetryAfter(code.Actual, code.ResponseHeader, time.Now()); ok {
		return b, &poll.RetryAfterError{Wait: wait, Err: err}
	}
	return b, err
}

// poll performs one poll: authenticate if needed, negotiate the microversion if needed, list.
func (s *Source) poll(ctx context.Context) (b sources.Batch, err error) {
	before := s.guard.requests.Load()
	b.Health.Target = s.cfg.target
	defer func() {
		b.Health.Requests = int(s.guard.requests.Load() - before)
		b.Health.Detail = s.detail()
	}()

	if s.compute == nil {
		if err := s.authenticate(ctx); err != nil {
			return b, err
		}
	}
	if s.mv == (microversion{}) {
		mv, head, err := discover(ctx, s.compute)
		if err != nil {
			return b, s.serviceFailure(ctx, "nova: negotiate microversion", err)
		}
		s.mv, s.mvHead = mv, head
	}

	c := *s.compute
	c.Microversion = s.mvHead
	pager := services.List(&c, nil)
	pager.Headers = map[string]string{rawPageHeader: "1"} // the body as bytes, for decodeJSON
	page, err := pager.AllPages(ctx)
	if err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotAcceptable) {
			s.mv = microversion{} // the API changed under us (an upgrade or rollback): negotiate again
		}
		return b, s.serviceFailure(ctx, "nova: list services", err)
	}
	list, err := decodePage(page)
	if err != nil {
		return b, sources.Fail(sources.FailProtocol, fmt.Errorf("nova: list services: %w", s.sanitize(err, false)))
	}
	b.Services = list
	s.clipped = b.Clip()
	return b, nil
}

// authenticate gets a token and finds the compute endpoint in the catalog.
func (s *Source) authenticate(ctx context.Context) error {
	p, err := openstack.NewClient(s.cfg.auth.IdentityEndpoint)
	if err != nil {
		return sources.Fail(sources.FailOther, fmt.Errorf("nova: authenticate: %w", s.sanitize(err, true)))
	}
	p.HTTPClient = s.http
	p.UserAgent.Prepend("stacktop")
	if err := openstack.Authenticate(ctx, p, s.cfg.auth); err != nil {
		return sources.Fail(kindOf(err, true), fmt.Errorf("nova: authenticate: %w", s.sanitize(err, true)))
	}
	c, err := openstack.NewComputeV2(p, s.cfg.endpoint)
	if err != nil {
		return sources.Fail(sources.FailOther, fmt.Errorf("nova: find compute endpoint: %w", s.sanitize(err, false)))
	}
	s.compute = c
	return nil
}

// serviceFailure is the poll error of a failed Nova call, with its kind.
// When Nova timed out, failed (5xx) or dropped the connection, the cause
// may be Keystone: nova-api cannot check the token without it, and answers
// 503 only after 3–4 s, later than a short poll's deadline. So the source
// then asks Keystone itself, once (keystoneDown): if Keystone is
// unreachable or failing, the failure is keystone-down and its message
// says "Keystone unreachable: ...". A Keystone that does not answer in
// time is keystone-timeout (slow or down, not known which). When Nova
// timed out too, that counts only if Keystone took the connection and
// then said nothing (a hung Keystone: seen when uWSGI hung for 15 s on
// SIGTERM); both failing to connect may as well be the network.
func (s *Source) serviceFailure(ctx context.Context, what string, err error) error {
	k := kindOf(err, false)
	msg := fmt.Errorf("%s: %w", what, s.sanitize(err, false))
	if k != sources.FailTimeout && k != sources.FailHTTP5xx && k != sources.FailReset {
		return sources.Fail(k, msg)
	}
	switch why, ks := s.keystoneDown(ctx, k != sources.FailTimeout); ks {
	case sources.FailKeystone:
		return sources.Fail(ks, fmt.Errorf("%w; Keystone unreachable: %s", msg, why))
	case sources.FailKeystoneTimeout:
		return sources.Fail(ks, fmt.Errorf("%w; Keystone not answering: %s", msg, why))
	}
	return sources.Fail(k, msg)
}

// keystoneProbeTimeout bounds the Keystone check of serviceFailure.
const keystoneProbeTimeout = 2 * time.Second

// keystoneDown makes one unauthenticated GET of the configured auth URL
// (Keystone's version document: no credentials, no token, no redirect
// followed) and says whether Keystone is unreachable or failing
// (keystone-down), or did not answer in time (keystone-timeout), and why;
// FailNone when it answered. It runs on its own deadline (at most
// keystoneProbeTimeout, half the poll's timeout), since the poll's may be
// spent, but stops when the source stops. timeoutCounts says whether
// Keystone not answering in time counts when the request never went out
// (no connection in time); a request sent and not answered always counts.
func (s *Source) keystoneDown(ctx context.Context, timeoutCounts bool) (string, sources.FailureKind) {
	limit := min(keystoneProbeTimeout, s.cfg.timeout/2)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			cancel()
		}
	})
	defer stop()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, s.cfg.auth.IdentityEndpoint, nil)
	if err != nil {
		return "", sources.FailNone
	}
	var connected atomic.Bool // the request went out on a connection: no answer is Keystone's, not the network's
	req = req.WithContext(httptrace.WithClientTrace(pctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { connected.Store(true) },
	}))
	c := s.http
	c.CheckRedirect = httppolicy.NoRedirect
	resp, err := c.Do(req)
	if err != nil {
		k := sources.KindOf(err)
		if !k.Connection() || k == sources.FailTLS || (k == sources.FailTimeout && !timeoutCounts && !connected.Load()) {
			return "", sources.FailNone
		}
		switch k {
		case sources.FailTimeout:
			if connected.Load() {
				return "no answer within " + limit.String(), sources.FailKeystoneTimeout
			}
			return "no connection within " + limit.String(), sources.FailKeystoneTimeout
		case sources.FailRefused:
			return "connection refused", sources.FailKeystone
		case sources.FailReset:
			return "connection reset", sources.FailKeystone
		}
		return "cannot connect (" + string(k) + ")", sources.FailKeystone
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Sprintf("HTTP %d", resp.StatusCode), sources.FailKeystone
	}
	return "", sources.FailNone
}

// sanitize makes err safe to show, scrubbing the configured secrets and the current token.
func (s *Source) sanitize(err error, auth bool) error {
	secrets := s.cfg.secrets
	if s.compute != nil {
		if t := s.compute.ProviderClient.Token(); t != "" {
			secrets = append(secrets[:len(secrets):len(secrets)], t)
		}
	}
	return sanitize(err, auth, secrets)
}

// detail is Health.Detail: the negotiated microversion, and a warning when TLS is not verified.
func (s *Source) detail() string {
	d := ""
	if s.mv != (microversion{}) {
		d = "microversion " + s.mv.String()
	}
	if s.cfg.tls != nil && s.cfg.tls.InsecureSkipVerify {
		if d != "" {
			d += ", "
		}
		d += "TLS not verified"
	}
	if s.clipped > 0 {
		if d != "" {
			d += ", "
		}
		d += fmt.Sprintf("%d over-long strings cut to %d bytes", s.clipped, sources.MaxName)
	}
	return d
}

// Interval is the poll interval the source runs at.
func (s *Source) Interval() time.Duration { return s.cfg.interval }
