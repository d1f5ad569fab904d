package demo

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

var testEpoch = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// at is the time offset into the test scenario's first loop.
func at(sec float64) time.Time {
	return testEpoch.Add(time.Duration(sec * float64(time.Second)))
}

// testScenario is a scenario with the default cloud and a fixed epoch, no listeners.
func testScenario(t *testing.T, cfg Config) (*Cloud, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: testEpoch}
	cfg.Epoch, cfg.Now = testEpoch, clk.Now
	cfg = cfg.withDefaults()
	return &Cloud{cfg: cfg, sc: newScenario(cfg), faults: map[API]Faults{}, counts: map[API]uint64{}, tokens: map[string]time.Time{}}, clk
}

// snapshot summarises the simulated cloud at one instant.
type snapshot struct {
	phase                       Phase
	down                        []string
	conductorReady, replyReady  int64
	unacked                     int64
	alarm                       bool
	sickNodeUptime              time.Duration
	sickNodeDown                bool
	canary                      sources.ProbeResult
	canaryRTT                   time.Duration
	heartbeatOK                 bool
	heartbeatHosts, computeRows int
}

func snap(t *testing.T, c *Cloud, now time.Time) snapshot {
	t.Helper()
	sc := c.sc
	s := snapshot{phase: sc.phaseAt(now)}
	for _, sv := range sc.services {
		if _, up := sc.serviceState(sv, now); !up {
			s.down = append(s.down, sv.host+"/"+sv.binary)
		}
		if sv.binary == "nova-compute" {
			s.computeRows++
		}
	}
	st := sc.broker(now)
	for _, q := range st.queues {
		if q.name == "conductor" {
			s.conductorReady = q.ready
		}
		if strings.HasPrefix(q.name, "reply_") {
			s.replyReady += q.ready
		}
		s.unacked += q.unacked
	}
	s.sickNodeDown = st.down
	if !st.down {
		g := sc.nodeGauges(st, sickNode)
		s.alarm, s.sickNodeUptime = g.alarm, g.uptime
	}
	hs := &heartbeatSource{c: c}
	b, err := hs.step(now)
	if err != nil {
		t.Fatalf("heartbeat step at %s: %v", now.Sub(testEpoch), err)
	}
	s.heartbeatOK = b.Health.OK
	hosts := map[string]bool{}
	for _, hb := range b.Heartbeats {
		hosts[hb.Host] = true
	}
	s.heartbeatHosts = len(hosts)
	if len(b.Probes) == 1 {
		s.canary, s.canaryRTT = b.Probes[0].Result, b.Probes[0].RTT
	}
	return s
}

