package ui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
)

// groupDetail is the drill-down of a grouped timeline event ("nova-compute
// restarted ×28"): every host of the group with its own time and evidence;
// enter opens the drill-down of the event on the host under the cursor.
type groupDetail struct {
	scroller
	ev   state.Event // as opened; the live one is looked up by ID
	list listState
}

// groupHead is how many lines the group's drill-down shows above its hosts.
const groupHead = 4

// groupCols title the group's hosts.
var groupCols = []column{{title: "time"}, {title: "ago", right: true}, {title: "host"}, {title: "evidence"}}

func newGroupDetail(e *env, ev *state.Event) *groupDetail {
	return &groupDetail{scroller: scroller{e: e}, ev: *ev}
}

// event is the group as the latest snapshot has it (hosts may have joined),
// or as it was opened when it is gone.
func (d *groupDetail) event() *state.Event {
	if d.ev.ID != 0 {
		for i := range d.e.snap.Timeline {
			if x := &d.e.snap.Timeline[i]; x.ID == d.ev.ID {
				return x
			}
		}
	}
	return &d.ev
}

// members are the group's hosts with their times; without recorded members
// every host gets the group's time and evidence.
func members(e *state.Event) []state.Member {
	if len(e.Members) > 0 {
		return e.Members
	}
	out := make([]state.Member, len(e.Hosts))
	for i, h := range e.Hosts {
		out[i] = state.Member{Host: h, At: e.At, Evidence: e.Evidence}
	}
	return out
}

func (d *groupDetail) SetSize(w, h int) {
	d.width, d.height = w, h
	d.list.height = max(1, h-groupHead-1) // and the preview line
}

func (d *groupDetail) ShortHelp() []key.Binding {
	k := d.e.keys
	return []key.Binding{k.Back, k.Down, k.Up, k.Accept, k.Pause, k.Help, k.Quit}
}

func (d *groupDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d, nil
	}
	ev := d.event()
	ms := members(ev)
	if d.list.nav(km, d.e.keys, len(ms)) {
		return d, nil
	}
	if key.Matches(km, d.e.keys.Accept) && d.list.cursor < len(ms) {
		m := ms[d.list.cursor]
		one := *ev
		one.At, one.Until, one.Hosts, one.Members = m.At, time.Time{}, []string{m.Host}, nil
		one.Evidence, one.GroupEvidence = m.Evidence, ""
		if p := eventDetail(d.e, &one); p != nil {
			return d, openCmd(p)
		}
		return d, openCmd(newEventDoc(d.e, &one))
	}
	return d, nil
}

func (d *groupDetail) View() string {
	e := d.e
	st := &e.st
	ev := d.event()
	ms := members(ev)
	o := &doc{width: d.width}
	o.add(o.paint(st.Detail.Title, o.clean(eventWhat(ev))) + o.paint(st.Detail.Label,
		" from "+format.Clock(ev.At)+" ("+format.AgeSince(e.now, ev.At)+" ago) · seen by "+o.clean(ev.Source)))
	span := strconv.Itoa(len(ev.Hosts)) + " hosts"
	if !ev.Until.IsZero() {
		span += " over " + format.Age(ev.Until.Sub(ev.At))
	}
	o.add(o.paint(st.Detail.Label, span+" · "+o.clean(ev.Evidence)))
	switch {
	case len(ev.Members) == 0:
		o.add(o.paint(st.Detail.Label, "each host at the group's time: their own times were not kept"))
	case len(ev.Members) < len(ev.Hosts):
		o.add(o.paint(st.Detail.Label, "the first "+strconv.Itoa(len(ev.Members))+" hosts with their times; "+
			strconv.Itoa(len(ev.Hosts)-len(ev.Members))+" more: "+o.clean(strings.Join(ev.Hosts[len(ev.Members):], ", "))))
	default:
		o.add("")
	}
	hostW := 4
	for _, m := range ms {
		hostW = max(hostW, min(40, textWidth(m.Host)))
	}
	widths := []int{8, 6, hostW, max(1, d.width-markerWidth-8-6-hostW-3)}
	var b strings.Builder
	headerRow(&b, groupCols, widths, st)
	o.add(b.String())
	d.list.clamp(len(ms))
	lo, hi := d.list.window(len(ms))
	for i := lo; i < hi; i++ {
		m := &ms[i]
		b.Reset()
		r := startRow(&b, widths, i == d.list.cursor, st)
		r.cell(format.Clock(m.At), false, st.Table.Dim)
		r.cell(format.AgeSince(e.now, m.At), true, st.Table.Dim)
		r.cell(m.Host, false, st.Table.Group)
		r.cell(m.Evidence, false, st.Table.Dim)
		r.end(st)
		o.add(b.String())
	}
	for i := hi - lo; i < d.list.height; i++ {
		o.add("")
	}
	if c := d.list.cursor; c >= 0 && c < len(ms) { // the selected host's evidence whole
		o.add(o.paint(st.Table.Dim, o.clean(ms[c].Host+": "+ms[c].Evidence)))
	}
	return strings.Join(o.lines, "\n")
}

// eventDoc is the drill-down of an event that has no richer one (a source
// failing, a start, an RPC ping of a service no longer listed): every
// field in full, wrapped.
type eventDoc struct {
	scroller
	ev state.Event
}

func newEventDoc(e *env, ev *state.Event) *eventDoc {
	return &eventDoc{scroller: scroller{e: e}, ev: *ev}
}

func (d *eventDoc) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *eventDoc) View() string { return d.show(d.lines()) }

func (d *eventDoc) lines() []string {
	e := d.e
	st := &e.st
	ev := &d.ev
	o := &doc{width: d.width}
	o.add(o.paint(st.Detail.Title, string(ev.Kind)) + o.paint(st.Detail.Label,
		" at "+format.Clock(ev.At)+" ("+format.AgeSince(e.now, ev.At)+" ago) · seen by "+o.clean(ev.Source)))
	o.add("")
	o.add(o.paint(st.Detail.Section, "what"))
	o.wrap("  ", ev.What(0))
	if where := eventWhere(ev, 0); len(ev.Hosts) == 0 && where != "" {
		o.add(o.paint(st.Detail.Section, "where"))
		o.wrap("  ", where)
	}
	o.add("")
	o.add(o.paint(st.Detail.Section, "evidence"))
	if ev.Evidence == "" {
		o.add("  none given")
	} else {
		o.wrap("  ", ev.Evidence)
	}
	return o.lines
}
