package rpcping

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
)

func TestParseTransportURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Transport
		str  string
	}{
		{"rabbit://nova:s3cret@127.0.0.1:5672/nova",
			Transport{VHost: "nova", Brokers: []Broker{{"127.0.0.1", 5672, "nova", "s3cret"}}},
			"amqp://127.0.0.1:5672/nova"},
		{"rabbit://nova:pw1@mq1:5672,nova:pw2@mq2:5673/",
			Transport{VHost: "/", Brokers: []Broker{{"mq1", 5672, "nova", "pw1"}, {"mq2", 5673, "nova", "pw2"}}},
			"amqp://mq1:5672,mq2:5673/%2F"},
		{"rabbit://u:p@mq1,mq2/v", // a host without credentials takes the previous host's
			Transport{VHost: "v", Brokers: []Broker{{"mq1", 5672, "u", "p"}, {"mq2", 5672, "u", "p"}}},
			"amqp://mq1:5672,mq2:5672/v"},
		{"amqps://u:p%40ss%2Fw@[::1]:5671/%2Fnova",
			Transport{TLS: true, VHost: "/nova", Brokers: []Broker{{"::1", 5671, "u", "p@ss/w"}}},
			"amqps://[::1]:5671/%2Fnova"},
		{"rabbit://u:p@mq?ssl=1",
			Transport{TLS: true, VHost: "/", Brokers: []Broker{{"mq", 5671, "u", "p"}}},
			"amqps://mq:5671/%2F"},
		{"rabbit://u:pa/ss@mq:5672/v", // an unescaped "/" in the password still parses
			Transport{VHost: "v", Brokers: []Broker{{"mq", 5672, "u", "pa/ss"}}},
			"amqp://mq:5672/v"},
		{"  rabbit://u:p@[::1]/v\n",
			Transport{VHost: "v", Brokers: []Broker{{"::1", 5672, "u", "p"}}},
			"amqp://[::1]:5672/v"},
	} {
		got, err := ParseTransportURL(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, c.want)
		}
		if got.String() != c.str {
			t.Errorf("%q: String() = %q, want %q", c.in, got.String(), c.str)
		}
	}
}

func TestParseTransportURLErrorsHideCredentials(t *testing.T) {
	for _, in := range []string{
		"http://u:s3cret@mq:15672/",
		"nova:s3cret@mq",
		"rabbit://u:s3cret@",
		"rabbit://u:s3cret@mq:99999/v",
		"rabbit://u:s3c,ret@mq/v", // an unescaped "," splits the host list inside the password
		"rabbit://u:s3cret@mq:port/v",
		"rabbit://u:s3cret@[::1/v",
		"rabbit://u:s3cret@mq/%zz",
		"rabbit://nova:s3cret/nova",           // no '@' (issue 11)
		"rabbit://u:s3cret@mq1:5672,mq2:x/v",  // a bad second host
		"rabbit://u:s3cret@mq1,nova:s3cret/v", // a second host's credentials without '@'
	} {
		_, err := ParseTransportURL(in)
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		if strings.Contains(err.Error(), "s3c") || strings.Contains(err.Error(), "ret@") || strings.Contains(err.Error(), "nova") {
			t.Errorf("%q: error shows the password: %v", in, err)
		}
		if _, err := New(Config{TransportURL: in, Targets: func() []Target { return nil }}); err == nil || strings.Contains(err.Error(), "s3c") {
			t.Errorf("%q: New: %v", in, err)
		}
	}
}

// A library error quoting a password, or the basic-auth form of it, is scrubbed.
func TestTransportRedact(t *testing.T) {
	tr, _ := ParseTransportURL("rabbit://u:s3cret@mq/v")
	if got := tr.redact("ACCESS_REFUSED for s3cret and s3cret"); got != "ACCESS_REFUSED for REDACTED and REDACTED" {
		t.Errorf("redact: %q", got)
	}
}

