package main

// The dashboard's pipeline on the real loopback cloud (scripts/dev-openstack
// with its two fake computes, scripts/dev-rabbitmq), in process, for the
// tests that record it (harness_test.go): the sources built as stacktop
// builds them (loadConfig and configuredSources: Nova, the RabbitMQ
// management API, the RPC ping and the heartbeat consumer with its canary)
// run through the pipeline into state.NewStore(state.DefaultConfig()), one
// heartbeat agent in process for every host Nova lists, and the verdicts it
// reached. The verdict on real faults is measured by the scenario matrix
// (scenarios/, scripts/scenarios), which runs stacktop's real binary.

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/heartbeat"
	"github.com/stacktop/stacktop/state"
)

// Poll intervals of the dashboard under test: short, so that a scenario
// takes about a minute, most of it the verdict's 30 s hold after recovery.
const (
	itNovaInterval   = 2 * time.Second
	itRabbitInterval = 2 * time.Second
	itCanaryInterval = time.Second
	itRPCInterval    = 3 * time.Second
	itRPCTimeout     = 2 * time.Second
	itAgentInterval  = 2 * time.Second // the agent's default
)

// Bounds the recording tests wait within.
const (
	hostVerdictMax = 45 * time.Second // compute killed: Nova's service_down_time (6 s) + a poll + a ping + heartbeats lost
	clearMax       = 2 * time.Minute  // restored to verdict cleared: the service back, then the 30 s hold
)

// verdictDashboard is stacktop's pipeline on the dev cloud, with the
// verdicts it reached and a heartbeat agent per host.
type verdictDashboard struct {
	p      *pipeline
	amqp   heartbeat.ConnConfig // for the agents
	ctx    context.Context
	mu     sync.Mutex
	latest *state.Snapshot
	log    []verdictChange // every change of the verdict, in order
	agents map[string]context.CancelFunc
	ran    sync.WaitGroup
}

// verdictChange is the verdict as it changed, at the wall clock.
type verdictChange struct {
	at time.Time
	v  state.Verdict
}

// startVerdictDashboard builds the sources from a config as stacktop does
// and runs them through the pipeline until the test ends.
// tap, when not nil, sees every batch before it is folded (a recording).
func startVerdictDashboard(t *testing.T, ost, mq harness.Env, novaInterval time.Duration, tap func(sources.Batch)) *verdictDashboard {
	t.Helper()
	amqpURL, err := url.Parse(mq.Get("STACKTOP_TEST_AMQP_URL"))
	if err != nil || amqpURL.User == nil {
		t.Fatalf("STACKTOP_TEST_AMQP_URL is not amqp://user:password@host:port/: %v", err)
	}
	amqpUser := amqpURL.User.Username()
	amqpPassword, _ := amqpURL.User.Password()
	amqpURL.User = nil
	vhost := mq.Get("STACKTOP_TEST_RABBITMQ_VHOST")
	env := map[string]string{
		"STACKTOP_RABBITMQ_URL":      mq.Get("STACKTOP_TEST_RABBITMQ_URL"),
		"STACKTOP_RABBITMQ_USER":     mq.Get("STACKTOP_TEST_RABBITMQ_MONITOR_USER"),
		"STACKTOP_RABBITMQ_PASSWORD": mq.Get("STACKTOP_TEST_RABBITMQ_MONITOR_PASSWORD"),
		"STACKTOP_TRANSPORT_URL":     ost.Get("STACKTOP_TEST_TRANSPORT_URL"),
		"STACKTOP_AMQP_URL":          amqpURL.String(),
		"STACKTOP_AMQP_USER":         amqpUser,
		"STACKTOP_AMQP_PASSWORD":     amqpPassword,
	}
	c, err := loadConfig("", false, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c.Nova.Interval = duration(novaInterval)
	c.Nova.Timeout = duration(novaInterval * 9 / 10)
	c.RabbitMQ.VHost = vhost
	c.RabbitMQ.Interval = duration(itRabbitInterval)
	c.RPC.Interval = duration(itRPCInterval)
	c.RPC.Timeout = duration(itRPCTimeout)
	c.Heartbeat.CanaryVHost = vhost
	c.Heartbeat.CanaryInterval = duration(itCanaryInterval)
	c.Heartbeat.CanaryTimeout = duration(itCanaryInterval)
	// clouds.yaml is found as the openstack CLI finds it.
	t.Setenv("OS_CLIENT_CONFIG_FILE", ost.Get("STACKTOP_TEST_CLOUDS_YAML"))
	srcs, _, err := configuredSources(c, ost.Get("STACKTOP_TEST_OS_CLOUD"))
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 4 {
		t.Fatalf("configuredSources built %d sources, want nova, rabbitmq, rpc-ping and heartbeat", len(srcs))
	}

	ctx, cancel := context.WithCancel(context.Background())
	d := &verdictDashboard{
		p:      newPipeline(state.NewStore(state.DefaultConfig()), srcs),
		amqp:   heartbeat.ConnConfig{URL: amqpURL.String(), User: amqpUser, Password: amqpPassword},
		ctx:    ctx,
		agents: map[string]context.CancelFunc{},
	}
	d.p.tap = tap
	ran := make(chan struct{})
	go func() { d.p.Run(ctx); close(ran) }()
	go d.watch(ctx)
	t.Cleanup(func() {
		d.mu.Lock()
		for _, stop := range d.agents {
			stop()
		}
		d.mu.Unlock()
		cancel()
		<-ran
		d.ran.Wait()
	})
	return d
}

// watch keeps the newest snapshot and logs every change of the verdict.
func (d *verdictDashboard) watch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-d.p.Snapshots():
			now := time.Now()
			d.mu.Lock()
			d.latest = s
			if n := len(d.log); n == 0 || d.log[n-1].v.Summary != s.Verdict.Summary || d.log[n-1].v.Cause != s.Verdict.Cause {
				d.log = append(d.log, verdictChange{at: now, v: s.Verdict})
			}
			d.mu.Unlock()
		}
	}
}

