package demo

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"time"
)

// Timeline marks the phases of one loop of the scenario as offsets from the
// loop's start. The defaults are for a 270 s loop; other loop lengths scale them.
type Timeline struct {
	Degrade    time.Duration      // 45 s: the broker degrades: canary RTT climbs, conductor and reply queues back up
	Flap       time.Duration      // 60 s: Nova services start missing reports and flap, host by host
	Alarms     [][2]time.Duration // rabbit@mq-1 memory alarm: 80–94 s, 116–130 s, 158–182 s
	Restart1   time.Duration      // 95 s: operators restart nova-compute on most computes (over 13 s), nova-network too
	Conductor  time.Duration      // 122 s: nova-conductor restarted on ctl-1 and ctl-2
	Restart2   time.Duration      // 140 s: the flappiest computes and nova-network restarted again
	BrokerDown time.Duration      // 185 s: rabbit@mq-1 stopped for a restart; its queues are lost
	BrokerUp   time.Duration      // 195 s: rabbit@mq-1 back with a fresh uptime; queues empty, consumers return
	Restart3   time.Duration      // 198 s: services restarted yet again; this time they stay up
	Healthy    time.Duration      // 215 s: everything up and quiet until the loop ends
	Loop       time.Duration      // 270 s: the loop starts over, healthy
}

func newTimeline(loop time.Duration) Timeline {
	k := float64(loop) / float64(DefaultLoop)
	at := func(sec float64) time.Duration { return time.Duration(sec * k * float64(time.Second)) }
	return Timeline{
		Degrade: at(45), Flap: at(60),
		Alarms:   [][2]time.Duration{{at(80), at(94)}, {at(116), at(130)}, {at(158), at(182)}},
		Restart1: at(95), Conductor: at(122), Restart2: at(140),
		BrokerDown: at(185), BrokerUp: at(195), Restart3: at(198), Healthy: at(215),
		Loop: loop,
	}
}

// Phase names where in the incident the scenario is.
type Phase string

// Phases of the scenario, in order.
const (
	PhaseHealthy       Phase = "healthy"        // all services up, broker quiet
	PhaseDegrading     Phase = "degrading"      // broker slowing, queues backing up, services still up
	PhaseFlapping      Phase = "flapping"       // services flap, memory alarms, operators restart services
	PhaseBrokerRestart Phase = "broker-restart" // rabbit@mq-1 is being restarted
	PhaseRecovering    Phase = "recovering"     // broker back, services reconnect and are restarted once more
)

func (tl Timeline) phase(s time.Duration) Phase {
	switch {
	case s < tl.Degrade:
		return PhaseHealthy
	case s < tl.Flap:
		return PhaseDegrading
	case s < tl.BrokerDown:
		return PhaseFlapping
	case s < tl.BrokerUp:
		return PhaseBrokerRestart
	case s < tl.Healthy:
		return PhaseRecovering
	}
	return PhaseHealthy
}

// Broker names and the index of the node that gets sick.
var brokerNodes = []string{"rabbit@mq-1", "rabbit@mq-2", "rabbit@mq-3"}

const sickNode = 0

// Fixed, unscaled model constants.
const (
	startDelay    = 2 * time.Second // a restarted service's first report
	canaryTimeout = 5 * time.Second // a canary probe gives up after this
	agentVersion  = "stacktop-agent/0.1.0 (demo)"
)

type host struct {
	name    string
	key     uint64
	bootAge time.Duration // uptime at the epoch
	skew    time.Duration // the host clock's offset
	procs   []*proc
}

// proc is an OpenStack (or broker) process on a host.
type proc struct {
	name      string
	host      *host
	key       uint64
	restarts  []time.Duration // offsets into the loop, sorted
	baseAge   time.Duration   // age at the epoch
	svc       *service        // the Nova service it runs, if any
	topic     string          // oslo.messaging topic of its server, "" if it is not an RPC server
	rpc       bool            // makes RPC calls, so has a reply queue
	node      int             // broker node its queues live on
	reconnect time.Duration   // after BrokerUp, when it is back
}

// service is one row of os-services.
type service struct {
	id             int
	uuid           string
	binary, host   string
	zone           string
	key            uint64
	sus            float64       // how easily its RPC gets stuck, 0..1
	seg, segOff    time.Duration // flapping cycles: their length and the first one's offset
	stuck          time.Duration // the part of a cycle its connection may be stuck
	phase          time.Duration // report tick offset
	disabledReason string
	cell2          bool // in the cell that Faults.DownCell takes away
	proc           *proc
}

