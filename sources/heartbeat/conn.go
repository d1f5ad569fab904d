package heartbeat

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/clock"
)

// ConnConfig says how to reach the broker. The password never comes from a
// URL or a command line: callers fill Password from a file or the environment.
type ConnConfig struct {
	URL      string // amqp://host:5672/vhost or amqps://host:5671/vhost, without credentials
	VHost    string // overrides the URL's vhost when set
	User     string
	Password string
	CAFile   string // PEM bundle that verifies an amqps:// broker; the system roots when empty
	Insecure bool   // skip TLS verification (tests only)
	Name     string // connection_name shown in the management UI
	// DialTimeout bounds the TCP, TLS and AMQP handshakes (default 5 s).
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat asked of the broker (default 5 s): a
	// dead peer is noticed after about three of them.
	Heartbeat time.Duration
}

// Validate checks the URL and credentials without dialling.
func (c ConnConfig) Validate() error {
	if c.URL == "" {
		return errors.New("no broker URL")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		return fmt.Errorf("want amqp(s)://host:port/vhost, got %q", redact.URL(c.URL))
	}
	if u.User != nil {
		return errors.New("credentials do not belong in the URL; give the user separately and the password by file or environment")
	}
	if c.CAFile != "" && u.Scheme != "amqps" {
		return errors.New("a CA file needs an amqps:// URL")
	}
	return nil
}

// vhost is the virtual host the connection opens.
func (c ConnConfig) vhost() string {
	if c.VHost != "" {
		return c.VHost
	}
	u, err := amqp.ParseURI(c.URL)
	if err != nil || u.Vhost == "" {
		return "/"
	}
	return u.Vhost
}

// Target names the broker and vhost for health lines: no credentials.
func (c ConnConfig) Target() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return redact.URL(c.URL)
	}
	u.User = nil
	u.Path = "/" + strings.TrimPrefix(c.vhost(), "/")
	u.RawPath = ""
	if c.vhost() == "/" {
		u.Path = "/"
	}
	return u.String()
}

// tlsConfig builds the client TLS configuration: verification on, the CA
// file's roots when given, the URL's host as server name.
func (c ConnConfig) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: c.Insecure} //nolint:gosec // an explicit, documented option
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificates", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dial opens one connection. Credentials travel by SASL PLAIN, never in the URL.
func (c ConnConfig) dial(ctx context.Context) (*amqp.Connection, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	timeout := c.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	hb := c.Heartbeat
	if hb <= 0 {
		hb = 5 * time.Second
	}
	u, _ := url.Parse(c.URL)
	cfg := amqp.Config{
		Vhost:     c.vhost(),
		Heartbeat: hb,
		Locale:    "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bounds the TLS and AMQP handshakes; amqp091-go clears it once open.
			return conn, conn.SetDeadline(time.Now().Add(timeout))
		},
		Properties: amqp.NewConnectionProperties(),
	}
	if c.User != "" || c.Password != "" {
		cfg.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: c.User, Password: c.Password}}
	}
	if c.Name != "" {
		cfg.Properties.SetClientConnectionName(c.Name)
	}
	if u.Scheme == "amqps" {
		tc, err := c.tlsConfig(u.Hostname())
		if err != nil {
			return nil, err
		}
		cfg.TLSClientConfig = tc
	}
	conn, err := amqp.DialConfig(c.URL, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", c.Target(), err)
	}
	return conn, nil
}

// closeConn closes conn without waiting long: a blocked connection is not
// read by the broker, so close-ok may never come.
func closeConn(conn *amqp.Connection) {
	if conn != nil && !conn.IsClosed() {
		_ = conn.CloseDeadline(time.Now().Add(time.Second))
	}
}

// backoff yields reconnect delays: doubling from min to max, each drawn
// uniformly from its upper half so that many agents do not dial in step.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }

// session is one live connection handed to a link's user.
type session struct {
	conn    *amqp.Connection
	closed  chan *amqp.Error     // NotifyClose of the connection
	blocked chan amqp.Blocking   // NotifyBlocked of the connection
	since   func() time.Duration // how long the session has been up
}

