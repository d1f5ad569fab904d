package ui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/state"
)

// defaultRetention is the strip's span when the snapshot does not say.
const defaultRetention = time.Hour

// serviceDetail is the drill-down of one Nova service. Its "services on
// <host>" list has a cursor: up/down move it while the list is on screen,
// enter drills into the sibling (esc comes back here).
type serviceDetail struct {
	scroller
	key state.ServiceKey
	sib state.ServiceKey // the sibling under the cursor
}

func newServiceDetail(e *env, k state.ServiceKey) *serviceDetail {
	return &serviceDetail{scroller: scroller{e: e}, key: k, sib: k}
}

// ShortHelp adds enter when there are siblings to drill into.
func (d *serviceDetail) ShortHelp() []key.Binding {
	k := d.e.keys
	if len(servicesOnHost(d.e.snap, d.key.Host)) > 1 {
		return []key.Binding{k.Back, k.Down, k.Up, openSibling(k), k.PageDown, k.Pause, k.Help, k.Quit}
	}
	return d.scroller.ShortHelp()
}

// FullHelp is the short help in one column.
func (d *serviceDetail) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func openSibling(k *KeyMap) key.Binding {
	b := k.Accept
	b.SetHelp(k.Accept.Help().Key, "open sibling")
	return b
}

