package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stacktop/stacktop/secretfile"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/rpcping"
	"github.com/stacktop/stacktop/state"
)

// rpcConfig is the rpc section: RPC pings of the Nova services through the
// cloud's own broker, with Nova's transport_url.
//
//	rpc:
//	  transport_url_file: /etc/stacktop/transport_url   # or /etc/nova/nova.conf itself
//	  exchange: nova      # Nova's control_exchange
//	  interval: 15s       # between two pings of one service
//	  timeout: 5s
//	  concurrency: 4      # pings in flight at most
//	  ca_file: /etc/ssl/certs/internal-ca.pem            # for amqps:// or ?ssl=1
//
// STACKTOP_TRANSPORT_URL overrides both transport_url keys. The URL is never
// taken from the command line, where ps would show its password.
type rpcConfig struct {
	TransportURL     string   `yaml:"transport_url"`
	TransportURLFile string   `yaml:"transport_url_file"`
	Exchange         string   `yaml:"exchange"`
	Interval         duration `yaml:"interval"`
	Timeout          duration `yaml:"timeout"`
	Concurrency      int      `yaml:"concurrency"`
	CAFile           string   `yaml:"ca_file"`

	warning string // transport_url_file is readable by others ("" if not)
}

// load overlays the environment, reads transport_url_file and validates the
// section. Errors name the key and never contain the URL's credentials.
func (r *rpcConfig) load(getenv func(string) string) error {
	if v := getenv("STACKTOP_TRANSPORT_URL"); v != "" {
		r.TransportURL, r.TransportURLFile = v, ""
	}
	if r.TransportURL != "" && r.TransportURLFile != "" {
		return errors.New("rpc.transport_url and rpc.transport_url_file are both set; keep one")
	}
	key := "rpc.transport_url"
	if r.TransportURLFile != "" {
		key = "rpc.transport_url_file"
		u, warning, err := transportURLFromFile(r.TransportURLFile)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		r.TransportURL, r.warning = u, warning
	}
	for _, d := range []struct {
		key string
		v   duration
	}{{"rpc.interval", r.Interval}, {"rpc.timeout", r.Timeout}} {
		if d.v != 0 && (time.Duration(d.v) < 100*time.Millisecond || time.Duration(d.v) > time.Hour) {
			return fmt.Errorf("%s: %s is outside 100ms..1h", d.key, time.Duration(d.v))
		}
	}
	if r.Concurrency < 0 || r.Concurrency > 64 {
		return fmt.Errorf("rpc.concurrency: %d is outside 1..64", r.Concurrency)
	}
	if r.TransportURL == "" {
		if r.Exchange != "" || r.Interval != 0 || r.Timeout != 0 || r.Concurrency != 0 || r.CAFile != "" {
			return errors.New("rpc: settings without a transport URL (rpc.transport_url_file, rpc.transport_url or STACKTOP_TRANSPORT_URL)")
		}
		return nil
	}
	if _, err := rpcping.ParseTransportURL(r.TransportURL); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// transportURLFromFile reads a transport URL from a file of its own (the
// first line that is not blank or a # comment) or from nova.conf (the
// transport_url of its [DEFAULT] section).
func transportURLFromFile(path string) (transportURL, warning string, err error) {
	b, warning, err := secretfile.Read(path, nil)
	if err != nil {
		return "", "", err
	}
	ini := false
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			ini, section = true, strings.TrimSpace(line[1:len(line)-1])
			continue
		}
		if !ini {
			return line, warning, nil
		}
		if k, v, ok := strings.Cut(line, "="); ok && section == "DEFAULT" && strings.TrimSpace(k) == "transport_url" {
			return strings.TrimSpace(v), warning, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	if ini {
		return "", "", fmt.Errorf("%s has no transport_url in its [DEFAULT] section", path)
	}
	return "", "", fmt.Errorf("%s is empty", path)
}

// source is where the config came from, for errors: the file, or the environment.
func (c *config) source() string {
	if c.path == "" {
		return "environment"
	}
	return c.path
}

// rpcSource is the RPC ping source, pinging the services of the store's
// latest snapshot. The store is created after the sources, so it is bound
// later (newPipeline does); until then there is nothing to ping.
type rpcSource struct {
	*rpcping.Source
	store atomic.Pointer[state.Store]
}

// newRPCSource builds the source of the rpc section (which has a transport URL).
func newRPCSource(r rpcConfig) (*rpcSource, error) {
	var tlsCfg *tls.Config
	if r.CAFile != "" {
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return nil, fmt.Errorf("rpc.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("rpc.ca_file: no PEM certificate in %s", r.CAFile)
		}
		tlsCfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	rs := &rpcSource{}
	src, err := rpcping.New(rpcping.Config{
		TransportURL: r.TransportURL,
		Exchange:     r.Exchange,
		Interval:     time.Duration(r.Interval),
		Timeout:      time.Duration(r.Timeout),
		Concurrency:  r.Concurrency,
		TLS:          tlsCfg,
		Targets:      rs.targets,
	})
	if err != nil {
		return nil, err
	}
	rs.Source = src
	return rs, nil
}

// bind gives the source the store whose snapshots list the services.
func (r *rpcSource) bind(s *state.Store) { r.store.Store(s) }

func (r *rpcSource) targets() []rpcping.Target {
	st := r.store.Load()
	if st == nil {
		return nil
	}
	return snapshotTargets(st.Snapshot())
}

// snapshotTargets are the services of a snapshot that answer RPC pings:
// every nova-compute, nova-conductor and nova-scheduler Nova lists.
func snapshotTargets(s *state.Snapshot) []rpcping.Target {
	if s == nil {
		return nil
	}
	var out []rpcping.Target
	for _, sv := range s.Services {
		if t, ok := rpcping.NewTarget(sv.Key.Binary, sv.Key.Host); ok {
			out = append(out, t)
		}
	}
	return out
}

// storeReader is a source that reads the store's snapshots.
type storeReader interface{ bind(*state.Store) }

// bindStore hands the store to every source that reads it.
func bindStore(srcs []sources.Source, st *state.Store) {
	for _, s := range srcs {
		if b, ok := s.(storeReader); ok {
			b.bind(st)
		}
	}
}