// A broker that refuses the connection: health and probes say so, with no
// credentials, and the schedule keeps going.
func TestUnreachableBrokerHealthHidesCredentials(t *testing.T) {
	src, err := New(Config{
		TransportURL: "rabbit://nova:s3cret-pw@127.0.0.1:1,nova:s3cret-pw@127.0.0.1:2/nova",
		Targets:      func() []Target { return []Target{{"nova-compute", "c1", "compute"}} },
		Interval:     200 * time.Millisecond, Timeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	batches := make(chan sources.Batch, 64)
	go func() { _ = src.Run(ctx, func(b sources.Batch) { batches <- b }) }()
	for {
		select {
		case <-ctx.Done():
			t.Fatal("no failed probe within 5s")
		case b := <-batches:
			if b.Health.OK || b.Health.Err == "" {
				t.Fatalf("health %+v, want a failure", b.Health)
			}
			all := b.Health.Err + b.Health.Target + b.Health.Detail
			for _, p := range b.Probes {
				all += p.Detail
			}
			if strings.Contains(all, "s3cret") || strings.Contains(all, "nova:") {
				t.Fatalf("credentials in %q", all)
			}
			if !strings.Contains(b.Health.Err, "127.0.0.1:1") || !strings.Contains(b.Health.Err, "127.0.0.1:2") {
				t.Errorf("health error %q should name both brokers tried", b.Health.Err)
			}
			if len(b.Probes) == 0 {
				continue
			}
			p := b.Probes[0]
			if p.Kind != sources.ProbeRPC || p.Result != sources.ProbeError || !strings.HasPrefix(p.Detail, "not connected: ") || p.Host != "c1" || p.Binary != "nova-compute" {
				t.Fatalf("probe %+v, want an rpc-ping error: not connected", p)
			}
			if b.Source != Name || b.Health.Target != "amqp://127.0.0.1:1,127.0.0.1:2/nova" {
				t.Errorf("batch source %q target %q", b.Source, b.Health.Target)
			}
			return
		}
	}
}

// FuzzParseTransportURL: whatever nova.conf holds, the parser neither
// panics nor prints a password, and a transport it accepts prints none.
func FuzzParseTransportURL(f *testing.F) {
	for _, s := range []string{
		"rabbit://nova:S3cr3t@mq1:5672/nova",
		"rabbit://nova:S3cr3t@mq1:5672,nova:S3cr3t@mq2:5672,nova:S3cr3t@mq3:5672/nova?ssl=1",
		"amqps://u:p%40ss@[2001:db8::1]:5671/%2F",
		"rabbit://nova:S3cr3t/nova",
		"nova:S3cr3t@mq1:5672/nova",
		"rabbit://nova:S3/cr3t@mq1/nova",
		"rabbit://nova:S3,cr3t@mq1/nova",
		"rabbit://nova:S3cr3t@mq1:99999/nova",
		"rabbit://u:s3cret@[::1/v",
		"rabbit://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tr, err := ParseTransportURL(raw)
		at := strings.LastIndex(raw, "@")
		// The password of the first host, as written: between its first ':' after the scheme and the last '@'.
		_, rest, _ := strings.Cut(raw, "://")
		pass := ""
		if at >= 0 {
			if i := strings.Index(rest, ":"); i >= 0 && len(raw)-len(rest)+i < at {
				pass = raw[len(raw)-len(rest)+i+1 : at]
			}
		}
		if err != nil {
			if len(pass) >= 6 && strings.Contains(err.Error(), pass) {
				t.Fatalf("ParseTransportURL(%q): %v shows the password", raw, err)
			}
			return
		}
		for _, b := range tr.Brokers {
			_, hosts, _ := strings.Cut(tr.String(), "://")
			hosts, _, _ = strings.Cut(hosts, "/")
			if strings.Contains(hosts, "@") || (b.Password != "" && strings.Contains(hosts, b.Password) && !strings.Contains(b.Addr(), b.Password)) {
				t.Fatalf("String() = %q shows credentials", tr.String())
			}
			if b.Port < 1 || b.Port > 65535 || b.Host == "" {
				t.Fatalf("accepted broker %+v from %q", b, raw)
			}
		}
		if len(tr.Brokers) == 0 {
			t.Fatalf("accepted %q without a broker", raw)
		}
	})
}