func (d *verdictDashboard) snapshot() *state.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest
}

// waitFor polls the newest snapshot until ok or limit; it returns when ok held.
func (d *verdictDashboard) waitFor(t *testing.T, what string, limit time.Duration, ok func(*state.Snapshot) bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if s := d.snapshot(); s != nil && ok(s) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s; now: %s", limit, what, d.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// describe is the newest snapshot's services, hosts, sources and verdict, for failures.
func (d *verdictDashboard) describe() string {
	s := d.snapshot()
	if s == nil {
		return "no snapshot yet"
	}
	var b strings.Builder
	now := time.Now()
	for _, sv := range s.Services {
		fmt.Fprintf(&b, "%s@%s %s/%s", sv.Key.Binary, sv.Key.Host, sv.State, sv.Status)
		if sv.RPC != nil {
			fmt.Fprintf(&b, " (rpc %s)", sv.RPC.Result)
		}
		b.WriteString("; ")
	}
	for _, h := range s.Hosts {
		fmt.Fprintf(&b, "host %s heartbeat %s ago; ", h.Name, h.Age(now).Round(100*time.Millisecond))
	}
	for _, h := range s.Sources {
		if h.LastErr != "" {
			fmt.Fprintf(&b, "%s failing (%d): %s; ", h.Name, h.Failures, h.LastErr)
		}
	}
	fmt.Fprintf(&b, "verdict %q", s.Verdict.Summary)
	return b.String()
}

// waitHosts waits for Nova's first listing and returns its hosts.
func (d *verdictDashboard) waitHosts(t *testing.T) []string {
	t.Helper()
	d.waitFor(t, "Nova's service list", time.Minute, func(s *state.Snapshot) bool { return len(s.Services) > 0 })
	var hosts []string
	for _, sv := range d.snapshot().Services {
		if len(hosts) == 0 || hosts[len(hosts)-1] != sv.Key.Host {
			hosts = append(hosts, sv.Key.Host)
		}
	}
	return hosts
}

// startAgent runs a heartbeat agent publishing as host, as stacktop agent
// does. Every agent here shares this machine's /proc, which holds the
// processes of all the fake hosts: they list none, rather than each
// claiming the others' processes.
func (d *verdictDashboard) startAgent(t *testing.T, host string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.agents[host] != nil {
		return
	}
	a, err := heartbeat.NewAgent(heartbeat.AgentConfig{Conn: d.amqp, Host: host, Interval: itAgentInterval,
		Version: "verdict-integration-test", Match: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(d.ctx)
	d.agents[host] = cancel
	d.ran.Add(1)
	go func() { defer d.ran.Done(); _ = a.Run(ctx) }()
}

// healthy: every service up and reporting, every host's heartbeat fresh,
// every source answering, no verdict.
func healthy(s *state.Snapshot, hosts []string) bool {
	if s.Verdict.Cause != state.CauseNone || len(s.Services) == 0 {
		return false
	}
	for _, sv := range s.Services {
		if sv.Cond != state.CondUp {
			return false
		}
	}
	now := s.At
	for _, name := range hosts {
		h, ok := s.Host(name)
		if !ok || h.Liveness(now) != state.LiveFresh {
			return false
		}
	}
	for _, h := range s.Sources {
		if h.Failures > 0 || h.Stale(now) {
			return false
		}
	}
	return true
}

// baseline waits until the dashboard sees a healthy cloud and no verdict.
func (d *verdictDashboard) baseline(t *testing.T, hosts []string) {
	t.Helper()
	start := time.Now()
	d.waitFor(t, "a healthy baseline: every service up, every heartbeat fresh, every source answering, no verdict",
		3*time.Minute, func(s *state.Snapshot) bool { return healthy(s, hosts) })
	t.Logf("baseline healthy after %s", time.Since(start).Round(100*time.Millisecond))
}

// scenario is one disruption: when it began and the verdicts since.
type scenario struct {
	d       *verdictDashboard
	from    int       // index in d.log of the first change after the disruption began
	at      time.Time // when the disrupting command was started
	cmdTook time.Duration
}

// mark starts a scenario now: the verdicts from here on are its own.
func (d *verdictDashboard) mark() *scenario {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &scenario{d: d, from: len(d.log), at: time.Now()}
}

// disrupt runs the disrupting command and starts the clock at its start.
func (d *verdictDashboard) disrupt(t *testing.T, cmd string, args ...string) *scenario {
	t.Helper()
	sc := d.mark()
	if err := runCmd(cmd, args...); err != nil {
		t.Fatal(err)
	}
	sc.cmdTook = time.Since(sc.at)
	t.Logf("%s %s at %s (took %s)", shortCmd(cmd), strings.Join(args, " "), sc.at.Format("15:04:05.0"), sc.cmdTook.Round(100*time.Millisecond))
	return sc
}

// await waits for the first verdict since the disruption that ok accepts.
func (sc *scenario) await(t *testing.T, what string, limit time.Duration, ok func(state.Verdict) bool) verdictChange {
	t.Helper()
	deadline := sc.at.Add(limit)
	for {
		sc.d.mu.Lock()
		for _, c := range sc.d.log[sc.from:] {
			if ok(c.v) {
				sc.d.mu.Unlock()
				return c
			}
		}
		sc.d.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s of the disruption; verdicts since: %s; now: %s", what, limit, sc.verdicts(), sc.d.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// took is how long after the disruption began the verdict was reached.
func (sc *scenario) took(c verdictChange) time.Duration {
	return c.at.Sub(sc.at).Round(100 * time.Millisecond)
}

// verdicts lists the verdicts reached since the disruption, with their times.
func (sc *scenario) verdicts() string {
	sc.d.mu.Lock()
	defer sc.d.mu.Unlock()
	var parts []string
	for _, c := range sc.d.log[sc.from:] {
		s := c.v.Summary
		if s == "" {
			s = "(none)"
		}
		parts = append(parts, fmt.Sprintf("+%s %s: %s", c.at.Sub(sc.at).Round(100*time.Millisecond), c.v.Cause, s))
	}
	return strings.Join(parts, " | ")
}

// never fails the test if a verdict of cause was reached since the disruption.
func (sc *scenario) never(t *testing.T, cause state.Cause) {
	t.Helper()
	sc.d.mu.Lock()
	defer sc.d.mu.Unlock()
	for _, c := range sc.d.log[sc.from:] {
		if c.v.Cause == cause {
			t.Errorf("a %s verdict %s after the disruption: %s", cause, c.at.Sub(sc.at).Round(100*time.Millisecond), c.v.Summary)
		}
	}
}

// restore runs the command that undoes a disruption and waits until every
// Nova service is up again; idempotent, so it serves t.Cleanup too.
func (d *verdictDashboard) restore(t *testing.T, cmd string, args ...string) {
	t.Helper()
	if err := runCmd(cmd, args...); err != nil {
		t.Errorf("restoring the dev cloud: %v", err)
		return
	}
	d.waitFor(t, "every service up again", 3*time.Minute, func(s *state.Snapshot) bool {
		for _, sv := range s.Services {
			if sv.Cond != state.CondUp {
				return false
			}
		}
		return len(s.Services) > 0
	})
}

// restoreAndClear restores, then measures until the verdict clears and logs the verdicts seen.
func (d *verdictDashboard) restoreAndClear(t *testing.T, sc *scenario, cmd string, args ...string) {
	t.Helper()
	start := time.Now()
	d.restore(t, cmd, args...)
	up := time.Now()
	cleared := d.waitFor(t, "the verdict to clear after recovery", clearMax, func(s *state.Snapshot) bool { return s.Verdict.Cause == state.CauseNone })
	t.Logf("FIGURE clear: %s %s → every service up after %s, verdict cleared after %s (%s after all up)",
		shortCmd(cmd), strings.Join(args, " "), up.Sub(start).Round(100*time.Millisecond),
		cleared.Sub(start).Round(100*time.Millisecond), cleared.Sub(up).Round(100*time.Millisecond))
	t.Logf("verdicts: %s", sc.verdicts())
}

func runCmd(cmd string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cmd, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", shortCmd(cmd), strings.Join(args, " "), err, out)
	}
	return nil
}

func shortCmd(cmd string) string {
	if i := strings.LastIndexByte(cmd, '/'); i >= 0 {
		return cmd[i+1:]
	}
	return cmd
}