func TestScenarioPhases(t *testing.T) {
	c, _ := testScenario(t, Config{})
	nHosts := len(c.sc.hosts)
	tests := []struct {
		name  string
		at    time.Time
		check func(t *testing.T, s snapshot)
	}{
		{"healthy at start", at(10), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseHealthy)
			wantNoneDown(t, s)
			wantCanary(t, s, sources.ProbeOK, 0, 10*time.Millisecond)
			if s.alarm || s.conductorReady > 5 || s.unacked > 5 {
				t.Errorf("broker not quiet: alarm %v, conductor ready %d, unacked %d", s.alarm, s.conductorReady, s.unacked)
			}
			if s.heartbeatHosts != nHosts {
				t.Errorf("heartbeats from %d hosts, want all %d", s.heartbeatHosts, nHosts)
			}
		}},
		{"degrading: queues back up, canary slows, services still up", at(58), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseDegrading)
			wantNoneDown(t, s)
			wantCanary(t, s, sources.ProbeOK, 5*time.Millisecond, time.Second)
			if s.conductorReady < 50 || s.unacked < 50 {
				t.Errorf("conductor ready %d, unacked %d: want backing up", s.conductorReady, s.unacked)
			}
		}},
		{"memory alarm blocks the canary and holds heartbeats", at(88), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseFlapping)
			if !s.alarm {
				t.Error("no memory alarm on rabbit@mq-1")
			}
			wantCanary(t, s, sources.ProbeBlocked, time.Second, canaryTimeout)
			if s.heartbeatHosts > nHosts/4 {
				t.Errorf("heartbeats from %d hosts while publishers are blocked, want few", s.heartbeatHosts)
			}
		}},
		{"flapping between alarms: many hosts down, timeouts, backlogs", at(105), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseFlapping)
			if len(s.down) < 5 {
				t.Errorf("%d services down, want many: %v", len(s.down), s.down)
			}
			wantCanary(t, s, sources.ProbeTimeout, canaryTimeout, canaryTimeout)
			if s.conductorReady < 500 || s.replyReady < 500 || s.unacked < 300 {
				t.Errorf("conductor ready %d, reply ready %d, unacked %d: want a backlog", s.conductorReady, s.replyReady, s.unacked)
			}
			if s.heartbeatHosts < nHosts*9/10 {
				t.Errorf("heartbeats from %d hosts, want nearly all %d (hosts are fine, the broker is not)", s.heartbeatHosts, nHosts)
			}
		}},
		{"broker node restarting", at(190), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseBrokerRestart)
			if !s.sickNodeDown {
				t.Error("rabbit@mq-1 running during its restart")
			}
			if s.heartbeatOK || s.canary != "" {
				t.Errorf("heartbeat source ok %v, canary %q during the restart: want a failed batch", s.heartbeatOK, s.canary)
			}
		}},
		{"recovered", at(240), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseHealthy)
			wantNoneDown(t, s)
			wantCanary(t, s, sources.ProbeOK, 0, 10*time.Millisecond)
			if s.sickNodeUptime <= 0 || s.sickNodeUptime > 60*time.Second {
				t.Errorf("rabbit@mq-1 uptime %s, want reset by the restart", s.sickNodeUptime)
			}
			if s.conductorReady > 5 || s.replyReady > 5 || s.unacked > 5 || s.alarm {
				t.Errorf("broker not drained: conductor %d, reply %d, unacked %d, alarm %v", s.conductorReady, s.replyReady, s.unacked, s.alarm)
			}
		}},
		{"second loop starts healthy, uptime keeps counting", at(270 + 30), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseHealthy)
			wantNoneDown(t, s)
			if want := 30*time.Second + (270-195)*time.Second; s.sickNodeUptime != want {
				t.Errorf("rabbit@mq-1 uptime %s, want %s", s.sickNodeUptime, want)
			}
		}},
		{"second loop replays the incident", at(270 + 105), func(t *testing.T, s snapshot) {
			wantPhase(t, s, PhaseFlapping)
			if n := downWithin(c, at(270+85), at(270+105)); n < 10 {
				t.Errorf("%d services went down in 20 s, want many", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, snap(t, c, tt.at)) })
	}
}

// downWithin is how many services Nova showed down at some 2 s poll in [from, to].
func downWithin(c *Cloud, from, to time.Time) int {
	n := 0
	for _, s := range c.sc.services {
		for now := from; !now.After(to); now = now.Add(2 * time.Second) {
			if _, up := c.sc.serviceState(s, now); !up {
				n++
				break
			}
		}
	}
	return n
}

// TestFlappingReachesTheFlapDetector polls the scenario as `stacktop
// --demo` polls Nova (every 2 s) and runs state's flap detection on what it
// sees: during each loop's incident many services flap at once, as in the
// 2015 incident; before it none does, and after recovery the flags clear
// within one flap window. (Issue 10: the demo's flapping phase once read
// "flapping 0 on 0 hosts".)
func TestFlappingReachesTheFlapDetector(t *testing.T) {
	c, _ := testScenario(t, Config{})
	cfg := state.DefaultConfig()
	tl := c.sc.tl
	window := time.Duration(cfg.FlapWindow) * 2 * time.Second
	obs := map[*service][]bool{}
	flapping := map[*service]bool{}
	peak := map[int64]int{} // loop → most services flapping at once
	for off := time.Duration(0); off < 2*tl.Loop; off += 2 * time.Second {
		now := testEpoch.Add(off)
		n := 0
		for _, s := range c.sc.services {
			_, up := c.sc.serviceState(s, now)
			o := append(obs[s], up)
			if len(o) > cfg.FlapWindow {
				o = o[len(o)-cfg.FlapWindow:]
			}
			obs[s] = o
			flapping[s] = state.NextFlapping(flapping[s], state.FlapPercent(o, cfg.FlapWindow), cfg.FlapLow, cfg.FlapHigh)
			if flapping[s] {
				n++
			}
		}
		loop, in := int64(off/tl.Loop), off%tl.Loop
		peak[loop] = max(peak[loop], n)
		if n > 0 && (in < tl.Flap || in > tl.Healthy+window) {
			t.Errorf("t+%v (%s): %d services flapping, want none outside the incident and its flap window", off, c.Phase(now), n)
		}
	}
	for loop := range int64(2) {
		if peak[loop] < 15 {
			t.Errorf("loop %d: at most %d services flapping at once, want many (the 2015 incident)", loop, peak[loop])
		}
	}
}

