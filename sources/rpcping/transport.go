package rpcping

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/stacktop/stacktop/redact"
)

// Broker is one host of a transport URL.
type Broker struct {
	Host     string // host name or IP, without brackets
	Port     int
	Username string
	Password string
}

// Transport is a parsed oslo.messaging transport URL.
type Transport struct {
	TLS     bool
	VHost   string
	Brokers []Broker // in the URL's order: the first that answers is used
}

// ParseTransportURL parses the transport_url of nova.conf:
//
//	rabbit://user:pass@host:5672,user:pass@host2:5672/vhost?ssl=1
//
// Schemes rabbit, amqp and amqps are accepted; ssl=1 (or true) in the query
// selects TLS as in oslo.messaging. Each host may carry its own user and
// password, as oslo allows; a host without them takes the previous host's.
// An empty vhost is "/". Errors never contain the credentials: besides
// quoting the URL redacted, every error is scrubbed of the user-info as
// written, so that no fragment it quotes (a scheme, a host) can carry them.
func ParseTransportURL(raw string) (Transport, error) {
	raw = strings.TrimSpace(raw)
	t, err := parseTransportURL(raw)
	if err != nil {
		return Transport{}, rawSecrets(raw).Error(err)
	}
	return t, nil
}

// rawSecrets are the credentials of a transport URL as written, however
// malformed: everything between "://" (or the start) and the last "@", each
// host's password in it, and the whole of it after the first ":".
func rawSecrets(raw string) *redact.Secrets {
	sec := &redact.Secrets{}
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		rest = raw
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return sec
	}
	userinfo := rest[:at]
	if _, p, ok := strings.Cut(userinfo, ":"); ok {
		sec.Add(p)
	}
	for _, h := range strings.Split(userinfo, ",") {
		if i := strings.LastIndex(h, "@"); i >= 0 {
			h = h[:i]
		}
		if _, p, ok := strings.Cut(h, ":"); ok {
			sec.Add(p)
			if u, err := url.PathUnescape(p); err == nil {
				sec.Add(u)
			}
		}
	}
	return sec
}

func parseTransportURL(raw string) (Transport, error) {
	var t Transport
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return t, fmt.Errorf("transport URL %q: want rabbit://user:password@host:5672/vhost", redact.URL(raw))
	}
	switch strings.ToLower(scheme) {
	case "rabbit", "amqp":
	case "amqps":
		t.TLS = true
	default:
		if !isScheme(scheme) {
			return t, fmt.Errorf("transport URL %q: the part before :// is not a scheme; want rabbit, amqp or amqps", redact.URL(raw))
		}
		return t, fmt.Errorf("transport URL %q: scheme %q is not rabbit, amqp or amqps", redact.URL(raw), scheme)
	}
	// The authority ends at the first "/" after the last "@", so that a "/"
	// in a password that should have been escaped still parses.
	authEnd := len(rest)
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		authEnd = q
	}
	from := strings.LastIndex(rest[:authEnd], "@") + 1
	if sl := strings.IndexByte(rest[from:authEnd], '/'); sl >= 0 {
		authEnd = from + sl
	}
	netloc, path := rest[:authEnd], strings.TrimPrefix(rest[authEnd:], "/")
	path, query, _ := strings.Cut(path, "?")
	if q, err := url.ParseQuery(query); err == nil {
		switch strings.ToLower(q.Get("ssl")) {
		case "1", "true", "yes", "on":
			t.TLS = true
		}
	}
	vhost, err := url.PathUnescape(path)
	if err != nil {
		return t, fmt.Errorf("transport URL %q: vhost: %v", redact.URL(raw), err)
	}
	if vhost == "" {
		vhost = "/"
	}
	t.VHost = vhost
	defPort := 5672
	if t.TLS {
		defPort = 5671
	}
	var user, pass string
	for i, h := range strings.Split(netloc, ",") {
		if h == "" {
			continue
		}
		b := Broker{Username: user, Password: pass}
		if at := strings.LastIndex(h, "@"); at >= 0 {
			u, p, _ := strings.Cut(h[:at], ":")
			if b.Username, err = url.PathUnescape(u); err != nil {
				return t, fmt.Errorf("transport URL %q: host %d: bad user name escape", redact.URL(raw), i+1)
			}
			if b.Password, err = url.PathUnescape(p); err != nil {
				return t, fmt.Errorf("transport URL %q: host %d: bad password escape", redact.URL(raw), i+1)
			}
			user, pass = b.Username, b.Password
			h = h[at+1:]
		}
		host, port, err := splitHostPort(h, defPort)
		if err != nil {
			// Not quoted: with a "," in a password, h may be part of it.
			return t, fmt.Errorf("transport URL %q: host %d is not host[:port] (escape , / @ in passwords as %%2C %%2F %%40)", redact.URL(raw), i+1)
		}
		b.Host, b.Port = host, port
		t.Brokers = append(t.Brokers, b)
	}
	if len(t.Brokers) == 0 {
		return t, fmt.Errorf("transport URL %q: no broker host", redact.URL(raw))
	}
	return t, nil
}

// isScheme: a letter, then letters, digits, "+", "-" or "." (RFC 3986), at
// most 32 bytes; anything else is quoted by no error.
func isScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func splitHostPort(h string, defPort int) (string, int, error) {
	if h == "" {
		return "", 0, errors.New("empty host")
	}
	host, portStr, err := net.SplitHostPort(h)
	if err != nil {
		// No port: a bare name, IPv4 or bracketed IPv6 address.
		bracketed := strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")
		host, portStr = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), ""
		if host == "" || strings.ContainsAny(host, "[]@/") || (!bracketed && strings.Contains(host, ":")) {
			return "", 0, errors.New("not host[:port]")
		}
	}
	if host == "" {
		return "", 0, errors.New("no host name") // ":5672"
	}
	if portStr == "" {
		return host, defPort, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, errors.New("port is not 1..65535")
	}
	return host, port, nil
}

// Addr is host:port of a broker.
func (b Broker) Addr() string { return net.JoinHostPort(b.Host, strconv.Itoa(b.Port)) }

// String is the transport without credentials, for health and errors:
// amqp://host:5672,host2:5672/vhost.
func (t Transport) String() string {
	hosts := make([]string, len(t.Brokers))
	for i, b := range t.Brokers {
		hosts[i] = b.Addr()
	}
	return t.url(strings.Join(hosts, ","))
}

// brokerURL is the URL amqp091 dials for broker i, without credentials
// (they go in the SASL config, never in a string that could be printed).
func (t Transport) brokerURL(i int) string { return t.url(t.Brokers[i].Addr()) }

func (t Transport) url(hosts string) string {
	scheme := "amqp"
	if t.TLS {
		scheme = "amqps"
	}
	return scheme + "://" + hosts + "/" + url.PathEscape(t.VHost)
}

// redactor replaces every credential of a transport in a message, for
// errors that come from libraries and might quote them.
func (t Transport) redact(s string) string {
	sec := &redact.Secrets{}
	for _, b := range t.Brokers {
		sec.AddBasicAuth(b.Username, b.Password)
	}
	return sec.Scrub(s)
}
