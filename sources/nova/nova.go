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
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/poll"
)

// Source polls Nova's os-services. Its zero value is not usable; call New.
type Source struct {
	cfg   *resolved
	guard *guard
	http  http.Client

	// Owned by the goroutine running Run; poll.Run keeps one poll in flight.
	compute *gophercloud.ServiceClient // nil until authenticated
	mv      microversion               // zero until negotiated
	mvHead  string                     // microversion header value, "" for none
}

// New validates cfg and returns a source ready to Run. It reads clouds.yaml
// and the environment but does not touch the network.
func New(cfg Config) (*Source, error) {
	return newSource(cfg, getenv)
}

func newSource(cfg Config, getenv func(string) string) (*Source, error) {
	r, err := resolve(cfg, getenv)
	if err != nil {
		return nil, &safeError{msg: scrub(err.Error(), nil), err: err}
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = r.tls
	g := &guard{next: base}
	return &Source{cfg: r, guard: g, http: http.Client{Transport: g, Timeout: r.timeout}}, nil
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
	}, s.poll, emit)
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
			return b, fmt.Errorf("nova: negotiate microversion: %w", s.sanitize(err, false))
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
		return b, fmt.Errorf("nova: list services: %w", s.sanitize(err, false))
	}
	list, err := decodePage(page)
	if err != nil {
		return b, fmt.Errorf("nova: list services: %w", s.sanitize(err, false))
	}
	b.Services = list
	return b, nil
}

// authenticate gets a token and finds the compute endpoint in the catalog.
func (s *Source) authenticate(ctx context.Context) error {
	p, err := openstack.NewClient(s.cfg.auth.IdentityEndpoint)
	if err != nil {
		return fmt.Errorf("nova: authenticate: %w", s.sanitize(err, true))
	}
	p.HTTPClient = s.http
	p.UserAgent.Prepend("stacktop")
	if err := openstack.Authenticate(ctx, p, s.cfg.auth); err != nil {
		return fmt.Errorf("nova: authenticate: %w", s.sanitize(err, true))
	}
	c, err := openstack.NewComputeV2(p, s.cfg.endpoint)
	if err != nil {
		return fmt.Errorf("nova: find compute endpoint: %w", s.sanitize(err, false))
	}
	s.compute = c
	return nil
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
	return d
}

// Interval is the poll interval the source runs at.
func (s *Source) Interval() time.Duration { return s.cfg.interval }
