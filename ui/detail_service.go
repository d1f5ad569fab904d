package ui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// defaultRetention is the strip's span when the snapshot does not say.
const defaultRetention = time.Hour

// serviceDetail is the drill-down of one Nova service. Its "services on
// <host>" list and the host's compute queue take a cursor: up/down move it
// while the list is on screen, enter drills into the sibling or the queue
// (esc comes back here).
type serviceDetail struct {
	scroller
	key     state.ServiceKey
	sib     state.ServiceKey // the sibling under the cursor
	onQueue bool             // the cursor is on the compute queue

	// The host's compute queue in the queues of queuesK: found once per
	// queue poll, not on every View.
	queuesK sliceKey
	queue   *state.Queue
}

func newServiceDetail(e *env, k state.ServiceKey) *serviceDetail {
	return &serviceDetail{scroller: scroller{e: e}, key: k, sib: k}
}

// ShortHelp adds enter when there is something to drill into.
func (d *serviceDetail) ShortHelp() []key.Binding {
	k := d.e.keys
	if d.selectable() > 1 {
		return []key.Binding{k.Back, k.Down, k.Up, openSelected(k), k.PageDown, k.Verdict, k.Pause, k.Help, k.Quit}
	}
	return d.scroller.ShortHelp()
}

// FullHelp is every key, enter saying what it opens here.
func (d *serviceDetail) FullHelp() [][]key.Binding {
	cols := d.e.keys.FullHelp()
	if d.selectable() > 1 {
		for _, col := range cols {
			for i := range col {
				if col[i].Help() == d.e.keys.Accept.Help() {
					col[i] = openSelected(d.e.keys)
				}
			}
		}
	}
	return cols
}

func openSelected(k *KeyMap) key.Binding {
	b := k.Accept
	b.SetHelp(k.Accept.Help().Key, "open selected")
	return b
}

// computeQueue is the compute.<host> queue of the service's host, nil when
// the broker lists none; it looks again only when the queues changed.
func (d *serviceDetail) computeQueue() *state.Queue {
	s := d.e.snap
	if k := keyOf(s.Gen.Queues, s.Queues); k != d.queuesK || (k == sliceKey{}) {
		d.queuesK = k
		d.queue = computeQueue(s, d.key.Host)
	}
	return d.queue
}

// computeQueue is the compute.<host> queue of host, nil when the broker lists none.
func computeQueue(s *state.Snapshot, host string) *state.Queue {
	for i := range s.Queues {
		if q := &s.Queues[i]; q.Role == "compute" && q.Host == host {
			return q
		}
	}
	return nil
}

// selectable is how many rows the cursor walks: the host's services and its queue.
func (d *serviceDetail) selectable() int {
	n := len(servicesOnHost(d.e.snap, d.key.Host))
	if d.computeQueue() != nil {
		n++
	}
	return n
}

func (d *serviceDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	lines, rows := d.layout()
	sibs := servicesOnHost(d.e.snap, d.key.Host)
	q := d.computeQueue()
	if km, ok := msg.(tea.KeyPressMsg); ok && len(rows) > 1 {
		k := d.e.keys
		i := siblingIndex(sibs, d.sib, d.key)
		if d.onQueue && q != nil {
			i = len(sibs)
		}
		visible := rows[i] >= d.offset && rows[i] < d.offset+d.height
		switch {
		case key.Matches(km, k.Accept):
			if i == len(sibs) {
				return d, openQueueDetail(d.e, q.Key)
			}
			if s := sibs[i].Key; s != d.key {
				next := newServiceDetail(d.e, s)
				return d, func() tea.Msg { return openDetailMsg{p: next} }
			}
			return d, nil
		case visible && key.Matches(km, k.Down) && i+1 < len(rows):
			d.pick(sibs, i+1)
			d.reveal(rows[i+1])
			return d, nil
		case visible && key.Matches(km, k.Up) && i > 0:
			d.pick(sibs, i-1)
			d.reveal(rows[i-1])
			return d, nil
		}
	}
	d.scroll(msg, len(lines))
	return d, nil
}

// pick puts the cursor on row i: a sibling, or the queue after them.
func (d *serviceDetail) pick(sibs []*state.Service, i int) {
	d.onQueue = i >= len(sibs)
	if !d.onQueue {
		d.sib = sibs[i].Key
	}
}

// reveal scrolls so that line is on screen.
func (d *serviceDetail) reveal(line int) {
	if line < d.offset {
		d.offset = line
	}
	if h := max(1, d.height); line >= d.offset+h {
		d.offset = line - h + 1
	}
}

