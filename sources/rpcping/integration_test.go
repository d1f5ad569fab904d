package rpcping

// Integration tests against the real Nova services of scripts/dev-openstack
// (on the RabbitMQ of scripts/dev-rabbitmq): compute-1 and the conductor run
// with rpc_ping_enabled = true, compute-2 and the scheduler without. They
// skip when the harness is absent (fail with STACKTOP_REQUIRE_INTEGRATION=1),
// hold the cross-package harness lock (shared, or exclusive for the tests
// that kill a compute or stop the broker), and leave the harness as they
// found it: whatever they stop they start again in t.Cleanup and wait until
// every service answers the ping again.
//
//	scripts/dev-openstack up
//	go test -run Integration -v ./sources/rpcping/

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
)

type devCloud struct {
	transportURL string
	script       string // scripts/dev-openstack
	rabbitmqctl  string // scripts/rabbitmqctl
	targets      []Target
	pingEnabled  map[string]bool // by Nova host for computes, by binary for the others
}

// devOpenStack takes the harness lock (harness.Share or harness.Disrupt)
// first, then checks the harness answers: a broker stopped by another
// package's test is back by the time the lock is ours.
func devOpenStack(t *testing.T, lock func(testing.TB)) *devCloud {
	t.Helper()
	lock(t)
	env := harness.Require(t, "openstack", "STACKTOP_TEST_TRANSPORT_URL")
	root, err := harness.Root()
	if err != nil {
		t.Fatal(err)
	}
	d := &devCloud{
		transportURL: env.Get("STACKTOP_TEST_TRANSPORT_URL"),
		script:       env.Get("STACKTOP_TEST_DEV_OPENSTACK"),
		rabbitmqctl:  filepath.Join(root, "scripts", "rabbitmqctl"),
		pingEnabled:  map[string]bool{},
	}
	if d.script == "" {
		d.script = filepath.Join(root, "scripts", "dev-openstack")
	}
	if rmq, err := harness.Load("rabbitmq"); err == nil && rmq.Get("STACKTOP_TEST_RABBITMQCTL") != "" {
		d.rabbitmqctl = rmq.Get("STACKTOP_TEST_RABBITMQCTL")
	}
	for _, s := range strings.Split(env.Get("STACKTOP_TEST_NOVA_RPC_PING"), ",") {
		d.pingEnabled[strings.TrimSpace(s)] = true
	}
	computes := strings.Split(env.Get("STACKTOP_TEST_NOVA_COMPUTES"), ",")
	if len(computes) < 2 {
		t.Fatalf("harness lists computes %q; the tests need two", computes)
	}
	for _, c := range computes {
		d.targets = append(d.targets, mustTarget(t, "nova-compute", c))
	}
	// The conductor and scheduler run with Nova's default host: this machine's name.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	d.targets = append(d.targets, mustTarget(t, "nova-conductor", host), mustTarget(t, "nova-scheduler", host))
	return d
}

func mustTarget(t *testing.T, binary, host string) Target {
	t.Helper()
	tg, ok := NewTarget(binary, host)
	if !ok {
		t.Fatalf("no target for %s on %s", binary, host)
	}
	return tg
}

// wantDetail is the reply detail a service's configuration should give.
func (d *devCloud) wantDetail(tg Target) string {
	if d.pingEnabled[tg.Host] || d.pingEnabled[tg.Binary] {
		return "pong"
	}
	return "UnsupportedVersion (ping not enabled)"
}

func (d *devCloud) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// pinger runs a Source against the dev cloud and collects its batches.
type pinger struct {
	src     *Source
	batches chan sources.Batch
}