func wantPhase(t *testing.T, s snapshot, p Phase) {
	t.Helper()
	if s.phase != p {
		t.Errorf("phase %q, want %q", s.phase, p)
	}
}

func wantNoneDown(t *testing.T, s snapshot) {
	t.Helper()
	if len(s.down) > 0 {
		t.Errorf("services down: %v", s.down)
	}
}

func wantCanary(t *testing.T, s snapshot, r sources.ProbeResult, lo, hi time.Duration) {
	t.Helper()
	if s.canary != r || s.canaryRTT < lo || s.canaryRTT > hi {
		t.Errorf("canary %s in %s, want %s in [%s, %s]", s.canary, s.canaryRTT, r, lo, hi)
	}
}

// TestFlappingNotInLockstep checks that services go down and come back at
// different times, some of them several times.
func TestFlappingNotInLockstep(t *testing.T) {
	c, _ := testScenario(t, Config{})
	firstDown := map[time.Duration]int{}
	flappers, downers := 0, 0
	for _, s := range c.sc.services {
		prevUp, transitions := true, 0
		first := time.Duration(-1)
		for sec := 0; sec < 270; sec++ {
			_, up := c.sc.serviceState(s, at(float64(sec)))
			if up != prevUp {
				transitions++
				if !up && first < 0 {
					first = time.Duration(sec) * time.Second
				}
			}
			prevUp = up
		}
		if !prevUp {
			t.Errorf("%s/%s still down at the end of the loop", s.host, s.binary)
		}
		if first >= 0 {
			downers++
			firstDown[first]++
		}
		if transitions >= 4 {
			flappers++
		}
	}
	if downers < len(c.sc.services)/2 {
		t.Errorf("%d of %d services ever went down, want most", downers, len(c.sc.services))
	}
	if flappers < 5 {
		t.Errorf("%d services went down more than once, want several", flappers)
	}
	if len(firstDown) < downers/3 {
		t.Errorf("services first went down at only %d distinct times: lockstep", len(firstDown))
	}
}

// TestStateFollowsUpdatedAt checks Nova's rule: down exactly when the last
// report is older than service_down_time, and updated_at never in the future.
func TestStateFollowsUpdatedAt(t *testing.T) {
	c, _ := testScenario(t, Config{})
	for sec := 0.0; sec < 300; sec += 7.3 {
		now := at(sec)
		for _, s := range c.sc.services {
			u, up := c.sc.serviceState(s, now)
			if u.After(now) {
				t.Fatalf("%s at %.1fs: updated_at %s in the future", s.host, sec, u.Sub(now))
			}
			if age := now.Sub(u); up != (age <= c.cfg.ServiceDownTime) {
				t.Fatalf("%s at %.1fs: up %v with a %s old report", s.host, sec, up, age)
			}
			if c.sc.phaseAt(now) == PhaseHealthy && now.Sub(u) > c.cfg.ReportInterval+time.Second {
				t.Fatalf("%s at %.1fs: report %s old while healthy", s.host, sec, now.Sub(u))
			}
		}
	}
}