// siblingIndex is where the cursor is in sibs: on sib, else on the service shown, else the first.
func siblingIndex(sibs []*state.Service, sib, self state.ServiceKey) int {
	at := 0
	for i := range sibs {
		switch sibs[i].Key {
		case sib:
			return i
		case self:
			at = i
		}
	}
	return at
}

func (d *serviceDetail) View() string {
	lines, _ := d.layout()
	return d.show(lines)
}

// maxHostRestarts bounds the restarts listed for the host.
const maxHostRestarts = 10

// layout builds the document and says on which lines the selectable rows
// are: the host's services, then its compute queue.
func (d *serviceDetail) layout() ([]string, []int) {
	e := d.e
	st := &e.st
	now := e.now
	o := &doc{width: d.width}
	s := findService(e.snap, d.key)
	title := o.clean(d.key.Binary + " on " + d.key.Host)
	if s == nil {
		o.add(o.paint(st.Detail.Title, title) + "  (gone from the latest snapshot)")
		return o.lines, nil
	}
	o.add(o.paint(st.Detail.Title, title) + o.paint(st.Detail.Label, "  id "+o.clean(s.ID)+" · zone "+o.clean(s.Zone)))
	line := "status " + o.paint(condInk(st, s.Cond), condWord(s.Cond)) + " for " + sinceText(s, now) + o.paint(st.Detail.Label, " ("+sinceWhy(s)+")")
	if s.Flapping {
		line += "  " + o.paint(st.Status.Flapping, "↯ FLAPPING "+format.Percent(s.FlapPercent))
	} else {
		line += "  flap " + format.Percent(s.FlapPercent)
	}
	o.add(line)
	rep := "report " + format.AgeSince(now, s.UpdatedAt) + " ago"
	if s.ReportInterval > 0 {
		rep += " · interval ~" + format.Age(s.ReportInterval)
		if s.ReportLate(now) {
			rep += " " + o.paint(st.Table.Warn, "(overdue)")
		}
	} else {
		rep += " · interval not yet known"
	}
	o.add(rep)
	if s.DisabledReason != "" {
		o.add("disabled reason: " + o.clean(s.DisabledReason))
	}

	ret := e.snap.Retention
	if ret <= 0 {
		ret = defaultRetention
	}
	o.add("")
	o.add(o.paint(st.Detail.Section, "up/down over the last "+format.Age(ret)) + o.paint(st.Detail.Label, "  █ up  _ down  ░ disabled  F forced  ? unknown  ▚ changed  · not seen"))
	o.add(strip(s, now, ret, max(1, d.width-2)))

	o.add("")
	rpcLines(o, e, s)
	o.add("")
	hostLines(o, e, d.key.Host)
	o.add("")

	sibs := servicesOnHost(e.snap, d.key.Host)
	q := d.computeQueue()
	n := len(sibs)
	if q != nil {
		n++
	}
	section := o.paint(st.Detail.Section, "services on "+o.clean(d.key.Host))
	if n > 1 {
		section += o.paint(st.Detail.Label, "  ↑↓ select · enter open")
	}
	o.add(section)
	rows := make([]int, 0, n)
	cur := siblingIndex(sibs, d.sib, d.key)
	if d.onQueue && q != nil {
		cur = len(sibs)
	}
	for i := range sibs {
		other := sibs[i]
		cond := padRight(condWord(other.Cond), 10)
		var l string
		if i == cur {
			// The cursor row is one reverse-video span; no inner colours.
			l = "▸ " + padRight(o.clean(other.Key.Binary), 16) + " " + cond + " for " + sinceText(other, now)
			if other.Flapping {
				l += " ↯" + format.Percent(other.FlapPercent)
			}
		} else {
			l = "  " + padRight(o.clean(other.Key.Binary), 16) + " " + o.paint(condInk(st, other.Cond), cond) + " for " + sinceText(other, now)
			if other.Flapping {
				l += " " + o.paint(st.Status.Flapping, "↯"+format.Percent(other.FlapPercent))
			}
		}
		if other.Key == d.key && len(sibs) > 1 {
			l += "  · this one"
		}
		if i == cur && n > 1 {
			l = o.paint(st.Table.Selected, l)
		}
		rows = append(rows, len(o.lines))
		o.add(l)
	}
	if q != nil {
		l := "queue " + o.clean(q.Key.Name) + "  messages " + format.Count(q.Messages) + " · unacked " + format.Count(q.Unacked) +
			" · consumers " + consumersText(q.Consumers) + " · growth " + format.Growth(q.GrowthPerMin) + "/min"
		if cur == len(sibs) {
			l = o.paint(st.Table.Selected, "▸ "+l)
		} else {
			l = "  " + l
		}
		rows = append(rows, len(o.lines))
		o.add(l)
	} else {
		o.add(o.paint(st.Detail.Label, "  no compute."+o.clean(d.key.Host)+" queue listed by the broker"))
	}

	o.add("")
	restartLines(o, e, d.key.Host)

	o.add("")
	o.add(o.paint(st.Detail.Section, "transitions (newest first): "+strconv.Itoa(len(s.History))))
	for i := len(s.History) - 1; i >= 0; i-- {
		t := s.History[i]
		o.add("  " + format.Clock(t.At) + "  " + padLeft(format.AgeSince(now, t.At), 7) + " ago  " +
			strings.TrimSpace(condWord(t.From)) + " → " + o.paint(condInk(st, t.To), condWord(t.To)))
	}
	if len(s.History) == 0 {
		o.add("  none since " + format.Clock(s.FirstSeen))
	}
	return o.lines, rows
}

