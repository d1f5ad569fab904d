package ui

import (
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

// queueDetail is the drill-down of one broker queue.
type queueDetail struct {
	scroller
	key state.QueueKey
}

// openQueueDetail pushes a queue drill-down; the root tells the broker source
// to fetch its rates while it is open.
func openQueueDetail(e *env, k state.QueueKey) tea.Cmd {
	d := &queueDetail{scroller: scroller{e: e}, key: k}
	return func() tea.Msg { return openDetailMsg{p: d, queue: &k} }
}

func (d *queueDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *queueDetail) View() string { return d.show(d.lines()) }

func (d *queueDetail) lines() []string {
	e := d.e
	st := &e.st
	o := &doc{width: d.width}
	q := findQueue(e.snap, d.key)
	title := o.clean(d.key.Name) + o.paint(st.Detail.Label, " in vhost "+o.clean(d.key.VHost))
	if q == nil {
		o.add(o.paint(st.Detail.Title, title) + "  (gone from the latest snapshot)")
		return o.lines
	}
	role := q.Role
	if role == "" {
		role = "unrecognised"
	}
	o.add(o.paint(st.Detail.Title, title) + o.paint(st.Detail.Label, " · role "+o.clean(role)))
	o.add("messages " + format.Count(q.Messages) + " (ready " + format.Count(q.Ready) + ", unacked " + format.Count(q.Unacked) + ")" +
		" · growth " + format.Growth(q.GrowthPerMin) + "/min")
	o.add("consumers " + consumersText(q.Consumers) + consumersNote(q))
	if q.Rates != nil {
		r := q.Rates
		o.add("rates publish " + strconv.FormatFloat(r.Publish, 'f', 1, 64) + "/s · deliver " +
			strconv.FormatFloat(r.Deliver, 'f', 1, 64) + "/s · ack " + strconv.FormatFloat(r.Ack, 'f', 1, 64) + "/s")
	} else {
		o.add(o.paint(st.Detail.Label, "rates: asked the broker, waiting for the next poll"))
	}
	o.add("")
	o.add(o.paint(st.Detail.Section, "history") + o.paint(st.Detail.Label, " "+strconv.Itoa(q.History.Len())+" samples"+historySpan(q)+", one per poll; blank where polls failed"))
	if q.History.Len() == 0 {
		o.add("  no samples yet")
	} else {
		o.lines = append(o.lines, queueCharts(o, st, q, e.now, d.width, d.height)...)
	}
	if q.Host != "" {
		o.add("")
		o.add(o.paint(st.Detail.Section, "services on "+o.clean(q.Host)))
		for _, s := range servicesOnHost(e.snap, q.Host) {
			o.add("  " + padRight(o.clean(s.Key.Binary), 16) + " " + o.paint(condInk(st, s.Cond), condWord(s.Cond)))
		}
	}
	return o.lines
}

func historySpan(q *state.Queue) string {
	h := q.History
	if h.Len() < 2 {
		return ""
	}
	return " over " + format.Age(h.SampleAt(h.Len()-1).Sub(h.SampleAt(0)))
}

// consumersNote says what the consumer count means for a queue.
func consumersNote(q *state.Queue) string {
	switch {
	case q.Consumers < 0:
		return " (the broker did not say)"
	case q.Consumers == 0 && q.Messages > 0:
		return " · nobody is reading: the backlog can only grow"
	case q.Consumers == 0:
		return " · nobody is reading"
	}
	return ""
}

// queueCharts draws depth, unacked and consumers as braille charts over the
// same span, with their y labels aligned and one time axis under the last.
func queueCharts(o *doc, st *theme.Styles, q *state.Queue, now time.Time, width, height int) []string {
	h := q.History.Samples()
	at := func(i int) time.Time { return h[i].At }
	all := []struct {
		name string
		s    series
	}{
		{"depth", series{n: len(h), at: at, value: func(i int) float64 { return float64(h[i].Messages) }}},
		{"unacked", series{n: len(h), at: at, value: func(i int) float64 { return float64(h[i].Unacked) }}},
		{"consumers", series{n: len(h), at: at, value: func(i int) float64 { return float64(h[i].Consumers) }}},
	}
	// Three charts, each a title and its rows, and the axis: as tall as the body allows.
	rows := max(2, min(6, (height-6)/3-1))
	c := chart{rows: rows, t0: h[0].At, t1: now, label: func(v float64) string { return format.Count(int64(v)) }}
	if !c.t1.After(c.t0) {
		c.t1 = c.t0.Add(time.Second)
	}
	for _, x := range all {
		c.labelW = max(c.labelW, c.labelWidth(x.s))
	}
	c.cells = max(8, width-c.labelW-2)
	var out []string
	for _, x := range all {
		lo, hi := x.s.bounds()
		out = append(out, o.paint(st.Detail.Label, x.name+"  min "+format.Count(int64(lo))+" · max "+format.Count(int64(hi))+" · now "+format.Count(int64(x.s.value(x.s.n-1)))))
		out = append(out, c.lines(x.s)...)
	}
	return append(out, c.timeAxis())
}
