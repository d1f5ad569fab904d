// Package faultproxy is a test-only HTTP proxy placed in front of a real
// service (the dev cloud's Keystone and Nova, RabbitMQ's management API)
// that injects, on demand, the faults the real ones cannot produce: a body
// that stalls mid-way, 429 with Retry-After, a redirect to another host, a
// TLS certificate nobody trusts, a reset connection. Faults are switched
// while the proxy runs; with none it passes requests through, rewriting the
// upstream origins it knows of in bodies and headers (Keystone's catalog)
// so that every later request comes through a proxy too.
package faultproxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does to the requests it receives.
type Fault int32

// Faults.
const (
	None      Fault = iota // pass through
	StallBody              // the upstream's status and headers, half its body, then silence
	TooMany                // 429 Too Many Requests with Retry-After
	Redirect               // 307 to the same path on another host (Elsewhere)
	Untrusted              // TLS with a certificate from a CA the client does not trust (TLS proxies only)
	Reset                  // the connection reset (RST) once the request is read
)

var names = [...]string{"none", "stall-body", "429", "redirect", "untrusted-tls", "reset"}

func (f Fault) String() string {
	if int(f) < len(names) {
		return names[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Proxy is one proxy in front of one upstream.
type Proxy struct {
	URL        string // the proxy's base URL: its scheme, 127.0.0.1 and port, the upstream's path
	RetryAfter int    // seconds, for TooMany (default 30)

	upstream *url.URL
	fault    atomic.Int32
	rp       *httputil.ReverseProxy
	srv      *http.Server
	ln       net.Listener
	closed   chan struct{}
	rewrites *Rewrites
	hits     atomic.Int64
}

// Rewrites maps upstream origins to the proxies in front of them, shared by
// the proxies of one test.
type Rewrites struct {
	mu    sync.Mutex
	pairs []string // old, new, ...
}

func (r *Rewrites) add(from, to string) {
	r.mu.Lock()
	r.pairs = append(r.pairs, from, to)
	r.mu.Unlock()
}

func (r *Rewrites) replacer() *strings.Replacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.NewReplacer(r.pairs...)
}

// CA is a certificate authority for the proxies' TLS, written to a file a
// client can be given as its CA file.
type CA struct {
	File string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA and writes its certificate to dir.
func NewCA(dir, name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return &CA{File: file, cert: cert, key: key}, nil
}

// leaf issues a server certificate for 127.0.0.1.
func (ca *CA) leaf() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Options configure New.
type Options struct {
	// TLS, when set, makes the proxy speak https with a certificate of this
	// CA; Untrusted then swaps in one of Rogue. Nil: plain http.
	TLS, Rogue *CA
	// Rewrites is shared by the proxies of one test; nil for none.
	Rewrites *Rewrites
}

// New starts a proxy in front of upstream (a base URL: scheme, host, port
// and path) on 127.0.0.1. Close stops it.
func New(upstream string, opt Options) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q is not a URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{upstream: u, ln: ln, closed: make(chan struct{}), rewrites: opt.Rewrites, RetryAfter: 30}
	scheme := "http"
	if opt.TLS != nil {
		scheme = "https"
		good, err := opt.TLS.leaf()
		if err != nil {
			return nil, err
		}
		var bad tls.Certificate
		if opt.Rogue != nil {
			if bad, err = opt.Rogue.leaf(); err != nil {
				return nil, err
			}
		}
		ln = tls.NewListener(ln, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if p.Fault() == Untrusted && opt.Rogue != nil {
				return &bad, nil
			}
			return &good, nil
		}})
	}
	origin := scheme + "://" + p.ln.Addr().String()
	p.URL = origin + u.Path
	if p.rewrites == nil {
		p.rewrites = &Rewrites{}
	}
	p.rewrites.add(u.Scheme+"://"+u.Host, origin)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host})
			r.Out.Host = u.Host
			r.Out.Header.Del("Accept-Encoding") // bodies are rewritten as text
		},
		ModifyResponse: p.rewrite,
		ErrorLog:       quietLog(),
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ErrorLog: quietLog(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Set switches the fault; None passes through again. Idle connections are
// closed, so that the client's next request meets the fault (a TLS fault
// bites at the handshake) rather than a connection made before it.
func (p *Proxy) Set(f Fault) {
	p.fault.Store(int32(f))
	p.srv.SetKeepAlivesEnabled(false) // closes the idle connections
	p.srv.SetKeepAlivesEnabled(true)
}

// Fault is the fault switched on.
func (p *Proxy) Fault() Fault { return Fault(p.fault.Load()) }

// Requests is how many requests reached the proxy.
func (p *Proxy) Requests() int64 { return p.hits.Load() }

// Close stops the proxy and ends stalled answers.
func (p *Proxy) Close() error {
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
	return p.srv.Close()
}

// rewrite points upstream origins in a response at the proxies.
func (p *Proxy) rewrite(resp *http.Response) error {
	rep := p.rewrites.replacer()
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", rep.Replace(loc))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = []byte(rep.Replace(string(body)))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// Elsewhere is the other host a Redirect points to: it answers every
// request with an empty Nova services list and records what it was sent.
type Elsewhere struct {
	URL string
	mu  sync.Mutex
	got []string // each request's method, path, credential headers and body
	srv *http.Server
}

// NewElsewhere starts the other host on 127.0.0.2 (another host to a client
// comparing hosts), or 127.0.0.1 where 127.0.0.2 is not usable.
func NewElsewhere() (*Elsewhere, error) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if ln, err = net.Listen("tcp", "[::1]:0"); err != nil {
			return nil, fmt.Errorf("faultproxy: %w", err)
		}
	}
	e := &Elsewhere{URL: "http://" + ln.Addr().String()}
	e.srv = &http.Server{ErrorLog: quietLog(), ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		e.mu.Lock()
		e.got = append(e.got, fmt.Sprintf("%s %s token=%q auth=%q body=%q", r.Method, r.URL.Path, r.Header.Get("X-Auth-Token"), r.Header.Get("Authorization"), body))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Subject-Token", "elsewhere-token")
		_, _ = io.WriteString(w, `{"services": []}`)
	})}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// Received lists what reached the other host.
func (e *Elsewhere) Received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

// Close stops the other host.
func (e *Elsewhere) Close() error { return e.srv.Close() }

// serve applies the fault switched on, or passes the request through.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.hits.Add(1)
	switch p.Fault() {
	case TooMany:
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
	case Redirect:
		to := elsewhere.Load()
		if to == nil {
			http.Error(w, "faultproxy: no Elsewhere for the redirect", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, to.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	case Reset:
		reset(w)
	case Untrusted:
		// A request on a connection made before the fault (its handshake
		// used the good certificate): close it unanswered, so that the
		// client retries on a new one, whose handshake meets the fault.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		p.rp.ServeHTTP(w, r)
	case StallBody:
		p.stall(w, r)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// elsewhere is where Redirect points: one per test process is enough.
var elsewhere atomic.Pointer[Elsewhere]

// RedirectTo makes every proxy's Redirect point at e.
func RedirectTo(e *Elsewhere) { elsewhere.Store(e) }

// reset closes the connection with an RST: linger 0, no response.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// stall sends the upstream's status, headers and half its body, then
// nothing until the client gives up or the proxy closes.
func (p *Proxy) stall(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{header: http.Header{}}
	p.rp.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status())
	_, _ = w.Write(body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	select {
	case <-r.Context().Done():
	case <-p.closed:
	}
}

// recorder is a ResponseWriter that keeps the answer.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