// rpcLines shows the service's RPC pings: a sparkline of round trips, a
// strip of results (oldest to newest, right-aligned so the newest is always
// in the same place) and the latest pings.
func rpcLines(o *doc, e *env, s *state.Service) {
	st := &e.st
	now := e.now
	h := s.RPCHistory
	if len(h) == 0 && s.RPC != nil {
		h = []state.RPCPing{*s.RPC}
	}
	if len(h) == 0 {
		if u, ok := e.unconfigured(sources.NameRPCPing); ok {
			o.add(o.paint(st.Detail.Section, "rpc ping") + " " + o.paint(st.Table.Dim, "not configured ("+u.How+"): unknown"))
			return
		}
		o.add(o.paint(st.Detail.Section, "rpc ping") + " none yet")
		return
	}
	failed := 0
	for i := range h {
		if h[i].Result != sources.ProbeOK {
			failed++
		}
	}
	o.add(o.paint(st.Detail.Section, "rpc pings") + " " + strconv.Itoa(len(h)) + " kept · " +
		o.paint(inkIf(failed > 0, st.Table.Bad), strconv.Itoa(failed)+" failed") + o.paint(st.Detail.Label, "  oldest → newest"))
	const stripW = 16
	w := max(stripW, len(h))
	var spark strings.Builder
	sparkline(&spark, len(h), w, func(i int) int64 { return int64(h[i].RTT) })
	lo, hi := h[0].RTT, h[0].RTT
	for i := range h {
		lo, hi = min(lo, h[i].RTT), max(hi, h[i].RTT)
	}
	o.add("  rtt     " + padLeft(spark.String(), w) + "  " + format.RTT(lo) + " … " + format.RTT(hi))
	var res strings.Builder
	for i := max(0, len(h)-w); i < len(h); i++ {
		if h[i].Result == sources.ProbeOK {
			res.WriteRune('✓')
		} else {
			res.WriteRune('✖')
		}
	}
	o.add("  result  " + padLeft(res.String(), w) + "  ✓ ok  ✖ timeout/blocked/error")
	for i := len(h) - 1; i >= max(0, len(h)-3); i-- {
		p := &h[i]
		t, ink := rpcCell(p, st)
		l := "  " + format.Clock(p.At) + "  " + padLeft(format.AgeSince(now, p.At), 7) + " ago  " + o.paint(ink, t)
		if p.Detail != "" {
			l += strings.Repeat(" ", max(1, 12-textWidth(t))) + o.clean(p.Detail)
		}
		o.add(l)
	}
}

// restartLines lists the restarts on host, newest first.
func restartLines(o *doc, e *env, host string) {
	st := &e.st
	n := 0
	for _, r := range e.snap.Restarts {
		if r.Where == host {
			n++
		}
	}
	o.add(o.paint(st.Detail.Section, "restarts on "+o.clean(host)+": "+strconv.Itoa(n)))
	shown := 0
	for _, r := range e.snap.Restarts {
		if r.Where != host {
			continue
		}
		if shown == maxHostRestarts {
			o.add(o.paint(st.Detail.Label, "  "+strconv.Itoa(n-shown)+" more in the timeline"))
			break
		}
		shown++
		o.add("  " + format.Clock(r.At) + "  " + padLeft(format.AgeSince(e.now, r.At), 7) + " ago  " +
			o.paint(kindInk(st, r.Kind), padRight(kindWord(r.Kind), 9)) + " " + o.clean(r.What) + o.paint(st.Table.Dim, "  "+o.clean(r.Evidence)))
	}
	if n == 0 {
		o.add("  none within the retained window")
	}
}

