package scenarios

// The cloud side of the matrix: stacktop's real binary (go build) records
// the dev cloud (`stacktop record`, the four sources from a config file)
// while a real `stacktop agent` per Nova host publishes heartbeats; the
// runner folds the growing recording as it goes, to know when the cloud is
// healthy and when the verdict named the cause, and at the end the binary
// folds each recording again (`stacktop timeline --format json`) for the
// table.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
)

// The dashboard's settings besides Nova's interval (each scenario has its
// own): scaled to the dev cloud, whose Nova reports every 2 s and calls a
// service down after 6 s (the README's defaults are 10 s, 5 s, 15 s).
const (
	rabbitInterval = 2 * time.Second
	canaryInterval = 2 * time.Second // its timeout too
	rpcInterval    = 3 * time.Second
	rpcTimeout     = 2 * time.Second
	agentInterval  = 2 * time.Second // the agent's default
)

// cloud is the dev cloud under test and what runs against it.
type cloud struct {
	dir      string // recordings, configs, logs
	bin      string // the stacktop binary
	ost, mq  harness.Env
	ctl      string // scripts/rabbitmqctl
	script   string // scripts/dev-openstack
	downTime time.Duration
	env      []string // the recorder's and agents' environment: passwords, clouds.yaml
	amqpURL  string   // heartbeat vhost, no credentials
	amqpUser string
	unshare  bool // agents run in a PID namespace of their own (see startAgent)

	mu         sync.Mutex
	agents     map[string]*exec.Cmd
	dashboards map[time.Duration]*dashboard
	hosts      []string // Nova's hosts, as listed
	controller string   // the host of nova-conductor
	undo       func()   // restores the fault in place, if any
}

// inPlace notes how to restore the fault now in place (nil: none is).
func (c *cloud) inPlace(undo func()) {
	c.mu.Lock()
	c.undo = undo
	c.mu.Unlock()
}

// onSignal restores the fault in place and stops what runs when the test
// binary is interrupted (ctrl-c, go test's timeout), which skips t.Cleanup.
func (c *cloud) onSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		c.mu.Lock()
		undo := c.undo
		c.mu.Unlock()
		fmt.Fprintf(os.Stderr, "scenarios: %v: restoring the dev cloud and stopping the recorders and agents\n", sig)
		if undo != nil {
			undo()
		}
		c.stopAll()
		os.Exit(1)
	}()
}

func newCloud(t *testing.T, dir string) *cloud {
	t.Helper()
	ost := harness.Require(t, "openstack", "STACKTOP_TEST_KEYSTONE_URL")
	mq := harness.Require(t, "rabbitmq", "STACKTOP_TEST_AMQP_URL")
	c := &cloud{dir: dir, ost: ost, mq: mq, ctl: mq.Get("STACKTOP_TEST_RABBITMQCTL"), script: ost.Get("STACKTOP_TEST_DEV_OPENSTACK"),
		agents: map[string]*exec.Cmd{}, dashboards: map[time.Duration]*dashboard{}}
	if c.ctl == "" || c.script == "" {
		t.Fatal("the harness env files lack STACKTOP_TEST_RABBITMQCTL or STACKTOP_TEST_DEV_OPENSTACK")
	}
	down, err := strconv.Atoi(ost.Get("STACKTOP_TEST_NOVA_SERVICE_DOWN_TIME"))
	if err != nil || down <= 0 {
		t.Fatalf("STACKTOP_TEST_NOVA_SERVICE_DOWN_TIME %q", ost.Get("STACKTOP_TEST_NOVA_SERVICE_DOWN_TIME"))
	}
	c.downTime = time.Duration(down) * time.Second
	u, err := url.Parse(mq.Get("STACKTOP_TEST_AMQP_URL"))
	if err != nil || u.User == nil {
		t.Fatal("STACKTOP_TEST_AMQP_URL is not amqp://user:password@host:port/")
	}
	pw, _ := u.User.Password()
	c.amqpUser = u.User.Username()
	u.User = nil
	c.amqpURL = u.String()
	c.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"OS_CLIENT_CONFIG_FILE=" + ost.Get("STACKTOP_TEST_CLOUDS_YAML"),
		"STACKTOP_RABBITMQ_PASSWORD=" + mq.Get("STACKTOP_TEST_RABBITMQ_MONITOR_PASSWORD"),
		"STACKTOP_TRANSPORT_URL=" + ost.Get("STACKTOP_TEST_TRANSPORT_URL"),
		"STACKTOP_AMQP_PASSWORD=" + pw,
	}

	root, err := harness.Root()
	if err != nil {
		t.Fatal(err)
	}
	c.bin = filepath.Join(dir, "stacktop")
	build := exec.Command("go", "build", "-o", c.bin, "./cmd/stacktop")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/stacktop: %v\n%s", err, out)
	}
	// Every fake host's processes share this machine's /proc: an agent
	// would list all of them as its own. In a PID namespace of its own it
	// lists none, as the agents of the in-process tests do.
	c.unshare = exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "true").Run() == nil
	if !c.unshare {
		t.Log("unshare --pid is not allowed here: every agent lists all of this machine's nova processes")
	}
	t.Cleanup(c.stopAll)
	c.onSignal()
	return c
}

