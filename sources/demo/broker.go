package demo

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// queue is one broker queue's state at one instant.
type queue struct {
	name      string
	node      int
	ready     int64
	unacked   int64
	consumers int
	publish   float64 // messages per second
	deliver   float64
	ack       float64
	expires   bool // has x-expires (reply_ and fanout queues)
	down      bool // its node is down
	key       uint64
	published int64 // message_stats totals since the node started
}

func (q *queue) messages() int64 { return q.ready + q.unacked }

// Memory limit of every node: the default 0.4 watermark of 8 GiB.
const memLimit = 3435973836

// brokerState is the whole cluster at one instant, shared by the API handlers.
type brokerState struct {
	now         time.Time
	off         time.Duration // offset into the loop; -1 before the epoch
	sick        float64
	down        bool // the sick node is down
	queues      []queue
	connections [3]int
	consumers   int
	upSince     [3]time.Time // when each node started
}

// wobble is a smooth pseudo-random factor in [1-a, 1+a] that drifts over seconds.
func wobble(key uint64, t time.Time, a float64) float64 {
	x := float64(t.UnixMilli()) / 1000
	ph := unit(key) * 2 * math.Pi
	return 1 + a*0.6*math.Sin(x/3.1+ph) + a*0.4*math.Sin(x/1.3+2*ph)
}

// progress is how far into the incident offset s is, 0..1, and 0 outside it.
func (tl Timeline) progress(s time.Duration) float64 {
	if s < tl.Degrade || s >= tl.BrokerDown {
		return 0
	}
	return float64(s-tl.Degrade) / float64(tl.BrokerDown-tl.Degrade)
}

// broker computes the cluster's state at now.
func (sc *scenario) broker(now time.Time) *brokerState {
	tl := sc.tl
	off := sc.offset(now)
	st := &brokerState{now: now, off: off, sick: tl.brokerSick(off), down: off >= 0 && tl.brokerDown(off)}
	for i := range brokerNodes {
		st.upSince[i] = sc.cfg.Epoch.Add(-(30*24*time.Hour + time.Duration(i)*7*time.Hour + time.Duration(sc.cfg.Seed%1000)*time.Minute))
	}
	lastUp, _, restarted := sc.lastRestart(sc.brokerProc, now)
	if restarted {
		st.upSince[sickNode] = lastUp.Add(4 * time.Second)
	}
	prog := tl.progress(off)
	backed := math.Pow(prog, 1.3)
	// Just after the restart consumers are still reconnecting.
	back := func(p *proc) bool {
		return !(off >= tl.BrokerUp && off < tl.BrokerUp+p.reconnect) && !(st.down && p.node == sickNode)
	}
	fresh := func(t time.Time) time.Duration { // time since the queue's node started, for totals
		return t.Sub(st.upSince[sickNode])
	}
	count := func(rate float64) int64 {
		return int64(rate * fresh(now).Seconds())
	}
	add := func(q queue) {
		if st.down && q.node == sickNode {
			q.down = true
		}
		if q.published == 0 {
			q.published = count(q.publish)
		}
		st.queues = append(st.queues, q)
		st.consumers += q.consumers
	}
	nComputes := 0
	var byTopic = map[string][]*proc{}
	for _, p := range sc.procs {
		if p.topic != "" {
			byTopic[p.topic] = append(byTopic[p.topic], p)
		}
		if p.name == "nova-compute" {
			nComputes++
		}
	}
	reportRate := float64(len(sc.services)) / sc.cfg.ReportInterval.Seconds()

	// Topic queues.
	for _, topic := range []string{"compute", "conductor", "network", "scheduler"} {
		procs := byTopic[topic]
		k := sc.key("queue/" + topic)
		q := queue{name: topic, node: sickNode, key: k}
		if topic == "compute" {
			q.node = int(k % 3)
		}
		for _, p := range procs {
			if back(p) {
				q.consumers++
				if topic == "conductor" {
					q.consumers++ // two workers each
				}
			}
		}
		w := wobble(k, now, 0.15)
		switch topic {
		case "conductor":
			q.publish = reportRate * (1 + 0.6*st.sick) * w
			q.deliver = q.publish * (1 - 0.75*st.sick)
			q.ack = q.deliver * (1 - 0.2*st.sick)
			q.ready = int64(2600*backed*w) + int64(unit(mix2(k, now.Unix()))*2)
			q.unacked = int64(420 * st.sick * w)
		case "compute":
			q.publish, q.deliver, q.ack = 0.2*w, 0.2*w*(1-0.5*st.sick), 0.2*w*(1-0.6*st.sick)
			q.ready = int64(60 * backed * w)
		case "scheduler":
			q.publish, q.deliver, q.ack = 0.3*w, 0.3*w*(1-0.6*st.sick), 0.3*w*(1-0.7*st.sick)
			q.ready = int64(40 * backed * w)
			q.unacked = int64(6 * st.sick)
		case "network":
			q.publish, q.deliver, q.ack = 0.1*w, 0.1*w*(1-0.8*st.sick), 0.1*w*(1-0.8*st.sick)
			q.ready = int64(15 * backed * w)
		}
		add(q)
	}

	// Per-process queues: the server's own topic.host queue, its fanout
	// queue, and the reply queue it waits for RPC replies on. A restarted
	// process declares new fanout and reply queues; the old ones stay behind
	// without consumers until the broker restart wipes them.
	for _, p := range sc.procs {
		if p.topic == "" && !p.rpc {
			continue
		}
		_, gen := sc.started(p, now)
		var firstGen int64 // the oldest generation whose queues survive
		if restarted {
			_, firstGen = sc.started(p, lastUp)
		}
		sus := 0.5
		if p.svc != nil {
			sus = p.svc.sus
		}
		stuck := p.svc != nil && st.sick > 0 && !sc.reportOK(p.svc, now, now.UnixNano()/int64(sc.cfg.ReportInterval))
		w := wobble(p.key, now, 0.3)
		consumers := 0
		if back(p) {
			consumers = 1
		}
		if p.topic != "" {
			q := queue{name: p.topic + "." + p.host.name, node: p.node, key: p.key ^ 31, consumers: consumers}
			q.publish, q.deliver, q.ack = 0.05, 0.05, 0.05
			if stuck {
				q.ready = int64(1 + 8*st.sick*w)
				q.deliver, q.ack = 0, 0
			}
			add(q)
			for g := firstGen; g <= gen; g++ {
				q := queue{name: p.topic + "_fanout_" + hex32(mix2(p.key^32, g), mix2(p.key^33, g)), node: p.node, key: mix2(p.key^34, g), expires: true}
				if g == gen {
					q.consumers = consumers
					if stuck {
						q.ready = int64(3 * st.sick * w)
					}
				} else if h := tl.serviceSick(sc.offset(sc.restartTime(p, g+1))); h > 0 {
					q.ready = int64(h * unit(q.key) * 20)
				}
				add(q)
			}
		}
		if p.rpc {
			for g := firstGen; g <= gen; g++ {
				q := queue{name: "reply_" + hex32(mix2(p.key^35, g), mix2(p.key^36, g)), node: p.node, key: mix2(p.key^37, g), expires: true}
				if g == gen {
					q.consumers = consumers
					q.publish = 0.25 * (1 + st.sick) * w
					q.deliver = q.publish * (1 - 0.7*st.sick)
					q.ack = q.deliver
					q.ready = int64(st.sick * sus * 180 * w * backed)
					q.unacked = int64(st.sick * 12 * w)
				} else if h := tl.serviceSick(sc.offset(sc.restartTime(p, g+1))); h > 0 {
					// Orphaned by a restart during the incident: late replies
					// to calls whose caller is gone.
					q.ready = 5 + int64(h*unit(q.key)*300)
					q.publish = 0.05 * st.sick
				}
				add(q)
			}
		}
	}

	// Extra, mostly idle queues for scale.
	for i, name := range sc.extraNames {
		k := mix2(sc.cfg.Seed^0xe47a, int64(i))
		q := queue{name: name, node: i % 3, key: k, expires: true, consumers: 1}
		if i%50 == 0 {
			q.ready = int64(4 * st.sick * unit(mix(k^1)))
			q.publish, q.deliver, q.ack = 0.02, 0.02, 0.02
		}
		add(q)
	}
	if off >= tl.BrokerUp && off < tl.BrokerUp+6*time.Second || st.down {
		for i := range st.queues { // drained: the restart lost every message
			q := &st.queues[i]
			q.ready, q.unacked = 0, 0
		}
	}
	sort.Slice(st.queues, func(i, j int) bool { return st.queues[i].name < st.queues[j].name })

	// Connections: each RPC process holds two, each agent one, stacktop one.
	for _, p := range sc.procs {
		if p.rpc && back(p) {
			st.connections[p.node] += 2
		}
	}
	for _, h := range sc.hosts {
		st.connections[int(h.key%3)]++
	}
	if st.down {
		st.connections[sickNode] = 0
	}
	return st
}

