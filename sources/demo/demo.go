// Package demo is a simulated OpenStack cloud and RabbitMQ cluster on
// 127.0.0.1 for `stacktop --demo`, tests and benchmarks.
//
// It speaks the real wire formats: Keystone v3 (version documents, password,
// application-credential and token authentication with a service catalog),
// the Nova compute API (version documents and os-services by microversion),
// the RabbitMQ management API (overview, nodes, queues, one queue) and each
// broker node's rabbitmq_prometheus endpoint (/metrics, /metrics/detailed). The
// heartbeats and broker canary probes that come over AMQP in production are
// produced in-process, in the real heartbeat wire format, by HeartbeatSource.
//
// Everything the simulator answers is a pure function of its clock, seed and
// configuration: a healthy cloud that replays the 2015-08-12 incident (the
// broker degrades, Nova services flap, operators restart services, the broker
// node is restarted, everything recovers) in a compressed, looping timeline.
// See Timeline for the phases.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultComputes = 40
	DefaultLoop     = 270 * time.Second
	// Nova's report_interval and service_down_time in Nova's own ratio
	// (10 s and 60 s), scaled to the demo's 2 s Nova poll as a real cloud's
	// are to a 10 s poll: state's 21-poll flap window then spans about 3½
	// down times, as it does on a real cloud, and a flapping service is seen
	// flapping.
	DefaultServiceDownTime   = 12 * time.Second
	DefaultReportInterval    = 2 * time.Second
	DefaultHeartbeatInterval = time.Second
	DefaultTokenTTL          = time.Hour
	DefaultVHost             = "nova"
	DefaultRegion            = "RegionOne"
	DefaultSeed              = 20150812
)

// Default credentials; Config overrides them.
const (
	DefaultUser          = "admin"
	DefaultPassword      = "demo-password"
	DefaultProject       = "admin"
	DefaultDomain        = "Default"
	DefaultAppCredID     = "demo-app-cred"
	DefaultAppCredName   = "stacktop-demo"
	DefaultAppCredSecret = "demo-app-cred-secret"
	DefaultRabbitUser    = "guest"
	DefaultRabbitPass    = "guest"
)

// Config sizes the simulated cloud and its scenario. The zero value of any
// field means its default.
type Config struct {
	// Computes is the number of compute hosts (compute-01 … compute-NN).
	Computes int
	// ExtraQueues adds this many mostly idle reply_/fanout queues, for scale tests.
	ExtraQueues int
	// Loop is the length of one replay of the incident; the timeline scales with it.
	Loop time.Duration
	// Seed makes every pseudo-random choice; the same seed gives the same cloud.
	Seed uint64
	// Now is the clock everything is derived from; default time.Now.
	Now func() time.Time
	// Epoch is when the scenario's loop starts; default Now() at Start.
	Epoch time.Time
	// ServiceDownTime is Nova's service_down_time: a service whose last report
	// is older than this is "down".
	ServiceDownTime time.Duration
	// ReportInterval is Nova's report_interval: how often a service reports.
	ReportInterval time.Duration
	// HeartbeatInterval is both the agents' publish interval and the
	// heartbeat source's tick.
	HeartbeatInterval time.Duration
	// TokenTTL is how long a Keystone token is valid, by Now.
	TokenTTL time.Duration
	// VHost is the broker vhost holding Nova's queues.
	VHost string
	// Region is the catalog region of the compute endpoint.
	Region string
	// User, Password, Project and Domain are the Keystone password credentials.
	User, Password, Project, Domain string
	// AppCredID, AppCredName and AppCredSecret are an accepted application credential.
	AppCredID, AppCredName, AppCredSecret string
	// RabbitUser and RabbitPassword are the management API's basic-auth credentials.
	RabbitUser, RabbitPassword string
	// SlowAPIs makes the management API answer slower as the broker degrades
	// (in real time, up to about a second), as a real one does.
	SlowAPIs bool
	// MetricsCollectorOff imitates management_agent.disable_metrics_collector:
	// nodes carry only name, type and running, and queues lose their stats.
	MetricsCollectorOff bool
	// Faults are the initial fault injections per API; see SetFaults.
	Faults map[API]Faults
}

// DefaultConfig is the configuration `stacktop --demo` should use.
func DefaultConfig() Config {
	return Config{SlowAPIs: true}
}