func (d *serviceDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	lines, first := d.layout()
	sibs := servicesOnHost(d.e.snap, d.key.Host)
	if km, ok := msg.(tea.KeyPressMsg); ok && len(sibs) > 1 {
		k := d.e.keys
		i := siblingIndex(sibs, d.sib, d.key)
		visible := first+i >= d.offset && first+i < d.offset+d.height
		switch {
		case key.Matches(km, k.Accept):
			if s := sibs[i].Key; s != d.key {
				next := newServiceDetail(d.e, s)
				return d, func() tea.Msg { return openDetailMsg{p: next} }
			}
			return d, nil
		case visible && key.Matches(km, k.Down) && i+1 < len(sibs):
			d.sib = sibs[i+1].Key
			d.reveal(first + i + 1)
			return d, nil
		case visible && key.Matches(km, k.Up) && i > 0:
			d.sib = sibs[i-1].Key
			d.reveal(first + i - 1)
			return d, nil
		}
	}
	d.scroll(msg, len(lines))
	return d, nil
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
func siblingIndex(sibs []state.Service, sib, self state.ServiceKey) int {
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

// layout builds the document and says on which line the sibling list starts.
func (d *serviceDetail) layout() ([]string, int) {
	e := d.e
	st := &e.st
	now := e.now
	o := &doc{width: d.width}
	s := findService(e.snap, d.key)
	title := o.clean(d.key.Binary + " on " + d.key.Host)
	if s == nil {
		o.add(o.paint(st.Detail.Title, title) + "  (gone from the latest snapshot)")
		return o.lines, len(o.lines)
	}
	o.add(o.paint(st.Detail.Title, title) + o.paint(st.Detail.Label, "  id "+o.clean(s.ID)+" · zone "+o.clean(s.Zone)))
	line := "status " + o.paint(condInk(st, s.Cond), condWord(s.Cond)) + " for " + ageSince(now, s.Since)
	if s.Flapping {
		line += "  " + o.paint(st.Status.Flapping, "↯ FLAPPING "+fmtPercent(s.FlapPercent))
	} else {
		line += "  flap " + fmtPercent(s.FlapPercent)
	}
	o.add(line)
	rep := "report " + ageSince(now, s.UpdatedAt) + " ago"
	if s.ReportInterval > 0 {
		rep += " · interval ~" + fmtAge(s.ReportInterval)
		if !s.UpdatedAt.IsZero() && now.Sub(s.UpdatedAt) > 2*s.ReportInterval {
			rep += " " + o.paint(st.Table.Warn, "(overdue)")
		}
	} else {
		rep += " · interval not yet known"
	}
	o.add(rep)
	if s.RPC != nil {
		t, ink := rpcCell(s.RPC, st)
		l := "rpc ping " + o.paint(ink, t) + " " + ageSince(now, s.RPC.At) + " ago"
		if s.RPC.Detail != "" {
			l += " · " + o.clean(s.RPC.Detail)
		}
		o.add(l)
	}
	if s.DisabledReason != "" {
		o.add("disabled reason: " + o.clean(s.DisabledReason))
	}

	ret := e.snap.Retention
	if ret <= 0 {
		ret = defaultRetention
	}
	o.add("")
	o.add(o.paint(st.Detail.Section, "up/down over the last "+fmtAge(ret)) + o.paint(st.Detail.Label, "  █ up  _ down  ░ disabled  F forced  ? unknown  ▚ changed  · not seen"))
	o.add(strip(s, now, ret, max(1, d.width-2)))

	o.add("")
	hostLines(o, e, d.key.Host)
	o.add("")
	sibs := servicesOnHost(e.snap, d.key.Host)
	section := o.paint(st.Detail.Section, "services on "+o.clean(d.key.Host))
	if len(sibs) > 1 {
		section += o.paint(st.Detail.Label, "  ↑↓ select · enter open")
	}
	o.add(section)
	first := len(o.lines)
	cur := siblingIndex(sibs, d.sib, d.key)
	for i := range sibs {
		other := &sibs[i]
		cond := padRight(condWord(other.Cond), 10)
		var l string
		if i == cur {
			// The cursor row is one reverse-video span; no inner colours.
			l = "▸ " + padRight(o.clean(other.Key.Binary), 16) + " " + cond + " for " + ageSince(now, other.Since)
			if other.Flapping {
				l += " ↯" + fmtPercent(other.FlapPercent)
			}
		} else {
			l = "  " + padRight(o.clean(other.Key.Binary), 16) + " " + o.paint(condInk(st, other.Cond), cond) + " for " + ageSince(now, other.Since)
			if other.Flapping {
				l += " " + o.paint(st.Status.Flapping, "↯"+fmtPercent(other.FlapPercent))
			}
		}
		if other.Key == d.key && len(sibs) > 1 {
			l += "  · this one"
		}
		if i == cur && len(sibs) > 1 {
			l = o.paint(st.Table.Selected, l)
		}
		o.add(l)
	}
	for i := range e.snap.Queues {
		q := &e.snap.Queues[i]
		if q.Role == "compute" && q.Host == d.key.Host {
			o.add("")
			o.add(o.paint(st.Detail.Section, "queue "+o.clean(q.Key.Name)) + " messages " + fmtCount(q.Messages) +
				" · unacked " + fmtCount(q.Unacked) + " · consumers " + consumersText(q.Consumers) + " · growth " + fmtGrowth(q.GrowthPerMin) + "/min")
		}
	}
	o.add("")
	o.add(o.paint(st.Detail.Section, "transitions (newest first): "+strconv.Itoa(len(s.History))))
	for i := len(s.History) - 1; i >= 0; i-- {
		t := s.History[i]
		o.add("  " + t.At.Format("15:04:05") + "  " + padLeft(ageSince(now, t.At), 7) + " ago  " +
			strings.TrimSpace(condWord(t.From)) + " → " + o.paint(condInk(st, t.To), condWord(t.To)))
	}
	if len(s.History) == 0 {
		o.add("  none since " + s.FirstSeen.Format("15:04:05"))
	}

	return o.lines, first
}

// hostLines describes a host's heartbeat agent.
func hostLines(o *doc, e *env, host string) {
	st := &e.st
	h := findHost(e.snap, host)
	if h == nil {
		o.add(o.paint(st.Detail.Section, "heartbeat") + " no agent heard from " + o.clean(host))
		return
	}
	t, ink := heartbeatCell(e.snap, host, e.now, st)
	o.add(o.paint(st.Detail.Section, "heartbeat") + " " + o.paint(ink, t) + " since the last · interval " + fmtAge(h.Interval) +
		" · gaps " + strconv.Itoa(h.Gaps) + " · uptime " + fmtAge(h.Uptime) + " · skew " + h.Skew.Round(time.Millisecond).String() +
		" · agent " + o.clean(h.AgentVersion))
	for _, pr := range h.Processes {
		o.add("  " + padRight(o.clean(pr.Name), 20) + " pid " + padLeft(strconv.Itoa(pr.PID), 7) + "  started " + ageSince(e.now, pr.StartedAt) + " ago")
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