// nodeGauges are the varying gauges of node i.
type nodeGauges struct {
	memUsed, fdUsed, socketsUsed, procUsed, runQueue int64
	alarm                                            bool
	uptime                                           time.Duration
}

func (sc *scenario) nodeGauges(st *brokerState, i int) nodeGauges {
	tl := sc.tl
	k := sc.key(brokerNodes[i])
	w := wobble(k, st.now, 0.05)
	g := nodeGauges{uptime: st.now.Sub(st.upSince[i])}
	conns := int64(st.connections[i])
	queues := int64(0)
	for j := range st.queues {
		if st.queues[j].node == i {
			queues++
		}
	}
	g.fdUsed = 40 + conns
	g.socketsUsed = conns
	g.procUsed = 420 + 3*conns + 2*queues
	g.memUsed = int64((280e6 + 40e3*float64(queues+conns)) * w)
	g.runQueue = int64(unit(mix2(k, st.now.Unix())) * 2)
	if i != sickNode {
		g.memUsed = int64(float64(g.memUsed) * (1 + 0.3*st.sick))
		return g
	}
	off := st.off
	switch {
	case off < 0:
	case st.sick > 0 && off < tl.Alarms[0][0]:
		x := float64(off-tl.Degrade) / float64(tl.Alarms[0][0]-tl.Degrade)
		g.memUsed += int64(x * x * (0.97*memLimit - float64(g.memUsed)))
	case st.sick > 0:
		on, _ := tl.alarm(off)
		g.alarm = on
		if on {
			g.memUsed = int64(memLimit * (1.01 + 0.05*unit(mix2(k, st.now.Unix()))))
		} else {
			g.memUsed = int64(memLimit * (0.93 + 0.04*unit(mix2(k, st.now.Unix()))))
		}
		g.runQueue = 4 + int64(unit(mix2(k^1, st.now.Unix()))*9)
	case off >= tl.BrokerUp && off < tl.BrokerUp+20*time.Second:
		x := float64(off-tl.BrokerUp) / float64(20*time.Second)
		g.memUsed = int64(150e6 + x*float64(g.memUsed-150e6))
	}
	return g
}

// idleSince is RabbitMQ's idle_since format.
func idleSince(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-07:00") }

func itoa(i int) string { return strconv.Itoa(i) }
