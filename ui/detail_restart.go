package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

// restartDetail is the drill-down of one restart: its evidence and what else
// restarted within a minute of it.
type restartDetail struct {
	scroller
	r state.Restart
}

func newRestartDetail(e *env, r state.Restart) *restartDetail {
	return &restartDetail{scroller: scroller{e: e}, r: r}
}

func (d *restartDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *restartDetail) View() string { return d.show(d.lines()) }

func (d *restartDetail) lines() []string {
	e := d.e
	st := &e.st
	o := &doc{width: d.width}
	r := d.r
	o.add(o.paint(st.Detail.Title, kindWord(r.Kind)+": "+o.clean(r.What)+" on "+o.clean(r.Where)) +
		o.paint(st.Detail.Label, " at "+format.Clock(r.At)+" ("+format.AgeSince(e.now, r.At)+" ago) · seen by "+o.clean(r.Source)))
	o.add("")
	o.add(o.paint(st.Detail.Section, "evidence"))
	o.wrap("  ", r.Evidence)
	o.add("")
	o.add(o.paint(st.Detail.Section, "other restarts within ±1m"))
	n := 0
	for _, x := range e.snap.Restarts {
		if x == r || x.At.Sub(r.At).Abs() > time.Minute {
			continue
		}
		n++
		o.add("  " + format.Clock(x.At) + " " + padRight(kindWord(x.Kind), 9) + " " + o.clean(x.Where) + " " + o.clean(x.What) +
			o.paint(st.Table.Dim, "  "+o.clean(x.Evidence)))
	}
	if n == 0 {
		o.add("  none")
	}
	return o.lines
}

func kindWord(k state.RestartKind) string {
	switch k {
	case state.RestartProcess:
		return "process"
	case state.RestartHost:
		return "reboot"
	case state.RestartBrokerNode:
		return "broker"
	case state.RestartRecovered:
		return "recovered"
	}
	return "?"
}

func kindInk(st *theme.Styles, k state.RestartKind) theme.Ink {
	switch k {
	case state.RestartBrokerNode, state.RestartHost:
		return st.Table.Bad
	case state.RestartProcess:
		return st.Table.Warn
	}
	return st.Status.Up
}
