// Package rabbitmq polls a RabbitMQ cluster read-only through its management
// API (port 15672) and, when the management metrics collector is off, through
// the rabbitmq_prometheus plugin (port 15692).
//
// One poll cycle makes a fixed number of GET requests, whatever the number of
// queues: /api/nodes, /api/overview and one request listing every queue
// (streamed, size-limited), plus one per-queue request for the queue open in
// a drill-down (SetFocus). See Source.Poll for the exact plan per mode.
package rabbitmq

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources/httppolicy"
)

// Mode selects where node gauges and queue metrics come from.
type Mode string

// Modes.
const (
	// ModeAuto takes node gauges and queue metrics from the prometheus plugin
	// when PrometheusURLs are configured or the management metrics collector
	// is off (/api/nodes carries no gauges), and from the management API
	// otherwise, or when the prometheus endpoints fail or miss a node. With
	// 20,000 queues the plugin's /metrics/detailed costs the broker 5-10x less
	// time than /api/queues?columns=… (BENCHMARKS.md); without configured URLs
	// a broker whose collector is on is not probed on a guessed port.
	ModeAuto Mode = "auto"
	// ModeManagement uses the management API only, never the prometheus plugin.
	ModeManagement Mode = "management"
	// ModePrometheus always takes node gauges and queue metrics from the prometheus plugin.
	ModePrometheus Mode = "prometheus"
)

// Defaults.
const (
	DefaultInterval         = 10 * time.Second // time between polls
	DefaultTimeout          = 5 * time.Second  // deadline of one HTTP request, body included
	DefaultMaxResponseBytes = 256 << 20        // largest queue list read: 200,000 queues are ~110 MB of /metrics/detailed, ~30 MB of /api/queues
	MaxDocumentBytes        = 8 << 20          // largest other response (overview, nodes, one queue, a node's /metrics: tens of KB)
	MaxQueues               = 250_000          // longest queue list accepted from one response (see maxQueues)
	DefaultPrometheusPort   = "15692"          // the rabbitmq_prometheus plugin's port
)

// Config configures a Source. The zero value of every optional field means its default.
type Config struct {
	// URL is the management API's base URL, e.g. "http://127.0.0.1:15672"
	// (a path prefix such as "https://lb/rabbitmq" is kept). Userinfo in it is
	// used as credentials when User is empty, and never shown.
	URL string
	// User and Password authenticate to the management API (HTTP basic auth).
	// The caller reads them from a config file or the environment, never a flag.
	// The user needs the "monitoring" tag to list nodes.
	User     string
	Password string
	// CAFile is a PEM bundle of the CAs trusted for https (management and
	// prometheus), instead of the system roots; empty means the system roots.
	CAFile string
	// Insecure disables TLS certificate verification. Verification is on by default.
	Insecure bool
	// VHost limits queues to one virtual host, by exact name ("/" is the
	// default vhost); empty means all. The filter is applied by the broker
	// (/api/queues/{vhost}, /metrics/detailed?vhost=), so it also makes polls cheaper.
	VHost string
	// QueueFilter keeps only queues whose name matches this Go regular
	// expression (RE2 syntax, unanchored, like the filter box of the management
	// UI): "^compute" or "fanout$". Empty keeps all. Applied client-side.
	QueueFilter string
	// Interval is the time between polls; default 10 s.
	Interval time.Duration
	// Timeout is the deadline of one HTTP request including its body; default 5 s.
	// A whole poll is further bounded by 80% of Interval.
	Timeout time.Duration
	// PrometheusURLs are the rabbitmq_prometheus endpoints, one per cluster
	// node, e.g. "http://rabbit-1:15692". Empty means http on the management
	// host, port 15692 (enough for a single node). No credentials are sent to
	// them. Queue metrics are node-local, so a cluster needs one URL per node.
	PrometheusURLs []string
	// Mode is auto (default), management or prometheus.
	Mode Mode
	// MaxResponseBytes caps a queue list's response body (/api/queues,
	// /metrics/detailed); default 256 MiB. Other responses are capped at
	// the smaller of it and MaxDocumentBytes.
	MaxResponseBytes int64
}

// withDefaults returns c with zero optional fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Mode == "" {
		c.Mode = ModeAuto
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return c
}