// link keeps one connection up: it dials, runs serve until the connection
// or serve fails, closes it, waits a backoff with jitter and dials again,
// until ctx is done. amqp091-go does not reconnect by itself.
type link struct {
	cfg      ConnConfig
	min, max time.Duration                // backoff bounds (default 250 ms .. 5 s)
	onDown   func(err error, attempt int) // called after every failure (dial or session), may be nil
	onUp     func()                       // called after every successful dial, may be nil
	serve    func(context.Context, *session) error
	clk      clock.Clock // paces the backoff and times sessions; nil for the machine's clock
}

func (l *link) run(ctx context.Context) {
	b := backoff{min: l.min, max: l.max}
	if b.min <= 0 {
		b.min = 250 * time.Millisecond
	}
	if b.max <= 0 {
		b.max = 5 * time.Second
	}
	clk := clock.Or(l.clk)
	attempt := 0
	for ctx.Err() == nil {
		up, err := l.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if up > 30*time.Second {
			// A long healthy session: start again from the shortest backoff.
			b.reset()
			attempt = 0
		}
		attempt++
		if l.onDown != nil {
			l.onDown(err, attempt)
		}
		t := clk.NewTimer(b.next())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// once dials and serves one session; up is how long it was connected (0 when the dial failed).
func (l *link) once(ctx context.Context) (up time.Duration, err error) {
	conn, err := l.cfg.dial(ctx)
	if err != nil {
		return 0, err
	}
	defer closeConn(conn)
	clk := clock.Or(l.clk)
	start := clk.Now()
	s := &session{
		conn:    conn,
		closed:  conn.NotifyClose(make(chan *amqp.Error, 1)),
		blocked: conn.NotifyBlocked(make(chan amqp.Blocking, 4)),
		since:   func() time.Duration { return clock.Since(clk, start) },
	}
	if l.onUp != nil {
		l.onUp()
	}
	err = l.serve(ctx, s)
	if err == nil {
		err = sources.Fail(sources.FailReset, errors.New("connection closed"))
	}
	return max(clock.Since(clk, start), time.Nanosecond), err
}

// closeErr turns a NotifyClose value into an error.
func closeErr(e *amqp.Error, what string) error {
	if e == nil {
		return sources.Fail(sources.FailReset, fmt.Errorf("%s closed", what))
	}
	return fmt.Errorf("%s closed: %w", what, e)
}

// AMQPKind is the failure kind of an AMQP connection error: the close code
// of an amqp091 Error (sources.KindOfAMQPCode), else what the error's types say.
func AMQPKind(err error) sources.FailureKind {
	var f *sources.Failure
	var ae *amqp.Error
	switch {
	case errors.As(err, &f) && f.Kind != sources.FailNone:
		return f.Kind
	case errors.As(err, &ae) && ae.Code != 0:
		return sources.KindOfAMQPCode(ae.Code)
	}
	return sources.KindOf(err)
}

// declareExchange declares the heartbeat exchange the one way every
// stacktop component declares it: topic, not durable, not auto-deleted, no
// arguments, so no two declarations ever conflict. If someone declared it
// otherwise (a 406 PRECONDITION_FAILED), the existing exchange is used as it
// is, checked passively on a fresh channel, and the returned note says so.
func declareExchange(conn *amqp.Connection, ch *amqp.Channel) (*amqp.Channel, string, error) {
	err := ch.ExchangeDeclare(Exchange, "topic", false, false, false, false, nil)
	if err == nil {
		return ch, "", nil
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		return nil, "", fmt.Errorf("declare exchange %s: %w", Exchange, err)
	}
	ch2, err2 := conn.Channel()
	if err2 != nil {
		return nil, "", fmt.Errorf("declare exchange %s: %w; reopen channel: %v", Exchange, err, err2)
	}
	if err2 := ch2.ExchangeDeclarePassive(Exchange, "topic", false, false, false, false, nil); err2 != nil {
		return nil, "", fmt.Errorf("declare exchange %s: %w", Exchange, err)
	}
	return ch2, fmt.Sprintf("exchange %s exists with other properties (%s); using it as it is", Exchange, ae.Reason), nil
}