func (d *devCloud) start(t *testing.T, interval, timeout time.Duration) *pinger {
	t.Helper()
	targets := d.targets
	src, err := New(Config{TransportURL: d.transportURL, Targets: func() []Target { return targets }, Interval: interval, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	p := &pinger{src: src, batches: make(chan sources.Batch, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(b sources.Batch) { p.batches <- b }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
	return p
}

// until reads probes until done returns true or the deadline passes.
func (p *pinger) until(t *testing.T, within time.Duration, what string, done func(sources.Probe, sources.Health) bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case b := <-p.batches:
			if len(b.Probes) == 0 && done(sources.Probe{}, b.Health) {
				return
			}
			for _, pr := range b.Probes {
				if done(pr, b.Health) {
					return
				}
			}
		case <-deadline:
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

// allAnswer waits until every target has answered as configured once
// (after since), and returns the probes.
func (d *devCloud) allAnswer(t *testing.T, p *pinger, within time.Duration, since time.Time) map[Target]sources.Probe {
	t.Helper()
	got := map[Target]sources.Probe{}
	p.until(t, within, "every service answers the ping", func(pr sources.Probe, _ sources.Health) bool {
		if pr.Kind != sources.ProbeRPC || pr.At.Before(since) {
			return false
		}
		tg, _ := NewTarget(pr.Binary, pr.Host)
		if pr.Result == sources.ProbeOK && pr.Detail == d.wantDetail(tg) {
			got[tg] = pr
		} else {
			delete(got, tg)
		}
		return len(got) == len(d.targets)
	})
	return got
}

func TestIntegrationEveryServiceAnswers(t *testing.T) {
	d := devOpenStack(t, harness.Share)
	p := d.start(t, 2*time.Second, 5*time.Second)

	rtts := map[Target][]time.Duration{}
	p.until(t, 30*time.Second, "three answered pings of every service", func(pr sources.Probe, h sources.Health) bool {
		if pr.Kind == "" {
			return false
		}
		tg, ok := NewTarget(pr.Binary, pr.Host)
		if !ok || !slices.Contains(d.targets, tg) {
			t.Fatalf("probe of a service never asked for: %+v", pr)
		}
		if pr.Result != sources.ProbeOK || pr.Detail != d.wantDetail(tg) {
			t.Fatalf("%s: %s %q, want ok %q (health %+v)", tg.RoutingKey(), pr.Result, pr.Detail, d.wantDetail(tg), h)
		}
		if !h.OK || !strings.HasPrefix(h.Target, "amqp://127.0.0.1:5672/") || strings.Contains(h.Target, "@") {
			t.Fatalf("health %+v: want OK with the broker as target, no credentials", h)
		}
		rtts[tg] = append(rtts[tg], pr.RTT)
		for _, tg := range d.targets {
			if len(rtts[tg]) < 3 {
				return false
			}
		}
		return true
	})
	for _, tg := range d.targets {
		r := slices.Clone(rtts[tg])
		slices.Sort(r)
		t.Logf("RTT %-28s %-38s min %-10s median %-10s max %s", tg.RoutingKey(), d.wantDetail(tg), r[0], r[len(r)/2], r[len(r)-1])
	}
}

func TestIntegrationKilledComputeStopsAnswering(t *testing.T) {
	d := devOpenStack(t, harness.Disrupt)
	const interval, timeout = 3 * time.Second, 2 * time.Second
	p := d.start(t, interval, timeout)
	d.allAnswer(t, p, 20*time.Second, time.Time{})

	victim := mustTarget(t, "nova-compute", "compute-2")
	t.Cleanup(func() {
		d.run(t, d.script, "start-compute", victim.Host)
		// Leave the harness as found: the compute answers its pings again.
		d.allAnswer(t, p, 120*time.Second, time.Now())
	})
	// The compute dies somewhere between invoking the script and its return:
	// an answer to a ping sent before the return is no failure.
	killed := time.Now()
	d.run(t, d.script, "kill-compute", victim.Host)
	returned := time.Now()

	// Within one interval (plus the timeout of the ping that finds it
	// gone), the victim times out while every other service still answers.
	var sentAt, failedAt time.Time
	others := map[Target]bool{}
	p.until(t, interval+timeout+3*time.Second, "the killed compute times out, the others answer", func(pr sources.Probe, _ sources.Health) bool {
		if pr.Kind == "" || pr.At.Before(killed) {
			return false
		}
		tg, _ := NewTarget(pr.Binary, pr.Host)
		switch {
		case tg == victim && pr.Result == sources.ProbeTimeout:
			if failedAt.IsZero() {
				sentAt, failedAt = pr.At, pr.At.Add(pr.RTT)
				if want := "no reply in " + timeout.String(); pr.Detail != want {
					t.Errorf("detail %q, want %q", pr.Detail, want)
				}
			}
		case tg == victim && pr.Result == sources.ProbeOK && pr.At.Before(returned):
		case tg == victim:
			t.Fatalf("killed %s answered: %+v", victim.RoutingKey(), pr)
		case pr.Result != sources.ProbeOK:
			t.Fatalf("%s failed while only %s was killed: %+v", tg.RoutingKey(), victim.Host, pr)
		default:
			others[tg] = true
		}
		return !failedAt.IsZero() && len(others) == len(d.targets)-1
	})
	t.Logf("%s killed → its next ping, sent %s later, timed out %s after the kill (interval %s, timeout %s); the %d other services kept answering",
		victim.Host, sentAt.Sub(killed).Round(time.Millisecond), failedAt.Sub(killed).Round(time.Millisecond), interval, timeout, len(others))
	if sentAt.Sub(killed) > interval+500*time.Millisecond {
		t.Errorf("the first ping after the kill was sent %s later, want within one interval (%s)", sentAt.Sub(killed), interval)
	}
}

func TestIntegrationStopAppEveryPingFails(t *testing.T) {
	d := devOpenStack(t, harness.Disrupt)
	const interval, timeout = 4 * time.Second, 2 * time.Second
	p := d.start(t, interval, timeout)
	d.allAnswer(t, p, 20*time.Second, time.Time{})

	// rabbitmqctl takes a second or two to start; the broker stops somewhere
	// between invoked and stopped. Pings answered before stopped are fine.
	// The moment the broker went: its AMQP listener refuses connections.
	down := make(chan time.Time, 1)
	go func() {
		for range 400 {
			c, err := net.DialTimeout("tcp", "127.0.0.1:5672", time.Second)
			if err != nil {
				down <- time.Now()
				return
			}
			c.Close()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	invoked := time.Now()
	d.run(t, d.rabbitmqctl, "stop_app")
	stopped := time.Now()
	t.Cleanup(func() {
		started := time.Now()
		d.run(t, d.rabbitmqctl, "start_app")
		// The source reconnects by itself, and Nova's services too: wait
		// until every one answers again, as the harness was.
		d.allAnswer(t, p, 120*time.Second, started)
		t.Logf("start_app → every service answers again after %s", time.Since(started).Round(time.Millisecond))
	})

	failed := map[Target]time.Time{}
	results := map[string]int{}
	var healthErr string
	p.until(t, interval+timeout+5*time.Second, "every ping fails after stop_app", func(pr sources.Probe, h sources.Health) bool {
		if !h.OK && healthErr == "" {
			healthErr = h.Err
		}
		if pr.Kind == "" || pr.At.Add(pr.RTT).Before(invoked) {
			return false
		}
		tg, _ := NewTarget(pr.Binary, pr.Host)
		if pr.Result == sources.ProbeOK {
			if pr.At.Before(stopped) {
				return false // answered while stop_app was still on its way
			}
			t.Fatalf("%s answered after stop_app: %+v", tg.RoutingKey(), pr)
		}
		if _, seen := failed[tg]; !seen {
			failed[tg] = pr.At.Add(pr.RTT)
			results[string(pr.Result)+": "+pr.Detail]++
		}
		return len(failed) == len(d.targets)
	})
	var gone time.Time
	select {
	case gone = <-down:
	case <-time.After(5 * time.Second):
		t.Fatal("the broker's port still accepts connections after stop_app")
	}
	var first, last time.Time
	for _, at := range failed {
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	t.Logf("stop_app: broker gone %s after invoking it (the command took %s); first ping failed %s later, every service's ping %s later (interval %s, timeout %s); results %v; health %q",
		gone.Sub(invoked).Round(time.Millisecond), stopped.Sub(invoked).Round(time.Millisecond),
		first.Sub(gone).Round(time.Millisecond), last.Sub(gone).Round(time.Millisecond), interval, timeout, results, healthErr)
	if last.Sub(gone) > interval+timeout {
		t.Errorf("every ping failed only %s after the broker went, want within one interval (%s) plus the timeout", last.Sub(gone), interval)
	}
	if strings.Contains(healthErr, "@") || strings.Contains(fmt.Sprint(results), "@") {
		t.Errorf("credentials in an error: %q %v", healthErr, results)
	}
}

// A memory alarm blocks publishers: pings say "blocked" (not a timeout that
// would blame the services), health says why, and nothing hangs.
func TestIntegrationMemoryAlarmBlocksPings(t *testing.T) {
	d := devOpenStack(t, harness.Disrupt)
	const interval, timeout = 2 * time.Second, 2 * time.Second
	p := d.start(t, interval, timeout)
	d.allAnswer(t, p, 20*time.Second, time.Time{})

	raised := time.Now()
	d.run(t, d.rabbitmqctl, "set_vm_memory_high_watermark", "0.0001")
	t.Cleanup(func() {
		lowered := time.Now()
		d.run(t, d.rabbitmqctl, "set_vm_memory_high_watermark", "0.4")
		d.allAnswer(t, p, 120*time.Second, lowered)
		t.Logf("alarm cleared → every service answers again after %s", time.Since(lowered).Round(time.Millisecond))
	})

	blocked := map[Target]sources.Probe{}
	var health string
	p.until(t, 3*interval+timeout+5*time.Second, "every ping blocked", func(pr sources.Probe, h sources.Health) bool {
		if !h.OK && strings.HasPrefix(h.Err, "broker blocks publishers") {
			health = h.Err
		}
		if pr.Kind == "" || pr.At.Before(raised) {
			return false
		}
		tg, _ := NewTarget(pr.Binary, pr.Host)
		switch pr.Result {
		case sources.ProbeBlocked:
			if _, seen := blocked[tg]; !seen {
				blocked[tg] = pr
			}
		case sources.ProbeOK:
			if len(blocked) > 0 {
				t.Fatalf("%s answered while the broker blocks publishers: %+v", tg.RoutingKey(), pr)
			}
		default:
			if len(blocked) > 0 {
				t.Fatalf("%s: %s %q while blocked, want blocked", tg.RoutingKey(), pr.Result, pr.Detail)
			}
		}
		return len(blocked) == len(d.targets) && health != ""
	})
	var last time.Time
	for _, pr := range blocked {
		if end := pr.At.Add(pr.RTT); end.After(last) {
			last = end
		}
	}
	t.Logf("memory alarm → every ping blocked after %s; e.g. %q; health %q", last.Sub(raised).Round(time.Millisecond), blocked[d.targets[0]].Detail, health)
}

// A refused login and a wrong control exchange say so in the health,
// without the password.
func TestIntegrationRefusedAndWrongExchange(t *testing.T) {
	d := devOpenStack(t, harness.Share)
	tr, err := ParseTransportURL(d.transportURL)
	if err != nil {
		t.Fatal(err)
	}
	const wrongPassword = "not-the-password-zq81"
	b := tr.Brokers[0]
	for _, c := range []struct {
		name, url, exchange, want string
	}{
		{"wrong password", fmt.Sprintf("rabbit://%s:%s@%s/%s", b.Username, wrongPassword, b.Addr(), tr.VHost), "", "(403)"},
		{"wrong exchange", d.transportURL, "not-nova", `control exchange "not-nova" in vhost "nova"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := New(Config{TransportURL: c.url, Exchange: c.exchange, Targets: func() []Target { return d.targets[:1] }, Interval: time.Second, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := make(chan sources.Health, 16)
			go func() {
				_ = src.Run(ctx, func(b sources.Batch) {
					select {
					case got <- b.Health:
					default:
					}
				})
			}()
			select {
			case h := <-got:
				if h.OK || !strings.Contains(h.Err, c.want) {
					t.Fatalf("health %+v, want an error with %q", h, c.want)
				}
				if strings.Contains(h.Err, wrongPassword) || strings.Contains(h.Err, b.Password) || strings.Contains(h.Err, "@") {
					t.Fatalf("credentials in %q", h.Err)
				}
				t.Logf("health error: %s", h.Err)
			case <-ctx.Done():
				t.Fatal("no health batch within 10s")
			}
		})
	}
}

// The least privilege the README documents is enough: configure and read
// on stacktop's own reply queues, write on the control exchange only.
func TestIntegrationLeastPrivilegeUser(t *testing.T) {
	d := devOpenStack(t, harness.Share)
	tr, err := ParseTransportURL(d.transportURL)
	if err != nil {
		t.Fatal(err)
	}
	user, password := "stacktop-rpcping-test", newID()
	add := exec.Command(d.rabbitmqctl, "add_user", user) // the password on stdin, not in argv
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("add_user: %v\n%s", err, out)
	}
	t.Cleanup(func() { d.run(t, d.rabbitmqctl, "delete_user", user) })
	d.run(t, d.rabbitmqctl, "set_permissions", "-p", tr.VHost, user, "^reply_", "^"+DefaultExchange+"$", "^reply_")

	b := tr.Brokers[0]
	lp := *d
	lp.transportURL = fmt.Sprintf("rabbit://%s:%s@%s/%s", user, password, b.Addr(), tr.VHost)
	p := lp.start(t, time.Second, 5*time.Second)
	got := lp.allAnswer(t, p, 20*time.Second, time.Time{})
	t.Logf("user %s with permissions configure ^reply_, write ^%s$, read ^reply_: %d services answered", user, DefaultExchange, len(got))
}