type scenario struct {
	cfg        Config
	tl         Timeline
	hosts      []*host
	services   []*service
	procs      []*proc
	brokerProc *proc    // rabbitmq-server on the sick node
	extraNames []string // names of Config.ExtraQueues
}

func newScenario(cfg Config) *scenario {
	sc := &scenario{cfg: cfg, tl: newTimeline(cfg.Loop)}
	tl := sc.tl
	addHost := func(name string) *host {
		h := &host{name: name, key: sc.key(name)}
		h.bootAge = 20*24*time.Hour + time.Duration(unit(mix(h.key^1))*float64(90*24*time.Hour))
		h.skew = time.Duration((unit(mix(h.key^2)) - 0.5) * float64(80*time.Millisecond))
		sc.hosts = append(sc.hosts, h)
		return h
	}
	addProc := func(h *host, name, topic string, rpc bool) *proc {
		p := &proc{name: name, host: h, key: sc.key(h.name + "/" + name), topic: topic, rpc: rpc}
		p.baseAge = time.Duration(unit(mix(p.key^3)) * float64(h.bootAge-time.Hour))
		p.node = int(mix(p.key^4) % uint64(len(brokerNodes)))
		if topic == "conductor" || topic == "scheduler" || topic == "network" {
			p.node = sickNode // the controllers all talk to mq-1, like labcontrol1001
		}
		p.reconnect = time.Second + time.Duration(unit(mix(p.key^5))*float64(5*time.Second))
		h.procs = append(h.procs, p)
		sc.procs = append(sc.procs, p)
		return p
	}
	addService := func(p *proc, zone string, sus float64) *service {
		s := &service{
			id: len(sc.services) + 1, binary: p.name, host: p.host.name, zone: zone,
			key: p.key, sus: sus, proc: p,
		}
		s.uuid = uuidOf(mix(s.key^6), mix(s.key^7))
		// A stuck cycle outlasts service_down_time by 1–5 s (Nova shows the
		// service down for a poll or two), then a few reports get through.
		s.stuck = cfg.ServiceDownTime + time.Second + time.Duration(unit(mix(s.key^8))*float64(4*time.Second))
		s.seg = s.stuck + 2500*time.Millisecond + time.Duration(unit(mix(s.key^24))*float64(4*time.Second))
		s.segOff = time.Duration(unit(mix(s.key^9)) * float64(s.seg))
		s.phase = time.Duration(unit(mix(s.key^10)) * float64(cfg.ReportInterval))
		p.svc = s
		sc.services = append(sc.services, s)
		return s
	}
	at := func(base, spread time.Duration, key uint64) time.Duration {
		return base + time.Duration(unit(mix(key))*float64(spread))
	}

	// Controllers and the network node.
	for i, name := range []string{"ctl-1", "ctl-2"} {
		h := addHost(name)
		sched := addProc(h, "nova-scheduler", "scheduler", true)
		cond := addProc(h, "nova-conductor", "conductor", true)
		addProc(h, "nova-api", "", true)
		addService(sched, "internal", 0.45)
		addService(cond, "internal", 0.55)
		off := time.Duration(i) * 2 * time.Second
		cond.restarts = []time.Duration{tl.Conductor + off, tl.Restart3 + time.Second + off}
		sched.restarts = []time.Duration{tl.Restart3 + 2*time.Second + off}
	}
	net := addProc(addHost("net-1"), "nova-network", "network", true)
	addService(net, "internal", 1) // the service the 2015 incident hurt most
	net.restarts = []time.Duration{tl.Restart1 + 11*time.Second, tl.Restart2 + 6*time.Second, tl.Restart3 + 3*time.Second}

	// Computes.
	width := max(2, len(fmt.Sprint(cfg.Computes)))
	var computes []*service
	for i := 1; i <= cfg.Computes; i++ {
		h := addHost(fmt.Sprintf("compute-%0*d", width, i))
		p := addProc(h, "nova-compute", "compute", true)
		s := addService(p, "nova", 0.25+0.75*unit(mix(p.key^11)))
		s.cell2 = i > cfg.Computes-cfg.Computes/4
		if i == 7 {
			s.disabledReason = "maintenance: disk replacement"
		}
		computes = append(computes, s)
	}
	bySus := append([]*service(nil), computes...)
	sort.SliceStable(bySus, func(a, b int) bool { return bySus[a].sus > bySus[b].sus })
	for rank, s := range bySus {
		frac := float64(rank) / float64(len(bySus))
		var r []time.Duration
		if frac < 0.7 {
			r = append(r, at(tl.Restart1, 13*time.Second, s.key^12))
		}
		if frac < 0.3 {
			r = append(r, at(tl.Restart2, 8*time.Second, s.key^13))
		}
		if frac < 0.2 {
			r = append(r, at(tl.Restart3, 6*time.Second, s.key^14))
		}
		s.proc.restarts = r
	}

	// Broker hosts: the agent sees rabbitmq-server (beam.smp).
	for i, node := range brokerNodes {
		h := addHost(node[len("rabbit@"):])
		p := addProc(h, "rabbitmq-server", "", false)
		p.node = i
		if i == sickNode {
			p.restarts = []time.Duration{tl.BrokerUp - 4*time.Second}
			sc.brokerProc = p
		}
	}
	topics := []string{"compute", "conductor", "scheduler", "cinder-volume", "neutron"}
	for i := 0; i < cfg.ExtraQueues; i++ {
		k := mix2(cfg.Seed^0xe47a, int64(i))
		if i%3 == 0 {
			sc.extraNames = append(sc.extraNames, "reply_"+hex32(k, mix(k)))
		} else {
			sc.extraNames = append(sc.extraNames, topics[i%len(topics)]+"_fanout_"+hex32(k, mix(k)))
		}
	}
	return sc
}

