package nova

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// TestFailureKind: each failure's kind comes from the phase and the status
// or network error, never from the server's words.
func TestFailureKind(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fakeCloud, a *Auth)
		broken   func(f *fakeCloud) // after a first good poll
		want     sources.FailureKind
		contains string
	}{
		{name: "wrong password", setup: func(_ *fakeCloud, a *Auth) { a.Password = "wrong" }, want: sources.FailAuth},
		{name: "password rotated under a revoked token", broken: func(f *fakeCloud) { f.password, f.token = "rotated", "" }, want: sources.FailAuth},
		{name: "Keystone failing at the token request", setup: func(f *fakeCloud, _ *Auth) { f.identity = 503 }, want: sources.FailKeystone},
		{
			// Seen on the dev cloud: a slow Keystone (1.3–10 s a token)
			// behind a short poll. Not answering in time is not "down".
			name:  "Keystone not answering the token request in time",
			setup: func(f *fakeCloud, _ *Auth) { f.identity = -1; f.hang = make(chan struct{}) },
			want:  sources.FailKeystoneTimeout, contains: "authenticate",
		},
		{
			name: "Nova 503 while Keystone does not answer in time",
			broken: func(f *fakeCloud) {
				f.idHang = make(chan struct{})
				f.services = func(string) (int, string, []byte) { return 503, "application/json", []byte(`{}`) }
			},
			want: sources.FailKeystoneTimeout, contains: "; Keystone not answering: no answer within 2s",
		},
		{
			// Issue 11 item 7: a Nova 500 whose text speaks of tokens is a
			// Nova failure, not an auth outage: Keystone answers.
			name: "Nova 500 mentioning a token, Keystone up",
			broken: func(f *fakeCloud) {
				f.services = func(string) (int, string, []byte) {
					return 500, "application/json", []byte(`{"computeFault": {"code": 500, "message": "token authenticate Keystone credentials 401 refused"}}`)
				}
			},
			want: sources.FailHTTP5xx,
		},
		{
			name: "Nova 503 while Keystone fails",
			broken: func(f *fakeCloud) {
				f.identity = 503
				f.services = func(string) (int, string, []byte) { return 503, "application/json", []byte(`{}`) }
			},
			want: sources.FailKeystone, contains: "Keystone unreachable: HTTP 503",
		},
		{
			// Keystone stopped with a short poll: nova-api's 503 comes
			// after the deadline, the Keystone check tells why.
			name:   "Nova times out while Keystone fails",
			broken: func(f *fakeCloud) { f.identity = 503; f.hang = make(chan struct{}) },
			want:   sources.FailKeystone, contains: "timed out; Keystone unreachable: HTTP 503",
		},
		{
			// Seen in CI: uWSGI hung for 15 s on SIGTERM with its socket
			// open. Keystone took the check's request and said nothing:
			// that is Keystone's silence, not the network's.
			name:   "Nova times out, Keystone takes the request and says nothing",
			broken: func(f *fakeCloud) { f.identity = -1; f.hang = make(chan struct{}) },
			want:   sources.FailKeystoneTimeout, contains: "timed out; Keystone not answering: no answer within 2s",
		},
		{
			name:   "Nova times out, Keystone answers",
			broken: func(f *fakeCloud) { f.hang = make(chan struct{}) },
			want:   sources.FailTimeout,
		},
		{
			name: "forbidden",
			broken: func(f *fakeCloud) {
				f.services = func(string) (int, string, []byte) { return 403, "application/json", []byte(`{}`) }
			},
			want: sources.FailHTTP4xx,
		},
		{
			name: "malformed JSON",
			broken: func(f *fakeCloud) {
				f.services = func(string) (int, string, []byte) { return 200, "application/json", []byte(`{"services": [`) }
			},
			want: sources.FailProtocol,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, false)
			a := f.passwordAuth()
			if tt.setup != nil {
				tt.setup(f, a)
			}
			// The Keystone check gets half the timeout: 2 s, ample on a loaded machine.
			s := newTestSource(t, Config{Auth: a, Interval: 5 * time.Second, Timeout: 4 * time.Second})
			if tt.broken != nil {
				if _, err := s.poll(context.Background()); err != nil {
					t.Fatalf("first poll: %v", err)
				}
				f.mu.Lock()
				tt.broken(f)
				f.mu.Unlock()
			}
			// A short deadline only where Nova hangs: elsewhere a slow
			// machine must not turn the answer into a timeout.
			d := 30 * time.Second
			if f.hang != nil {
				d = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			_, err := s.poll(ctx)
			if f.hang != nil {
				close(f.hang)
			}
			if got := sources.KindOf(err); got != tt.want {
				t.Errorf("kind = %q, want %q (err %v)", got, tt.want, err)
			}
			if tt.contains != "" && (err == nil || !strings.Contains(err.Error(), tt.contains)) {
				t.Errorf("err = %v, want it to contain %q", err, tt.contains)
			}
		})
	}
}

// TestKeystoneRefused: Keystone's port closed (the process stopped) while
// Nova's call fails: keystone-down, and the check sent no credentials.
func TestKeystoneRefused(t *testing.T) {
	f := newFakeCloud(t, false)
	s := newTestSource(t, Config{Auth: f.passwordAuth(), Interval: 2 * time.Second, Timeout: time.Second})
	if _, err := s.poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/identity/v3"
	l.Close()
	s.cfg.auth.IdentityEndpoint = closed
	f.mu.Lock()
	f.services = func(string) (int, string, []byte) { return 503, "application/json", []byte(`{}`) }
	f.mu.Unlock()
	_, err = s.poll(context.Background())
	if got := sources.KindOf(err); got != sources.FailKeystone || !strings.Contains(err.Error(), "Keystone unreachable: connection refused") {
		t.Errorf("kind %q, err %v", got, err)
	}
}

// TestNetworkTimeoutNotKeystone: Nova's call and the Keystone check both fail
// to connect in time (the network, or a firewall dropping packets): a
// timeout, never blamed on Keystone.
func TestNetworkTimeoutNotKeystone(t *testing.T) {
	f := newFakeCloud(t, false)
	s := newTestSource(t, Config{Auth: f.passwordAuth(), Interval: 2 * time.Second, Timeout: time.Second})
	if _, err := s.poll(context.Background()); err != nil {
		t.Fatalf("first poll: %v", err)
	}
	blackhole := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done() // a SYN never answered
		return nil, ctx.Err()
	}}
	s.http.Transport = blackhole
	s.compute.HTTPClient.Transport = blackhole
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.poll(ctx)
	if got := sources.KindOf(err); got != sources.FailTimeout || strings.Contains(err.Error(), "Keystone") {
		t.Errorf("kind %q, err %v; want a timeout that does not name Keystone", got, err)
	}
}