// hostLines describes a host's heartbeat agent.
func hostLines(o *doc, e *env, host string) {
	st := &e.st
	h := findHost(e.snap, host)
	if h == nil {
		if u, ok := e.unconfigured(sources.NameHeartbeat); ok {
			o.add(o.paint(st.Detail.Section, "heartbeat") + " " + o.paint(st.Table.Dim, "not configured ("+u.How+"): unknown"))
			return
		}
		o.add(o.paint(st.Detail.Section, "heartbeat") + " no agent heard from " + o.clean(host))
		return
	}
	t, ink := heartbeatCell(e, host)
	o.add(o.paint(st.Detail.Section, "heartbeat") + " " + o.paint(ink, t) + " since the last, at " + format.Clock(h.LastSeen) +
		" · every " + format.Age(h.Interval) + " · " + o.paint(inkIf(h.Gaps > 0, st.Table.Warn), strconv.Itoa(h.Gaps)+" missed") +
		" · skew " + h.Skew.Round(time.Millisecond).String())
	if why := e.silenceUnproven(); why != "" && liveness(h, e.now) != state.LiveFresh {
		o.add(o.paint(st.Table.Dim, "  its silence proves nothing now: "+why))
	}
	if h.Conflicts > 0 {
		o.add(o.paint(inkIf(h.Conflicting(e.now), st.Table.Bad), "  conflicting heartbeats: "+strconv.Itoa(h.Conflicts)+" under this name from another boot") +
			" (boot ids " + o.clean(h.ConflictBoots[0]) + " and " + o.clean(h.ConflictBoots[1]) + ", last at " + format.Clock(h.ConflictSeen) + ")")
	}
	o.add("  uptime " + format.Age(h.Uptime) + " · boot " + o.clean(h.BootID) + " · agent " + o.clean(h.AgentVersion) + " · seq " + strconv.FormatUint(h.Seq, 10))
	o.add(o.paint(st.Detail.Label, "  no history of ages is kept: \"missed\" counts sequence-number gaps since stacktop started"))
	for _, pr := range h.Processes {
		o.add("  " + padRight(o.clean(pr.Name), 20) + " pid " + padLeft(strconv.Itoa(pr.PID), 7) + "  started " + format.AgeSince(e.now, pr.StartedAt) + " ago")
	}
}

// strip draws a service's condition across the retention window, one cell
// per slice of time: a cell where the condition changed shows ▚.
func strip(s *state.Service, now time.Time, ret time.Duration, width int) string {
	var b strings.Builder
	start := now.Add(-ret)
	step := ret / time.Duration(width)
	if step <= 0 {
		step = time.Nanosecond
	}
	at := func(t time.Time) (state.Condition, bool) {
		if t.Before(s.FirstSeen) {
			return 0, false
		}
		c := s.Cond
		if len(s.History) > 0 {
			c = s.History[0].From
		}
		for _, tr := range s.History {
			if tr.At.After(t) {
				break
			}
			c = tr.To
		}
		return c, true
	}
	for i := range width {
		t0 := start.Add(time.Duration(i) * step)
		t1 := t0.Add(step)
		c, seen := at(t1)
		if !seen {
			b.WriteRune('·')
			continue
		}
		changed := false
		for _, tr := range s.History {
			if tr.At.After(t0) && !tr.At.After(t1) {
				changed = true
				break
			}
		}
		switch {
		case changed:
			b.WriteRune('▚')
		case c == state.CondUp:
			b.WriteRune('█')
		case c == state.CondDown:
			b.WriteRune('_')
		case c == state.CondDisabled:
			b.WriteRune('░')
		case c == state.CondForcedDown:
			b.WriteRune('F')
		default:
			b.WriteRune('?')
		}
	}
	return b.String()
}

// sinceWhy says how the condition's duration is known.
func sinceWhy(s *state.Service) string {
	switch s.SinceBasis {
	case state.SinceSeen:
		return "changed " + format.Clock(s.CondSince)
	case state.SinceLastReport:
		return "first listed down; Nova's last report " + format.Stamp(s.CondSince)
	case state.SinceProcessStart:
		return "first listed up; its process started " + format.Stamp(s.CondSince)
	}
	return "unchanged since stacktop first listed it"
}

func padRight(s string, w int) string {
	if n := textWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func padLeft(s string, w int) string {
	if n := textWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}