// key hashes a name under the scenario's seed.
func (sc *scenario) key(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return mix(h.Sum64() ^ sc.cfg.Seed*0x9e3779b97f4a7c15)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// mix2 hashes a key with an integer, e.g. a tick or segment index.
func mix2(k uint64, i int64) uint64 { return mix(k ^ mix(uint64(i)*0xff51afd7ed558ccd)) }

// unit maps a hash to [0,1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

func uuidOf(a, b uint64) string {
	a = a&^0xf000 | 0x4000               // version 4
	b = b&^(0xc000<<48) | (0x8000 << 48) // variant 10
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// hex32 is 32 lowercase hex digits, like oslo.messaging's uuid4().hex.
func hex32(a, b uint64) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], a)
	binary.BigEndian.PutUint64(raw[8:], b)
	return hex.EncodeToString(raw[:])
}

func floorDiv(a, b time.Duration) int64 {
	q := int64(a / b)
	if a%b < 0 {
		q--
	}
	return q
}

// split returns t's loop number and offset into that loop; ok is false before the epoch.
func (sc *scenario) split(t time.Time) (n int64, s time.Duration, ok bool) {
	d := t.Sub(sc.cfg.Epoch)
	if d < 0 {
		return 0, 0, false
	}
	n = int64(d / sc.tl.Loop)
	return n, d - time.Duration(n)*sc.tl.Loop, true
}

// offset is t's offset into its loop; before the epoch it is -1.
func (sc *scenario) offset(t time.Time) time.Duration {
	if _, s, ok := sc.split(t); ok {
		return s
	}
	return -1
}

func (sc *scenario) phaseAt(t time.Time) Phase {
	s := sc.offset(t)
	if s < 0 {
		return PhaseHealthy
	}
	return sc.tl.phase(s)
}

// lastRestart is p's latest restart at or before t, and how many restarts
// there have been since the epoch.
func (sc *scenario) lastRestart(p *proc, t time.Time) (at time.Time, gen int64, ok bool) {
	n, s, ok := sc.split(t)
	if !ok || len(p.restarts) == 0 {
		return time.Time{}, 0, false
	}
	k := sort.Search(len(p.restarts), func(i int) bool { return p.restarts[i] > s })
	loopStart := sc.cfg.Epoch.Add(time.Duration(n) * sc.tl.Loop)
	per := int64(len(p.restarts))
	if k > 0 {
		return loopStart.Add(p.restarts[k-1]), n*per + int64(k), true
	}
	if n > 0 {
		return loopStart.Add(-sc.tl.Loop + p.restarts[per-1]), n * per, true
	}
	return time.Time{}, 0, false
}

// restartTime is when generation gen (≥ 1) of p started.
func (sc *scenario) restartTime(p *proc, gen int64) time.Time {
	per := int64(len(p.restarts))
	n, i := (gen-1)/per, (gen-1)%per
	return sc.cfg.Epoch.Add(time.Duration(n)*sc.tl.Loop + p.restarts[i])
}

// started is when the instance of p running at t started, and its generation.
func (sc *scenario) started(p *proc, t time.Time) (time.Time, int64) {
	if at, gen, ok := sc.lastRestart(p, t); ok {
		return at, gen
	}
	return sc.cfg.Epoch.Add(-p.baseAge), 0
}

// pid is the process id of generation gen of p.
func pid(p *proc, gen int64) int { return 1000 + int(mix2(p.key^15, gen)%64000) }

