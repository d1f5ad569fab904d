package ui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/state"
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
	o.add("messages " + fmtCount(q.Messages) + " (ready " + fmtCount(q.Ready) + ", unacked " + fmtCount(q.Unacked) + ")" +
		" · consumers " + consumersText(q.Consumers) + " · growth " + fmtGrowth(q.GrowthPerMin) + "/min")
	if q.Rates != nil {
		r := q.Rates
		o.add("rates publish " + strconv.FormatFloat(r.Publish, 'f', 1, 64) + "/s · deliver " +
			strconv.FormatFloat(r.Deliver, 'f', 1, 64) + "/s · ack " + strconv.FormatFloat(r.Ack, 'f', 1, 64) + "/s")
	} else {
		o.add(o.paint(st.Detail.Label, "rates: asked the broker, waiting for the next poll"))
	}
	o.add("")
	w := max(4, d.width-40)
	series := []struct {
		name string
		v    func(i int) int64
	}{
		{"depth", func(i int) int64 { return q.History[i].Messages }},
		{"unacked", func(i int) int64 { return q.History[i].Unacked }},
		{"consumers", func(i int) int64 { return int64(q.History[i].Consumers) }},
	}
	o.add(o.paint(st.Detail.Section, "history ("+strconv.Itoa(len(q.History))+" samples"+historySpan(q)+")"))
	for _, s := range series {
		var b strings.Builder
		b.WriteString(padRight(s.name, 10))
		sparkline(&b, len(q.History), w, s.v)
		if n := len(q.History); n > 0 {
			lo, hi := s.v(0), s.v(0)
			for i := 1; i < n; i++ {
				lo, hi = min(lo, s.v(i)), max(hi, s.v(i))
			}
			b.WriteString("  min " + fmtCount(lo) + " max " + fmtCount(hi) + " now " + fmtCount(s.v(n-1)))
		}
		o.add(b.String())
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
	if len(q.History) < 2 {
		return ""
	}
	return " over " + fmtAge(q.History[len(q.History)-1].At.Sub(q.History[0].At))
}