// config writes the dashboard's config file for a Nova poll interval.
func (c *cloud) config(t testing.TB, nova time.Duration) string {
	t.Helper()
	path := filepath.Join(c.dir, fmt.Sprintf("config-%s.yaml", nova))
	y := fmt.Sprintf(`nova:
  interval: %s
rabbitmq:
  url: %s
  user: %s
  vhost: %s
  interval: %s
rpc:
  interval: %s
  timeout: %s
heartbeat:
  url: %s
  user: %s
  canary_vhost: %s
  canary_interval: %s
  canary_timeout: %s
`, nova, c.mq.Get("STACKTOP_TEST_RABBITMQ_URL"), c.mq.Get("STACKTOP_TEST_RABBITMQ_MONITOR_USER"), c.mq.Get("STACKTOP_TEST_RABBITMQ_VHOST"), rabbitInterval,
		rpcInterval, rpcTimeout, c.amqpURL, c.amqpUser, c.mq.Get("STACKTOP_TEST_RABBITMQ_VHOST"), canaryInterval, canaryInterval)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs the binary with args, its output to a log file, in a process group of its own.
func (c *cloud) start(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); logf.Close() }()
	return cmd
}

// stop signals cmd's process group and waits (up to 15 s) for it to end.
func stop(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	for i := 0; i < 150; i++ {
		if syscall.Kill(cmd.Process.Pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// startAgent runs `stacktop agent` publishing as host, unless one runs.
func (c *cloud) startAgent(t testing.TB, host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agents[host] != nil {
		return
	}
	args := []string{c.bin, "agent", "--host", host, "--url", c.amqpURL, "--user", c.amqpUser, "--interval", agentInterval.String()}
	if c.unshare {
		args = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, args...)
	}
	c.agents[host] = c.start(t, "agent-"+host, args...)
}

// killAgent kills host's agent at once, as when the host dies.
func (c *cloud) killAgent(host string) {
	c.mu.Lock()
	cmd := c.agents[host]
	delete(c.agents, host)
	c.mu.Unlock()
	stop(cmd, syscall.SIGKILL)
}

func (c *cloud) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for iv, d := range c.dashboards {
		d.close()
		delete(c.dashboards, iv)
	}
	for h, a := range c.agents {
		stop(a, syscall.SIGTERM)
		delete(c.agents, h)
	}
}

// dashboard returns the recorder running at Nova poll interval nova,
// starting it (and, the first time, the agents of Nova's hosts); the error
// says it never saw Nova's service list.
func (c *cloud) dashboard(t testing.TB, nova time.Duration) (*dashboard, error) {
	t.Helper()
	c.mu.Lock()
	d := c.dashboards[nova]
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	file := filepath.Join(c.dir, fmt.Sprintf("nova-%s.jsonl", nova))
	d = &dashboard{file: file, nova: nova, done: make(chan struct{}), folded: make(chan struct{})}
	d.cmd = c.start(t, "record-"+nova.String(), c.bin, "record", file, "--os-cloud", c.ost.Get("STACKTOP_TEST_OS_CLOUD"), "--config", c.config(t, nova))
	go d.follow()
	c.mu.Lock()
	c.dashboards[nova] = d
	c.mu.Unlock()
	if err := d.waitFor("Nova's service list", 2*time.Minute, func(s *state.Snapshot) bool { return len(s.Services) > 0 }); err != nil {
		return d, err
	}
	if c.hosts == nil {
		for _, sv := range d.snapshot().Services {
			if len(c.hosts) == 0 || c.hosts[len(c.hosts)-1] != sv.Key.Host {
				c.hosts = append(c.hosts, sv.Key.Host)
			}
			if sv.Key.Binary == "nova-conductor" {
				c.controller = sv.Key.Host
			}
		}
		for _, h := range c.hosts {
			c.startAgent(t, h)
		}
		t.Logf("Nova's hosts %s (controller %s); an agent for each", strings.Join(c.hosts, ", "), c.controller)
	}
	return d, nil
}

// retire stops the recorders whose interval no later run needs.
func (c *cloud) retire(needed map[time.Duration]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for iv, d := range c.dashboards {
		if !needed[iv] {
			d.close()
		}
	}
}

// dashboard is one `stacktop record` and the runner's own fold of its recording.
type dashboard struct {
	file   string
	nova   time.Duration
	cmd    *exec.Cmd
	done   chan struct{} // closed: stop following
	folded chan struct{} // closed when the follower has read everything
	once   sync.Once

	mu     sync.Mutex
	latest *state.Snapshot
	err    error
}

func (d *dashboard) close() {
	d.once.Do(func() {
		stop(d.cmd, syscall.SIGINT)
		close(d.done)
		<-d.folded
	})
}

// follow folds the recording as the recorder writes it.
func (d *dashboard) follow() {
	defer close(d.folded)
	var f *os.File
	for f == nil {
		var err error
		if f, err = os.Open(d.file); err != nil {
			select {
			case <-d.done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	defer f.Close()
	rd, err := recording.NewReader(&tail{f: f, done: d.done})
	if err != nil {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
		return
	}
	store := state.NewStore(state.DefaultConfig())
	for {
		b, err := rd.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			continue // a line being written when the recorder stopped
		}
		s := store.Apply(b)
		d.mu.Lock()
		d.latest = s
		d.mu.Unlock()
	}
}

// tail reads a growing file: at its end it waits for more until done.
type tail struct {
	f    *os.File
	done <-chan struct{}
}

func (r *tail) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		select {
		case <-r.done:
			return 0, io.EOF
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (d *dashboard) snapshot() *state.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest
}

// waitFor polls the newest snapshot until ok; after limit it says what it saw.
func (d *dashboard) waitFor(what string, limit time.Duration, ok func(*state.Snapshot) bool) error {
	deadline := time.Now().Add(limit)
	for {
		if s := d.snapshot(); s != nil && ok(s) {
			return nil
		}
		if time.Now().After(deadline) {
			d.mu.Lock()
			err := d.err
			d.mu.Unlock()
			if err != nil {
				return fmt.Errorf("not within %s: %s (reading %s: %v)", limit, what, d.file, err)
			}
			return fmt.Errorf("not within %s: %s; now: %s", limit, what, describe(d.snapshot()))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// healthy: every Nova service up and answering its RPC pings, every host's
// heartbeat fresh, every source answering, no verdict.
func healthy(s *state.Snapshot, hosts []string) bool {
	if s.Verdict.Cause != state.CauseNone || len(s.Services) == 0 {
		return false
	}
	for _, sv := range s.Services {
		if sv.Cond != state.CondUp || sv.RPC != nil && sv.RPC.Result != sources.ProbeOK {
			return false
		}
	}
	for _, name := range hosts {
		h, ok := s.Host(name)
		if !ok || h.Liveness(s.At) != state.LiveFresh {
			return false
		}
	}
	for _, h := range s.Sources {
		if h.Failures > 0 || h.Stale(s.At) {
			return false
		}
	}
	return true
}

// describe is a snapshot's services, hosts, failing sources and verdict, for failures.
func describe(s *state.Snapshot) string {
	if s == nil {
		return "no snapshot yet"
	}
	var b strings.Builder
	for _, sv := range s.Services {
		fmt.Fprintf(&b, "%s@%s %s", sv.Key.Binary, sv.Key.Host, sv.State)
		if sv.RPC != nil {
			fmt.Fprintf(&b, " (rpc %s)", sv.RPC.Result)
		}
		b.WriteString("; ")
	}
	if len(s.Hosts) == 0 {
		b.WriteString("no heartbeat from any host (see the agent logs); ")
	}
	for _, h := range s.Hosts {
		fmt.Fprintf(&b, "host %s heartbeat %s ago; ", h.Name, h.Age(s.At).Round(100*time.Millisecond))
	}
	for _, h := range s.Sources {
		if h.LastErr != "" {
			fmt.Fprintf(&b, "%s failing (%d): %s; ", h.Name, h.Failures, h.LastErr)
		}
	}
	fmt.Fprintf(&b, "verdict %s %q", s.Verdict.Cause, s.Verdict.Summary)
	return b.String()
}

// run runs a command of the harness (rabbitmqctl, dev-openstack).
func run(cmd string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cmd, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(cmd), strings.Join(args, " "), err, out)
	}
	return nil
}

// fold runs `stacktop timeline FILE --format json` on a recording.
func (c *cloud) fold(file string) (Timeline, error) {
	var tl Timeline
	out, err := exec.Command(c.bin, "timeline", file, "--format", "json", "--group", "0").Output()
	if err != nil {
		return tl, fmt.Errorf("stacktop timeline %s: %w", file, err)
	}
	if err := json.Unmarshal(out, &tl); err != nil {
		return tl, fmt.Errorf("stacktop timeline %s: %w", file, err)
	}
	return tl, nil
}