func (c Config) withDefaults() Config {
	if c.Computes <= 0 {
		c.Computes = DefaultComputes
	}
	if c.Loop <= 0 {
		c.Loop = DefaultLoop
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Epoch.IsZero() {
		c.Epoch = c.Now()
	}
	if c.ServiceDownTime <= 0 {
		c.ServiceDownTime = DefaultServiceDownTime
	}
	if c.ReportInterval <= 0 {
		c.ReportInterval = DefaultReportInterval
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.VHost, DefaultVHost)
	def(&c.Region, DefaultRegion)
	def(&c.User, DefaultUser)
	def(&c.Password, DefaultPassword)
	def(&c.Project, DefaultProject)
	def(&c.Domain, DefaultDomain)
	def(&c.AppCredID, DefaultAppCredID)
	def(&c.AppCredName, DefaultAppCredName)
	def(&c.AppCredSecret, DefaultAppCredSecret)
	def(&c.RabbitUser, DefaultRabbitUser)
	def(&c.RabbitPassword, DefaultRabbitPass)
	return c
}

// API names one of the simulated HTTP APIs, for fault injection.
type API string

// The simulated APIs.
const (
	Keystone   API = "keystone"
	Nova       API = "nova"
	RabbitMQ   API = "rabbitmq"
	Prometheus API = "prometheus" // every node's rabbitmq_prometheus endpoint
)

// Faults are misbehaviours injected into every request of one API, on top of
// the scenario. The zero value injects nothing.
type Faults struct {
	// Latency delays every answer by this much real time (the request's
	// context still cancels the wait).
	Latency time.Duration
	// FailEvery answers every n-th request (1 = all) with FailStatus.
	FailEvery int
	// FailStatus is the failing answer's status; default 500.
	FailStatus int
	// TruncateEvery cuts the body of every n-th successful answer in half.
	TruncateEvery int
	// HugeBody prefixes every JSON body with this many bytes of whitespace
	// (still valid JSON) to exercise response size limits.
	HugeBody int
	// DropEvery closes the connection without an answer on every n-th request.
	DropEvery int
	// DownCell (Nova only) puts the last quarter of the computes in a cell
	// that cannot be reached: at microversion 2.69 or later they are listed
	// with status UNKNOWN, before it they are left out.
	DownCell bool
}

// Cloud is a running simulator. Its methods are safe for concurrent use.
type Cloud struct {
	cfg Config
	sc  *scenario

	keystoneURL, novaURL, rabbitURL string
	prometheusURLs                  []string // one per broker node, in brokerNodes' order
	servers                         []*http.Server
	listeners                       []net.Listener
	wg                              sync.WaitGroup
	closeOnce                       sync.Once
	closeErr                        error

	mu      sync.Mutex
	faults  map[API]Faults
	counts  map[API]uint64
	tokens  map[string]time.Time // token → expiry
	tokenNo uint64
}

// Start starts the Keystone, Nova, RabbitMQ management and (one per broker
// node) rabbitmq_prometheus listeners on 127.0.0.1, each on a free port. They stop when ctx is done or Close is called.
func Start(ctx context.Context, cfg Config) (*Cloud, error) {
	cfg = cfg.withDefaults()
	c := &Cloud{
		cfg:    cfg,
		sc:     newScenario(cfg),
		faults: map[API]Faults{},
		counts: map[API]uint64{},
		tokens: map[string]time.Time{},
	}
	for api, f := range cfg.Faults {
		c.faults[api] = f
	}
	apis := []struct {
		api API
		h   http.Handler
		url *string
	}{
		{Keystone, c.keystoneHandler(), &c.keystoneURL},
		{Nova, c.novaHandler(), &c.novaURL},
		{RabbitMQ, c.rabbitHandler(), &c.rabbitURL},
	}
	c.prometheusURLs = make([]string, len(brokerNodes))
	for i := range brokerNodes {
		apis = append(apis, struct {
			api API
			h   http.Handler
			url *string
		}{Prometheus, c.prometheusHandler(i), &c.prometheusURLs[i]})
	}
	for _, a := range apis {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("demo: listen for %s: %w", a.api, err)
		}
		*a.url = "http://" + ln.Addr().String()
		srv := &http.Server{
			Handler:           c.withFaults(a.api, a.h),
			ReadHeaderTimeout: 10 * time.Second,
		}
		c.listeners = append(c.listeners, ln)
		c.servers = append(c.servers, srv)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			_ = srv.Serve(ln) // returns http.ErrServerClosed on Close
		}()
	}
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	return c, nil
}

// Close stops the listeners and waits for them; it is safe to call twice.
func (c *Cloud) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		for _, s := range c.servers {
			if err := s.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
			}
		}
		c.wg.Wait()
		if err := errors.Join(errs...); err != nil {
			c.closeErr = fmt.Errorf("demo: close: %w", err)
		}
	})
	return c.closeErr
}

// KeystoneURL is the identity v3 endpoint, e.g. http://127.0.0.1:PORT/v3.
func (c *Cloud) KeystoneURL() string { return c.keystoneURL + "/v3" }