// TestRestartsChangePIDs checks that operators' restarts show in the
// heartbeats' process lists, repeatedly for some computes.
func TestRestartsChangePIDs(t *testing.T) {
	c, _ := testScenario(t, Config{})
	pids := map[string]map[int]bool{}
	hs := &heartbeatSource{c: c}
	for sec := 0; sec < 270; sec++ {
		b, err := hs.step(at(float64(sec)))
		if err != nil {
			t.Fatal(err)
		}
		for _, hb := range b.Heartbeats {
			for _, p := range hb.Processes {
				k := hb.Host + "/" + p.Name
				if pids[k] == nil {
					pids[k] = map[int]bool{}
				}
				pids[k][p.PID] = true
			}
		}
	}
	restarted, repeated := 0, 0
	for k, set := range pids {
		if strings.HasSuffix(k, "/nova-compute") && len(set) > 1 {
			restarted++
		}
		if strings.HasSuffix(k, "/nova-compute") && len(set) >= 4 {
			repeated++
		}
	}
	if restarted < 20 || repeated < 3 {
		t.Errorf("%d computes restarted, %d of them three times: want most, and some repeatedly", restarted, repeated)
	}
	for _, k := range []string{"ctl-1/nova-conductor", "net-1/nova-network", "mq-1/rabbitmq-server"} {
		if len(pids[k]) < 2 {
			t.Errorf("%s never restarted: pids %v", k, pids[k])
		}
	}
	if len(pids["mq-2/rabbitmq-server"]) != 1 || len(pids["ctl-1/nova-api"]) != 1 {
		t.Errorf("untouched processes restarted: %v %v", pids["mq-2/rabbitmq-server"], pids["ctl-1/nova-api"])
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := testScenario(t, Config{})
	b, _ := testScenario(t, Config{})
	other, _ := testScenario(t, Config{Seed: 7})
	now := at(123.4)
	sa, sb, so := snap(t, a, now), snap(t, b, now), snap(t, other, now)
	if strings.Join(sa.down, ",") != strings.Join(sb.down, ",") || sa.conductorReady != sb.conductorReady || sa.canaryRTT != sb.canaryRTT {
		t.Errorf("same seed, different clouds:\n%+v\n%+v", sa, sb)
	}
	if strings.Join(sa.down, ",") == strings.Join(so.down, ",") {
		t.Errorf("different seeds, same services down: %v", sa.down)
	}
}

func TestLoopScales(t *testing.T) {
	c, _ := testScenario(t, Config{Loop: 90 * time.Second, Computes: 3})
	if got := c.Timeline().BrokerDown; got < 61*time.Second || got > 62*time.Second {
		t.Errorf("BrokerDown at %s in a 90 s loop, want about 61.7 s", got)
	}
	if p := c.Phase(at(62)); p != PhaseBrokerRestart {
		t.Errorf("phase at 62 s of a 90 s loop %q, want %q", p, PhaseBrokerRestart)
	}
	if n := len(c.sc.services); n != 3+5 {
		t.Errorf("%d services with 3 computes, want 8", n)
	}
}

func TestHeartbeatSourceRun(t *testing.T) {
	c, clk := testScenario(t, Config{Computes: 4, HeartbeatInterval: 5 * time.Millisecond})
	clk.Set(at(20))
	src := c.HeartbeatSource()
	if src.Name() != sources.NameHeartbeat {
		t.Errorf("Name %q", src.Name())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var batches []sources.Batch
	err := src.Run(ctx, func(b sources.Batch) {
		batches = append(batches, b)
		clk.Set(clk.Now().Add(5 * time.Millisecond))
		if len(batches) == 3 {
			cancel()
		}
	})
	if err != context.Canceled {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	for i, b := range batches {
		if b.Source != sources.NameHeartbeat || !b.Health.OK || b.Health.Interval != 5*time.Millisecond || b.At.IsZero() {
			t.Errorf("batch %d: source %q, health %+v", i, b.Source, b.Health)
		}
		if len(b.Probes) != 1 || b.Probes[0].Kind != sources.ProbeCanary {
			t.Errorf("batch %d: probes %+v, want one canary", i, b.Probes)
		}
	}
	if len(batches[0].Heartbeats) != len(c.sc.hosts) {
		t.Fatalf("first batch: %d heartbeats, want one per host (%d)", len(batches[0].Heartbeats), len(c.sc.hosts))
	}
	hb := batches[0].Heartbeats[0]
	if hb.Host == "" || hb.BootID == "" || hb.Uptime <= 0 || hb.Interval != 5*time.Millisecond || hb.AgentVersion == "" || len(hb.Processes) == 0 || !hb.ReceivedAt.Equal(at(20)) {
		t.Errorf("decoded heartbeat incomplete: %+v", hb)
	}
}
