package redact

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://keystone.example:5000/v3", "https://keystone.example:5000/v3"},
		{"http://127.0.0.1:15672", "http://127.0.0.1:15672"},
		{"amqps://[2001:db8::1]:5671/nova", "amqps://[2001:db8::1]:5671/nova"},
		{"https://admin:S3cr3t@keystone:5000/v3", "https://REDACTED@keystone:5000/v3"},
		{"https://admin@keystone:5000/v3", "https://REDACTED@keystone:5000/v3"},    // the user name goes too
		{"stacktop:S3cr3t@host:15672", "REDACTED@host:15672"},                      // no scheme: url.Parse reads "stacktop" as one
		{"admin:S3cr3t@keystone:5000/v3", "REDACTED@keystone:5000/v3"},             // likewise
		{"rabbit://nova:S3cr3t/nova", "rabbit://REDACTED"},                         // no '@': nova:S3cr3t is no host:port
		{"rabbit://nova:S3cr3t", "rabbit://REDACTED"},                              // likewise, no path
		{"stacktop:S3cr3t", "REDACTED"},                                            // likewise, no scheme
		{"rabbit://nova:S3/cr3t@mq1:5672/nova", "rabbit://REDACTED@mq1:5672/nova"}, // '/' in the password
		{"rabbit://nova:S3@cr3t@mq1/nova", "rabbit://REDACTED@mq1/nova"},           // '@' in the password
		{"rabbit://u:S3cr3t@h1:5672,u2:P4ss@h2:5672/nova", "rabbit://REDACTED@h2:5672/nova"},
		{"rabbit://u:S3,cr3t@h1:5672/nova", "rabbit://REDACTED@h1:5672/nova"}, // ',' in the password
		{"rabbit://h1:5672,nova:S3cr3t/nova", "rabbit://REDACTED"},            // a later host without '@'
		{"http://h:15672/api?password=S3cr3t&x=1", "http://h:15672/api?password=REDACTED&x=1"},
		{"http://h/api?auth_token=S3cr3t", "http://h/api?auth_token=REDACTED"},
		{"::1", "::1"},
		{"mq1.example", "mq1.example"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"S3cr3t", "S3", "cr3t", "P4ss", "admin", "nova:"} {
			if strings.Contains(tt.in, secret) && strings.Contains(tt.in, "@") && strings.Contains(URL(tt.in), secret) {
				t.Errorf("URL(%q) = %q keeps %q", tt.in, URL(tt.in), secret)
			}
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Get "http://user:***@mq1:15672/api/nodes": dial tcp 10.0.0.1:15672: connection refused`,
			`Get "http://REDACTED@mq1:15672/api/nodes": dial tcp 10.0.0.1:15672: connection refused`},
		{`rabbitmq.url: got "stacktop:S3cr3t@host:15672"`, `rabbitmq.url: got "REDACTED@host:15672"`},
		{"dial rabbit://nova:S3cr3t/nova: refused", "dial rabbit://REDACTED refused"},
		{"memory alarm on rabbit@mq-1", "memory alarm on rabbit@mq-1"}, // a node name, not a credential
		{"canary: connection.blocked: low on memory (rabbit@mq-1)", "canary: connection.blocked: low on memory (rabbit@mq-1)"},
		{"no URL here: 10:30", "no URL here: 10:30"},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestSecretsScrub(t *testing.T) {
	s := NewSecrets("S3cr3t/+&", "", "gAAAAtoken")
	s.AddBasicAuth("monitor", "Pa55")
	tests := []struct{ in, want string }{
		{"password S3cr3t/+& refused", "password REDACTED refused"},
		{"escaped S3cr3t%2F%2B%26 and S3cr3t%2F+&", "escaped REDACTED and REDACTED"},
		{"X-Auth-Token: gAAAAtoken", "X-Auth-Token: REDACTED"},
		{"Authorization: Basic bW9uaXRvcjpQYTU1", "Authorization: Basic REDACTED"},
		{"yaml: `Pa55`", "yaml: `REDACTED`"},
		{"plain message", "plain message"},
	}
	for _, tt := range tests {
		if got := s.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ secret, in, want string }{
		{"ab", "password ab refused by rabbit: ab", "password REDACTED refused by rabbit: REDACTED"},
		{"ab", "ab ab,ab", "REDACTED REDACTED,REDACTED"},           // touching matches: each one
		{"ab", "tab abc ab1 éab", "tab abc ab1 éab"},               // inside words: none
		{"\xf60", "pw \xf60 here", "pw REDACTED here"},             // not UTF-8 (a regexp could not hold it; the fuzzer found the panic)
		{"\xf6", "\xf6\xf6 x \xf6", "REDACTEDREDACTED x REDACTED"}, // an invalid byte is no letter
	} {
		if got := NewSecrets(tt.secret).Scrub(tt.in); got != tt.want {
			t.Errorf("short secret %q: Scrub(%q) = %q, want %q", tt.secret, tt.in, got, tt.want)
		}
	}
	var none *Secrets
	if got := none.Scrub("x http://a:b@h/"); got != "x http://REDACTED@h/" {
		t.Errorf("nil Secrets: %q", got)
	}
}

func TestSecretsErrorKeepsChain(t *testing.T) {
	s := NewSecrets("S3cr3t")
	err := s.Error(&fs.PathError{Op: "open", Path: "/tmp/S3cr3t", Err: fs.ErrNotExist})
	if strings.Contains(err.Error(), "S3cr3t") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Error() = %v, Is(ErrNotExist) = %v", err, errors.Is(err, fs.ErrNotExist))
	}
	if s.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

// FuzzURL: whatever surrounds them, a password given as userinfo never
// survives URL, nor Text of a message quoting the URL.
func FuzzURL(f *testing.F) {
	for _, c := range [][3]string{
		{"stacktop", "S3cr3t", "host:15672"}, {"admin", "S3cr3t", "keystone:5000/v3"},
		{"nova", "S3/cr3t", "mq1:5672,u2:p2@mq2/nova"}, {"u", "p@ss,w", "[::1]:5672"}, {"", "S3cr3t?x=1", "h"},
	} {
		f.Add("rabbit://", c[0], c[1], c[2])
		f.Add("", c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, scheme, user, pass, host string) {
		if len(pass) < 4 || strings.ContainsAny(pass, " \t\n\f\r\"'`<>") {
			return // too short to tell from the rest; Text splits words at these
		}
		in := scheme + user + ":" + pass + "@" + host
		out := URL(in)
		if strings.Contains(out, pass) && !strings.Contains(scheme+Placeholder+"@"+host, pass) {
			t.Fatalf("URL(%q) = %q keeps the password", in, out)
		}
		if !strings.ContainsAny(scheme+user+host, " \t\n\f\r\"'`<>") {
			msg := Text(`config: got "` + in + `": bad`)
			if strings.Contains(msg, pass) && !strings.Contains(scheme+Placeholder+"@"+host+`config: got "": bad`, pass) {
				t.Fatalf("Text of %q = %q keeps the password", in, msg)
			}
		}
	})
}

func TestYAMLValues(t *testing.T) {
	for in, want := range map[string]string{
		"yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `S3cr3t` into clouds.AuthInfo": "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str",
		"line 1: cannot unmarshal !!str `0`` into clouds.Clouds":                                  "line 1: cannot unmarshal !!str",
		"line 2: cannot unmarshal !!seq into string":                                              "line 2: cannot unmarshal !!seq",
		"yaml: line 2: mapping values are not allowed in this context":                            "yaml: line 2: mapping values are not allowed in this context",
	} {
		if got := YAMLValues(in); got != want {
			t.Errorf("YAMLValues(%q) = %q, want %q", in, got, want)
		}
	}
}