// alarm reports whether rabbit@mq-1's memory alarm is on at offset s, and
// since when.
func (tl Timeline) alarm(s time.Duration) (bool, time.Duration) {
	for _, w := range tl.Alarms {
		if s >= w[0] && s < w[1] {
			return true, w[0]
		}
	}
	return false, 0
}

func (tl Timeline) brokerDown(s time.Duration) bool { return s >= tl.BrokerDown && s < tl.BrokerUp }

// brokerSick is how sick the broker is at offset s, 0 (healthy) to 1.
func (tl Timeline) brokerSick(s time.Duration) float64 {
	if s < 0 || s < tl.Degrade || s >= tl.BrokerDown {
		return 0
	}
	first := tl.Alarms[0][0]
	if s < first {
		x := float64(s-tl.Degrade) / float64(first-tl.Degrade)
		return 0.9 * math.Pow(x, 1.5)
	}
	if on, _ := tl.alarm(s); on {
		return 1
	}
	return 0.85
}

// serviceSick is how likely a Nova service's RPC is stuck at offset s, 0 to 1.
func (tl Timeline) serviceSick(s time.Duration) float64 {
	if s < 0 || s < tl.Flap || s >= tl.BrokerDown {
		return 0
	}
	ramp := tl.Alarms[0][0]
	if s < ramp {
		return 0.9 * float64(s-tl.Flap) / float64(ramp-tl.Flap)
	}
	return tl.brokerSick(s)
}

// grace is how long a restarted service works before it gets stuck again.
func grace(s *service, gen int64) time.Duration {
	return 10*time.Second + time.Duration(unit(mix2(s.key^16, gen))*float64(25*time.Second))
}

// reportOK reports whether s's report at tick k, time tau, reached the conductor.
func (sc *scenario) reportOK(s *service, tau time.Time, k int64) bool {
	off := sc.offset(tau)
	if off < 0 {
		return true
	}
	if sc.tl.brokerDown(off) {
		return false
	}
	if off >= sc.tl.BrokerUp && off < sc.tl.BrokerUp+s.proc.reconnect {
		return false // still reconnecting
	}
	if r, gen, ok := sc.lastRestart(s.proc, tau); ok {
		if since := tau.Sub(r); since >= startDelay && since <= startDelay+grace(s, gen) {
			return true
		}
	}
	h := sc.tl.serviceSick(off)
	if h == 0 {
		return true
	}
	// Flapping, as in the 2015 incident: cycle after cycle, the service's
	// connection gets stuck long enough for Nova to call it down, then
	// recovers for a few reports. How likely a cycle is stuck follows how
	// sick the broker is and how susceptible the service.
	since := tau.Sub(sc.cfg.Epoch) - s.segOff
	j := floorDiv(since, s.seg)
	mid := sc.cfg.Epoch.Add(s.segOff + time.Duration(j)*s.seg + s.seg/2)
	if since-time.Duration(j)*s.seg < s.stuck && unit(mix2(s.key^17, j)) < sc.tl.serviceSick(sc.offset(mid))*(0.4+0.8*s.sus) {
		return false // its connection is stuck for this part of the cycle
	}
	return unit(mix2(s.key^18, k)) >= 0.15*h
}

// updatedAt is Nova's updated_at of s at now: the time of its last report
// that got through.
func (sc *scenario) updatedAt(s *service, now time.Time) time.Time {
	ri := sc.cfg.ReportInterval
	base := sc.cfg.Epoch.Add(s.phase)
	k := floorDiv(now.Sub(base), ri)
	var floor time.Time // a restart's first report
	if r, _, ok := sc.lastRestart(s.proc, now); ok {
		first := r.Add(startDelay).Add(commitDelay(s, -1))
		if !first.After(now) && !sc.tl.brokerDown(sc.offset(first)) {
			floor = first
		}
	}
	var tau time.Time
	for i := 0; i < 1000; i++ {
		tau = base.Add(time.Duration(k) * ri)
		if !floor.IsZero() && !tau.After(floor) {
			return floor
		}
		if at := tau.Add(commitDelay(s, k)); !at.After(now) && sc.reportOK(s, tau, k) {
			return at
		}
		k--
	}
	if !floor.IsZero() {
		return floor
	}
	return tau
}

// commitDelay is how long after its tick a report's updated_at is written.
func commitDelay(s *service, k int64) time.Duration {
	return 5*time.Millisecond + time.Duration(unit(mix2(s.key^19, k))*float64(900*time.Millisecond))
}

// serviceState is Nova's up/down: down when the last report is older than service_down_time.
func (sc *scenario) serviceState(s *service, now time.Time) (updated time.Time, up bool) {
	u := sc.updatedAt(s, now)
	return u, now.Sub(u) <= sc.cfg.ServiceDownTime
}