// parseBaseURL checks an http(s) base URL and returns it without userinfo,
// query or fragment, and without a trailing slash.
func parseBaseURL(what, raw string) (*url.URL, *url.Userinfo, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil, fmt.Errorf("rabbitmq: config: %s is empty", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input, which may hold a password: say less.
		return nil, nil, fmt.Errorf("rabbitmq: config: %s %q is not a valid URL", what, redact.URL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil, fmt.Errorf("rabbitmq: config: %s %q: scheme must be http or https", what, redact.URL(raw))
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("rabbitmq: config: %s %q has no host", what, redact.URL(raw))
	}
	user := u.User
	u.User = nil
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, user, nil
}

// defaultPrometheusURL is http on the management URL's host, port 15692: the
// plugin's plain listener (its TLS one, 15691, must be configured).
func defaultPrometheusURL(mgmt *url.URL) *url.URL {
	return &url.URL{Scheme: "http", Host: joinHostPort(mgmt.Hostname(), DefaultPrometheusPort)}
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") { // IPv6 literal
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// validate checks c (already defaulted) and builds what the Source needs.
func (c Config) validate() (mgmt *url.URL, user, pass string, prom []*url.URL, re *regexp.Regexp, err error) {
	mgmt, ui, err := parseBaseURL("management URL", c.URL)
	if err != nil {
		return nil, "", "", nil, nil, err
	}
	user, pass = c.User, c.Password
	if user == "" && ui != nil {
		user = ui.Username()
		pass, _ = ui.Password()
	}
	if user == "" {
		return nil, "", "", nil, nil, errors.New("rabbitmq: config: user is empty (the management API needs a user with the monitoring tag)")
	}
	switch c.Mode {
	case ModeAuto, ModeManagement, ModePrometheus:
	default:
		return nil, "", "", nil, nil, fmt.Errorf("rabbitmq: config: mode %q: want auto, management or prometheus", c.Mode)
	}
	if c.Interval < time.Second {
		return nil, "", "", nil, nil, fmt.Errorf("rabbitmq: config: interval %v: must be at least 1s", c.Interval)
	}
	if c.Timeout < 0 {
		return nil, "", "", nil, nil, fmt.Errorf("rabbitmq: config: timeout %v: must be positive", c.Timeout)
	}
	if c.MaxResponseBytes < 0 {
		return nil, "", "", nil, nil, fmt.Errorf("rabbitmq: config: max response size %d: must be positive", c.MaxResponseBytes)
	}
	if c.QueueFilter != "" {
		re, err = regexp.Compile(c.QueueFilter)
		if err != nil {
			return nil, "", "", nil, nil, fmt.Errorf("rabbitmq: config: queue filter: %w", err)
		}
	}
	for i, raw := range c.PrometheusURLs {
		p, ui, err := parseBaseURL(fmt.Sprintf("prometheus URL %d", i+1), raw)
		if err != nil {
			return nil, "", "", nil, nil, err
		}
		if ui != nil {
			return nil, "", "", nil, nil, fmt.Errorf("rabbitmq: config: prometheus URL %q: credentials in it are not supported", redact.URL(raw))
		}
		// Accept the scrape URL as well as the base: ".../metrics" means the base.
		p.Path = strings.TrimSuffix(p.Path, "/metrics")
		p.RawPath = strings.TrimSuffix(p.RawPath, "/metrics")
		prom = append(prom, p)
	}
	if len(prom) == 0 && c.Mode != ModeManagement {
		prom = []*url.URL{defaultPrometheusURL(mgmt)}
	}
	return mgmt, user, pass, prom, re, nil
}

// httpClient builds the client shared by management and prometheus requests.
func (c Config) httpClient() (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("rabbitmq: config: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("rabbitmq: config: CA file %s: no PEM certificates in it", c.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	if c.Insecure {
		tlsConf.InsecureSkipVerify = true //nolint:gosec // explicit operator choice, off by default
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.Proxy = http.ProxyFromEnvironment
	// Compression costs the broker CPU to save a few MB on the wire; during an
	// incident the broker's CPU is the scarcer resource.
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 4
	tr.ResponseHeaderTimeout = c.Timeout
	// A redirect could carry basic auth to another host: the one policy of httppolicy.
	return httppolicy.Client(tr), nil
}
