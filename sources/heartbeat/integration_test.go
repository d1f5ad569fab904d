package heartbeat

// Integration tests against the real RabbitMQ of scripts/dev-rabbitmq: an
// agent (a real subprocess, so that it can be killed) publishing through the
// broker to the dashboard's consumer, folded by state.Store and judged at
// the receiver's clock; malformed messages on the exchange; stop_app and
// start_app; a memory alarm. They skip when the broker is absent, unless
// STACKTOP_REQUIRE_INTEGRATION=1. Tests that stop or block the broker hold
// the integration lock exclusively (harness.Disrupt) and put it back in
// t.Cleanup; the others share it (harness.Share).
//
//	scripts/dev-rabbitmq up
//	go test -run Integration -v ./sources/heartbeat/

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/state"
)

// agentEnv makes the test binary run an agent instead of the tests (see TestMain).
const agentEnv = "STACKTOP_HEARTBEAT_TEST_AGENT"

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) == "1" {
		os.Exit(agentMain())
	}
	os.Exit(m.Run())
}

// agentMain is the agent subprocess: configuration from the environment
// (the password too, never argv), as stacktop agent takes it.
func agentMain() int {
	iv, _ := time.ParseDuration(os.Getenv("STACKTOP_AGENT_INTERVAL"))
	a, err := NewAgent(AgentConfig{
		Conn: ConnConfig{URL: os.Getenv("STACKTOP_AMQP_URL"), User: os.Getenv("STACKTOP_AMQP_USER"),
			Password: os.Getenv("STACKTOP_AMQP_PASSWORD")},
		Host: os.Getenv("STACKTOP_AGENT_HOST"), Interval: iv, Version: "test-agent",
		Logf: func(f string, args ...any) { fmt.Fprintf(os.Stderr, "agent: "+f+"\n", args...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// itBroker is the dev broker as the tests see it.
type itBroker struct {
	conn        ConnConfig // vhost "/"
	novaVHost   string
	rabbitmqctl string
}

// useBroker returns the dev broker or skips; disrupt takes the integration lock exclusively.
func useBroker(t *testing.T, disrupt bool) itBroker {
	t.Helper()
	// The lock first: a broker another package's test has stopped for a
	// moment must not make this one skip.
	if disrupt {
		harness.Disrupt(t)
	} else {
		harness.Share(t)
	}
	env := harness.Require(t, "rabbitmq", "STACKTOP_TEST_AMQP_URL")
	u, err := url.Parse(env.Get("STACKTOP_TEST_AMQP_URL"))
	if err != nil {
		t.Fatal(err)
	}
	b := itBroker{rabbitmqctl: env.Get("STACKTOP_TEST_RABBITMQCTL"), novaVHost: env.Get("STACKTOP_TEST_RABBITMQ_VHOST")}
	b.conn.User = u.User.Username()
	b.conn.Password, _ = u.User.Password()
	u.User = nil
	b.conn.URL = u.String()
	if b.novaVHost == "" {
		b.novaVHost = "nova"
	}
	return b
}

func (b itBroker) ctl(t *testing.T, args ...string) {
	t.Helper()
	if err := b.tryCtl(args...); err != nil {
		t.Fatal(err)
	}
}

func (b itBroker) tryCtl(args ...string) error {
	if b.rabbitmqctl == "" {
		return fmt.Errorf("no STACKTOP_TEST_RABBITMQCTL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.rabbitmqctl, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func uniqueHost(t *testing.T) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return "it-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + hex.EncodeToString(r[:])
}

// dashboard runs a heartbeat Source into a state.Store, as the pipeline does.
type dashboard struct {
	src   *Source
	store *state.Store
	mu    sync.Mutex
	snap  *state.Snapshot
	all   []sources.Batch
	done  chan struct{}
}

func startDashboard(t *testing.T, cfg SourceConfig) *dashboard {
	t.Helper()
	src, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &dashboard{src: src, store: state.NewStore(state.DefaultConfig()), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(d.done)
		_ = src.Run(ctx, func(b sources.Batch) {
			s := d.store.Apply(b)
			d.mu.Lock()
			d.snap = s
			d.all = append(d.all, b)
			d.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			t.Errorf("heartbeat source did not return within 5s of cancel")
		}
	})
	return d
}

func (d *dashboard) snapshot() *state.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.snap == nil {
		return &state.Snapshot{}
	}
	return d.snap
}

func (d *dashboard) batches() []sources.Batch {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sources.Batch(nil), d.all...)
}

func (d *dashboard) probes(since time.Time) []sources.Probe {
	var out []sources.Probe
	for _, b := range d.batches() {
		for _, p := range b.Probes {
			if !p.At.Before(since) {
				out = append(out, p)
			}
		}
	}
	return out
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentProc is a running agent subprocess.
type agentProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *strings.Builder
}

func startAgentProc(t *testing.T, b itBroker, host string, iv time.Duration) *agentProc {
	t.Helper()
	// STACKTOP_TEST_AGENT_BIN runs a built stacktop binary's agent instead of this test binary's.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if bin := os.Getenv("STACKTOP_TEST_AGENT_BIN"); bin != "" {
		cmd = exec.Command(bin, "agent")
	}
	cmd.Env = append(os.Environ(), agentEnv+"=1", "STACKTOP_AGENT_CONFIG=",
		"STACKTOP_AMQP_URL="+b.conn.URL, "STACKTOP_AMQP_USER="+b.conn.User, "STACKTOP_AMQP_PASSWORD="+b.conn.Password,
		"STACKTOP_AGENT_HOST="+host, "STACKTOP_AGENT_INTERVAL="+iv.String())
	out := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, out}
	cmd.Stderr = lockedWriter{&mu, out}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, done: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			mu.Lock()
			t.Logf("agent output:\n%s", out.String())
			mu.Unlock()
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// dummyService starts a copy of sleep named like an OpenStack service, so
// that the agent lists it; the name is unique to the test, not to be
// confused with the dev cloud's real nova processes.
func dummyService(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	src, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skipf("no /bin/sleep to copy: %v", err)
	}
	if err := os.WriteFile(path, src, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func hasProc(h state.Host, name string, pid int) bool {
	for _, p := range h.Processes {
		if p.Name == name && p.PID == pid {
			return true
		}
	}
	return false
}

// TestIntegrationAgentToDashboard: heartbeats cross the broker with the
// right fields; a restarted service is a restart; a killed agent's host goes
// late after 2.5 intervals and lost after 5, by the receiver's clock; a new
// agent makes it fresh again.
func TestIntegrationAgentToDashboard(t *testing.T) {
	b := useBroker(t, false)
	iv := time.Second // STACKTOP_TEST_AGENT_INTERVAL overrides, e.g. 2s to measure at the default interval
	if v, err := time.ParseDuration(os.Getenv("STACKTOP_TEST_AGENT_INTERVAL")); err == nil && v > 0 {
		iv = v
	}
	host := uniqueHost(t)
	svc := "nova-sttest" + hex.EncodeToString([]byte(host[len(host)-2:]))
	d := startDashboard(t, SourceConfig{Conn: b.conn, Flush: 200 * time.Millisecond, CanaryInterval: time.Second, CanaryTimeout: time.Second})
	dummy := dummyService(t, svc)
	waitFor(t, 10*time.Second, "the consumer to connect", func() bool {
		h, ok := d.snapshot().Source(sources.NameHeartbeat)
		return ok && h.LastErr == "" && !h.LastSuccess.IsZero()
	})
	agent := startAgentProc(t, b, host, iv)

	var h state.Host
	waitFor(t, 10*time.Second, "the first heartbeats with the dummy service", func() bool {
		var ok bool
		h, ok = d.snapshot().Host(host)
		return ok && h.Seq >= 2 && hasProc(h, svc, dummy.Process.Pid)
	})
	bootID, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if h.BootID != strings.TrimSpace(string(bootID)) || h.Interval != iv || h.AgentVersion == "" || h.Uptime <= 0 {
		t.Errorf("host %+v: want boot id %s, interval %s, an agent version", h, bootID, iv)
	}
	if h.Skew > time.Second || h.Skew < -time.Second {
		t.Errorf("skew %s on one machine", h.Skew)
	}
	for _, p := range h.Processes {
		if p.Name == svc && (time.Since(p.StartedAt) > time.Minute || time.Until(p.StartedAt) > time.Second) {
			t.Errorf("dummy service start time %s, want within the last minute", p.StartedAt)
		}
	}
	if c := d.snapshot().Canary; len(c.History) == 0 || c.History[len(c.History)-1].Result != sources.ProbeOK {
		waitFor(t, 5*time.Second, "a successful canary", func() bool {
			c := d.snapshot().Canary.History
			return len(c) > 0 && c[len(c)-1].Result == sources.ProbeOK
		})
	}

	// Restart the dummy service: a restart with evidence.
	_ = dummy.Process.Kill()
	_ = dummy.Wait()
	dummy2 := dummyService(t, svc)
	waitFor(t, 10*time.Second, "the restart of "+svc, func() bool {
		for _, r := range d.snapshot().Restarts {
			if r.Kind == state.RestartProcess && r.Where == host && r.What == svc {
				t.Logf("restart: %s %s: %s", r.Where, r.What, r.Evidence)
				return strings.Contains(r.Evidence, fmt.Sprint(dummy2.Process.Pid))
			}
		}
		return false
	})

	// Kill the agent: late after 2.5 intervals, lost after 5.
	if err := agent.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-agent.done
	var late, lost time.Time
	waitFor(t, 10*iv, "the host to be lost", func() bool {
		s := d.snapshot()
		h, _ = s.Host(host)
		now := time.Now()
		switch h.Liveness(now) {
		case state.LiveLate:
			if late.IsZero() {
				late = now
			}
		case state.LiveLost:
			lost = now
			return true
		}
		return false
	})
	last := h.LastSeen
	t.Logf("killed %s after the last heartbeat; late %s after the kill, lost %s after",
		killed.Sub(last).Round(time.Millisecond), late.Sub(killed).Round(time.Millisecond), lost.Sub(killed).Round(time.Millisecond))
	if late.IsZero() {
		t.Errorf("the host went from fresh to lost without being late")
	}
	const slack = 150 * time.Millisecond // this loop's poll period and the scheduler
	if a := late.Sub(last); a <= 5*iv/2 || a > 5*iv/2+slack {
		t.Errorf("late %s after the last heartbeat, want just over %s", a, 5*iv/2)
	}
	if a := lost.Sub(last); a <= 5*iv || a > 5*iv+slack {
		t.Errorf("lost %s after the last heartbeat, want just over %s", a, 5*iv)
	}
	if a := late.Sub(killed); a > 5*iv/2+slack {
		t.Errorf("late %s after the kill, want at most %s", a, 5*iv/2)
	}

	// A new agent: fresh again, its sequence restarting is no gap.
	gaps := h.Gaps
	startAgentProc(t, b, host, iv)
	restarted := time.Now()
	waitFor(t, 5*iv, "the host to be fresh again", func() bool {
		h, _ = d.snapshot().Host(host)
		return h.Liveness(time.Now()) == state.LiveFresh && h.LastSeen.After(restarted)
	})
	if h.Gaps != gaps {
		t.Errorf("gaps %d → %d after an agent restart", gaps, h.Gaps)
	}
	if d.src.Invalid() != 0 {
		t.Errorf("%d invalid messages from a real agent", d.src.Invalid())
	}
}

// TestIntegrationMalformed: garbage, oversized, wrong-version and
// misrouted messages on the exchange are counted and dropped; the consumer
// carries on and a good heartbeat behind them arrives.
func TestIntegrationMalformed(t *testing.T) {
	b := useBroker(t, false)
	d := startDashboard(t, SourceConfig{Conn: b.conn, Flush: 100 * time.Millisecond, CanaryInterval: -1})
	waitFor(t, 10*time.Second, "the consumer to connect", func() bool {
		h, ok := d.snapshot().Source(sources.NameHeartbeat)
		return ok && h.LastErr == "" && !h.LastSuccess.IsZero()
	})
	conn, err := b.conn.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	host := uniqueHost(t)
	good, _ := Encode(Message{Host: host, Seq: 1, SentAt: time.Now(), IntervalMS: 2000})
	other, _ := Encode(Message{Host: "someone-else", Seq: 1, SentAt: time.Now(), IntervalMS: 2000})
	bad := []struct{ key, body string }{
		{host, "not json at all \x1b[31m"},
		{host, `{"v":1,"host":"` + host + `","boot_id":"` + strings.Repeat("x", MaxMessageSize) + `"}`},
		{host, `{"v":99,"host":"` + host + `"}`},
		{host, string(other)}, // routing key is not the host
		{host, `{"v":1,"host":"` + host + `","procs":[{"name":"nova-compute","pid":-4}]}`},
		{host, ""},
	}
	for _, m := range bad {
		if err := ch.Publish(Exchange, m.key, false, false, amqp.Publishing{Body: []byte(m.body)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Publish(Exchange, host, false, false, amqp.Publishing{Body: good}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the good heartbeat behind the bad ones", func() bool {
		_, ok := d.snapshot().Host(host)
		return ok
	})
	if n := d.src.Invalid(); n != uint64(len(bad)) {
		t.Errorf("invalid = %d, want %d", n, len(bad))
	}
	waitFor(t, 2*time.Second, "the count in the health detail", func() bool {
		h, _ := d.snapshot().Source(sources.NameHeartbeat)
		return strings.Contains(h.Detail, fmt.Sprintf("%d invalid dropped", len(bad)))
	})
	h, _ := d.snapshot().Source(sources.NameHeartbeat)
	t.Logf("health detail: %s", h.Detail)
	if strings.ContainsRune(h.Detail, '\x1b') {
		t.Errorf("an escape sequence reached the health detail: %q", h.Detail)
	}
	// The exchange is the shared dev broker's: agents of other integration
	// tests may beat on it too (CI saw two more hosts). What must not be
	// there is a host named only by a dropped message.
	for _, h := range d.snapshot().Hosts {
		if h.Name == "someone-else" {
			t.Errorf("host %q from a misrouted message was kept", h.Name)
		}
	}
}

// TestIntegrationStopApp: stop_app closes every connection; the canary
// fails during the outage; after start_app the agent and the consumer
// reconnect by themselves, heartbeats resume and the canary succeeds.
func TestIntegrationStopApp(t *testing.T) {
	b := useBroker(t, true)
	t.Cleanup(func() {
		if err := b.tryCtl("start_app"); err != nil {
			t.Errorf("restore: %v", err)
		}
	})
	host := uniqueHost(t)
	d := startDashboard(t, SourceConfig{Conn: b.conn, CanaryVHost: b.novaVHost, Flush: 200 * time.Millisecond,
		CanaryInterval: 500 * time.Millisecond, CanaryTimeout: 500 * time.Millisecond})
	a := runAgent(t, b, host, 500*time.Millisecond)
	waitFor(t, 10*time.Second, "heartbeats and a good canary", func() bool {
		s := d.snapshot()
		_, ok := s.Host(host)
		c := s.Canary.History
		return ok && len(c) > 0 && c[len(c)-1].Result == sources.ProbeOK
	})

	b.ctl(t, "stop_app")
	stopped := time.Now()
	waitFor(t, 10*time.Second, "the consumer to report the outage", func() bool {
		h, _ := d.snapshot().Source(sources.NameHeartbeat)
		return h.LastErr != "" && h.LastAttempt.After(stopped)
	})
	waitFor(t, 10*time.Second, "a failed canary", func() bool {
		for _, p := range d.probes(stopped) {
			if p.Result != sources.ProbeOK {
				return true
			}
		}
		return false
	})
	hs, _ := d.snapshot().Source(sources.NameHeartbeat)
	t.Logf("during the outage: %s", hs.LastErr)
	time.Sleep(2 * time.Second) // a few failed reconnects
	for _, p := range d.probes(stopped.Add(500 * time.Millisecond)) {
		if p.Result == sources.ProbeOK {
			t.Errorf("canary ok during the outage: %+v", p)
		}
	}

	b.ctl(t, "start_app")
	started := time.Now()
	t.Logf("start_app took %s", started.Sub(stopped).Round(100*time.Millisecond))
	waitFor(t, 30*time.Second, "heartbeats after start_app", func() bool {
		h, ok := d.snapshot().Host(host)
		return ok && h.LastSeen.After(started)
	})
	waitFor(t, 30*time.Second, "a good canary after start_app", func() bool {
		for _, p := range d.probes(started) {
			if p.Result == sources.ProbeOK {
				return true
			}
		}
		return false
	})
	t.Logf("heartbeats and canary back %s after start_app returned", time.Since(started).Round(100*time.Millisecond))
	if st := a.Stats(); st.Connects < 2 {
		t.Errorf("agent connected %d times, want a reconnect", st.Connects)
	}
	hs, _ = d.snapshot().Source(sources.NameHeartbeat)
	if hs.LastErr != "" {
		t.Errorf("consumer still failing: %s", hs.LastErr)
	}
}

// runAgent runs an agent in this process until the test ends and checks it stops promptly.
func runAgent(t *testing.T, b itBroker, host string, iv time.Duration) *Agent {
	t.Helper()
	a, err := NewAgent(AgentConfig{Conn: b.conn, Host: host, Interval: iv, Version: "test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("agent did not stop within 5s of cancel")
		}
	})
	return a
}

// TestIntegrationMemoryAlarm: with the memory alarm on, the broker blocks
// publishers; the canary reports "blocked" within its timeout, the agent
// keeps building heartbeats (dropping them) and nothing hangs; after the
// alarm clears the canary and heartbeats recover.
func TestIntegrationMemoryAlarm(t *testing.T) {
	b := useBroker(t, true)
	t.Cleanup(func() {
		if err := b.tryCtl("set_vm_memory_high_watermark", "0.4"); err != nil {
			t.Errorf("restore: %v", err)
		}
	})
	host := uniqueHost(t)
	d := startDashboard(t, SourceConfig{Conn: b.conn, CanaryVHost: b.novaVHost, Flush: 200 * time.Millisecond,
		CanaryInterval: 500 * time.Millisecond, CanaryTimeout: 500 * time.Millisecond})
	a := runAgent(t, b, host, 200*time.Millisecond)
	waitFor(t, 10*time.Second, "heartbeats and a good canary", func() bool {
		s := d.snapshot()
		_, ok := s.Host(host)
		c := s.Canary.History
		return ok && len(c) > 0 && c[len(c)-1].Result == sources.ProbeOK
	})

	b.ctl(t, "set_vm_memory_high_watermark", "0.0001")
	alarmed := time.Now()
	var blocked sources.Probe
	waitFor(t, 15*time.Second, "a blocked canary", func() bool {
		for _, p := range d.probes(alarmed) {
			if p.Result == sources.ProbeBlocked {
				blocked = p
				return true
			}
		}
		return false
	})
	t.Logf("canary blocked %s after the alarm: %s (rtt %s)", time.Since(alarmed).Round(time.Millisecond), blocked.Detail, blocked.RTT)
	built := a.Stats().Built
	time.Sleep(time.Second)
	st := a.Stats()
	if st.Built < built+3 {
		t.Errorf("agent built %d heartbeats in 1s of alarm at 200ms: its loop is stuck", st.Built-built)
	}
	if st.Blocked == 0 || !st.BlockedNow {
		t.Errorf("agent stats %+v: want heartbeats dropped while blocked", st)
	}
	t.Logf("agent during the alarm: %+v", st)
	// Every canary during the alarm answered within its timeout (plus scheduling).
	for _, p := range d.probes(alarmed.Add(time.Second)) {
		if p.Result == sources.ProbeOK {
			t.Errorf("canary ok during the alarm: %+v", p)
		}
	}

	b.ctl(t, "set_vm_memory_high_watermark", "0.4")
	cleared := time.Now()
	waitFor(t, 20*time.Second, "heartbeats after the alarm", func() bool {
		h, ok := d.snapshot().Host(host)
		return ok && h.LastSeen.After(cleared)
	})
	waitFor(t, 20*time.Second, "a good canary after the alarm", func() bool {
		for _, p := range d.probes(cleared) {
			if p.Result == sources.ProbeOK {
				return true
			}
		}
		return false
	})
	t.Logf("recovered %s after the alarm cleared; agent %+v", time.Since(cleared).Round(time.Millisecond), a.Stats())
}

// TestIntegrationLeastPrivilege runs scripts/systemd/rabbitmq-users.sh for
// two throwaway users and checks that its permissions are enough (an
// agent's heartbeats reach a dashboard; the canary, in the nova vhost,
// succeeds) and no more (the agent may not declare a queue).
func TestIntegrationLeastPrivilege(t *testing.T) {
	b := useBroker(t, false)
	if b.rabbitmqctl == "" {
		harness.Absent(t, "no STACKTOP_TEST_RABBITMQCTL")
	}
	root, err := harness.Root()
	if err != nil {
		t.Fatal(err)
	}
	suffix := uniqueHost(t)[len(uniqueHost(t))-8:]
	agentUser, dashUser := "st-agent-"+suffix, "st-dash-"+suffix
	dir := t.TempDir()
	agentPW, dashPW := filepath.Join(dir, "agent.pw"), filepath.Join(dir, "dash.pw")
	_ = os.WriteFile(agentPW, []byte("agent-"+suffix), 0o600)
	_ = os.WriteFile(dashPW, []byte("dash-"+suffix), 0o600)
	t.Cleanup(func() {
		_ = b.tryCtl("delete_user", agentUser)
		_ = b.tryCtl("delete_user", dashUser)
	})
	cmd := exec.Command(filepath.Join(root, "scripts/systemd/rabbitmq-users.sh"), "/", b.novaVHost)
	cmd.Env = append(os.Environ(), "RABBITMQCTL="+b.rabbitmqctl, "AGENT_USER="+agentUser, "DASHBOARD_USER="+dashUser,
		"AGENT_PASSWORD_FILE="+agentPW, "DASHBOARD_PASSWORD_FILE="+dashPW)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmq-users.sh: %v\n%s", err, out)
	}
	t.Logf("rabbitmq-users.sh:\n%s", out)

	agentConn := ConnConfig{URL: b.conn.URL, User: agentUser, Password: "agent-" + suffix}
	dashConn := ConnConfig{URL: b.conn.URL, User: dashUser, Password: "dash-" + suffix}
	d := startDashboard(t, SourceConfig{Conn: dashConn, CanaryVHost: b.novaVHost, Flush: 200 * time.Millisecond,
		CanaryInterval: 500 * time.Millisecond, CanaryTimeout: 500 * time.Millisecond})
	host := uniqueHost(t)
	runAgent(t, itBroker{conn: agentConn}, host, 500*time.Millisecond)
	waitFor(t, 10*time.Second, "heartbeats and a good canary with least privilege", func() bool {
		s := d.snapshot()
		_, ok := s.Host(host)
		c := s.Canary.History
		return ok && len(c) > 0 && c[len(c)-1].Result == sources.ProbeOK
	})
	if h, _ := d.snapshot().Source(sources.NameHeartbeat); h.LastErr != "" {
		t.Errorf("consumer: %s", h.LastErr)
	}

	conn, err := agentConn.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.QueueDeclare("stacktop.dashboard.sneaky", false, true, true, false, nil)
	if ae, ok := err.(*amqp.Error); !ok || ae.Code != amqp.AccessRefused {
		t.Errorf("agent user declaring a queue: %v, want ACCESS_REFUSED", err)
	}
}