// NovaURL is the compute endpoint as in the catalog, http://127.0.0.1:PORT/v2.1.
func (c *Cloud) NovaURL() string { return c.novaURL + "/v2.1" }

// RabbitURL is the management API's base URL, http://127.0.0.1:PORT.
func (c *Cloud) RabbitURL() string { return c.rabbitURL }

// PrometheusURLs are the broker nodes' rabbitmq_prometheus endpoints, one
// per node as on port 15692 of each, e.g. http://127.0.0.1:PORT.
func (c *Cloud) PrometheusURLs() []string { return slices.Clone(c.prometheusURLs) }

// VHost is the broker vhost holding Nova's queues.
func (c *Cloud) VHost() string { return c.cfg.VHost }

// Credentials are what a client needs to authenticate to the simulator.
type Credentials struct {
	AuthURL           string // Keystone v3, e.g. http://127.0.0.1:PORT/v3
	Username          string
	Password          string
	UserDomainName    string
	ProjectName       string
	ProjectDomainName string
	Region            string
	AppCredID         string // an application credential, instead of the password
	AppCredName       string
	AppCredSecret     string
	RabbitURL         string // management API base URL
	RabbitUser        string
	RabbitPassword    string
	PrometheusURLs    []string // the nodes' rabbitmq_prometheus endpoints, no credentials
	VHost             string
}

// Credentials returns the simulator's URLs and credentials.
func (c *Cloud) Credentials() Credentials {
	return Credentials{
		AuthURL: c.KeystoneURL(), Username: c.cfg.User, Password: c.cfg.Password,
		UserDomainName: c.cfg.Domain, ProjectName: c.cfg.Project, ProjectDomainName: c.cfg.Domain,
		Region:    c.cfg.Region,
		AppCredID: c.cfg.AppCredID, AppCredName: c.cfg.AppCredName, AppCredSecret: c.cfg.AppCredSecret,
		RabbitURL: c.RabbitURL(), RabbitUser: c.cfg.RabbitUser, RabbitPassword: c.cfg.RabbitPassword,
		PrometheusURLs: c.PrometheusURLs(), VHost: c.cfg.VHost,
	}
}

// SetFaults replaces the fault injections of one API.
func (c *Cloud) SetFaults(api API, f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[api] = f
}

// RevokeTokens invalidates every Keystone token issued so far, so the next
// Nova request answers 401 and the client must re-authenticate.
func (c *Cloud) RevokeTokens() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.tokens)
}

// Phase is the scenario's phase at t.
func (c *Cloud) Phase(t time.Time) Phase { return c.sc.phaseAt(t) }

// Timeline is the scenario's timeline, scaled to Config.Loop.
func (c *Cloud) Timeline() Timeline { return c.sc.tl }

// Epoch is when the scenario's first loop started.
func (c *Cloud) Epoch() time.Time { return c.cfg.Epoch }

func (c *Cloud) now() time.Time { return c.cfg.Now() }

// withFaults wraps an API's handler with the injected faults.
func (c *Cloud) withFaults(api API, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		f := c.faults[api]
		c.counts[api]++
		n := c.counts[api]
		c.mu.Unlock()

		if f.Latency > 0 && !sleepCtx(r.Context(), f.Latency) {
			return
		}
		if every(n, f.DropEvery) {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
		}
		if every(n, f.FailEvery) {
			status := f.FailStatus
			if status == 0 {
				status = http.StatusInternalServerError
			}
			writeJSON(w, status, faultBody(api, status))
			return
		}
		if f.TruncateEvery == 0 && f.HugeBody == 0 {
			h.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: w.Header(), status: http.StatusOK}
		h.ServeHTTP(rec, r)
		body := rec.body
		if every(n, f.TruncateEvery) {
			body = body[:len(body)/2]
		}
		if f.HugeBody > 0 && strings.Contains(w.Header().Get("Content-Type"), "json") {
			pad := make([]byte, f.HugeBody, f.HugeBody+len(body))
			for i := range pad {
				pad[i] = ' '
			}
			body = append(pad, body...)
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

func every(n uint64, k int) bool { return k > 0 && n%uint64(k) == 0 }

func faultBody(api API, status int) any {
	msg := http.StatusText(status)
	switch api {
	case RabbitMQ:
		return map[string]string{"error": "internal_server_error", "reason": msg}
	case Nova:
		return map[string]any{"computeFault": map[string]any{"code": status, "message": "Unexpected API Error. " + msg}}
	default:
		return map[string]any{"error": map[string]any{"code": status, "title": msg, "message": msg}}
	}
}

// recorder buffers an answer so faults can rewrite it.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }

// sleepCtx waits d unless ctx ends first; it reports whether it waited in full.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
