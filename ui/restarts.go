package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

type rOrderKey struct {
	snap     *state.Snapshot
	problems bool
	filter   string
}

// restartsPane is the restarts timeline, newest first.
type restartsPane struct {
	tablePane

	key    rOrderKey
	whereW int // widest where among the rows in order
	whatW  int // widest what
	evW    int // widest evidence

	jumped  time.Time // the last jump's time, shown until the cursor moves
	jumpHit bool      // whether an entry at or before it was found
	pending time.Time // replay: jump here again when the next snapshot arrives
}

// restartCols are sized to what is listed; the evidence takes what is left.
// Short of room, time, evidence and what go in that order.
var restartCols = []column{
	{title: "time", width: 8, drop: 3},
	{title: "ago", width: 7, right: true},
	{title: "kind", width: 9},
	{title: "where", width: 12, fit: true, max: 30},
	{title: "what", width: 8, fit: true, max: 24, drop: 1},
	{title: "evidence", width: 10, grow: 1, drop: 2},
}

// Indices of restartCols.
const (
	rColWhere    = 3
	rColWhat     = 4
	rColEvidence = 5
)

func newRestartsPane(e *env) *restartsPane {
	p := &restartsPane{}
	p.tablePane = tablePane{e: e, rows: p}
	return p
}

func (p *restartsPane) Title() string { return "Restarts" }

func (p *restartsPane) total() int { return len(p.e.snap.Restarts) }

func (p *restartsPane) Status() string {
	s := "newest first"
	if p.problems {
		s += " · not recoveries"
	}
	if !p.jumped.IsZero() {
		if p.jumpHit {
			s += " · at or before " + p.jumped.Format("15:04:05")
		} else {
			s += " · none before " + p.jumped.Format("15:04:05")
		}
	}
	return s
}

// ShortHelp adds the time jump to the table keys.
func (p *restartsPane) ShortHelp() []key.Binding {
	k := p.e.keys
	return []key.Binding{k.NextTab, k.Step, k.Down, k.Accept, k.Jump, k.Help, k.Quit, k.Filter, k.Problems, k.Verdict, k.Canary, k.Pause}
}

// jumpTo puts the cursor on the first entry (newest first) at or before t,
// or on the oldest when every entry is newer.
func (p *restartsPane) jumpTo(t time.Time) {
	p.sync()
	rs := p.e.snap.Restarts
	p.jumped, p.jumpHit = t, false
	for i, idx := range p.order {
		if !rs[idx].At.After(t) {
			p.list.cursor, p.jumpHit = i, true
			break
		}
	}
	if !p.jumpHit {
		p.list.cursor = len(p.order) - 1
	}
	// The entry goes to the top of the window, with what came after it above.
	p.list.offset = max(0, p.list.cursor-1)
	p.list.clamp(len(p.order))
}

// remember: a moved cursor is no longer at the jump.
func (p *restartsPane) remember() { p.jumped = time.Time{} }

func (p *restartsPane) open() tea.Cmd {
	if i := p.cursorRow(); i >= 0 {
		return openCmd(newRestartDetail(p.e, p.e.snap.Restarts[i]))
	}
	return nil
}

func (p *restartsPane) sync() {
	k := rOrderKey{snap: p.e.snap, problems: p.problems, filter: p.filter}
	if k == p.key && p.order != nil {
		return
	}
	newSnap := k.snap != p.key.snap
	p.key = k
	rs := p.e.snap.Restarts
	order := p.order[:0]
	for i := range rs {
		r := &rs[i]
		if p.problems && r.Kind == state.RestartRecovered {
			continue
		}
		if p.filter != "" && !containsFold(r.Where, p.filter) && !containsFold(r.What, p.filter) &&
			!containsFold(r.Evidence, p.filter) && !containsFold(kindWord(r.Kind), p.filter) {
			continue
		}
		order = append(order, int32(i))
	}
	p.order = order
	p.whereW, p.whatW, p.evW = 0, 0, 0
	for _, i := range order {
		r := &rs[i]
		p.whereW = max(p.whereW, textWidth(r.Where))
		p.whatW = max(p.whatW, textWidth(r.What))
		p.evW = max(p.evW, textWidth(r.Evidence))
	}
	p.list.clamp(len(order))
	if !p.pending.IsZero() && newSnap {
		t := p.pending
		p.pending = time.Time{}
		p.jumpTo(t)
	}
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

func (p *restartsPane) View() string {
	st := &p.e.st
	p.cols = append(p.cols[:0], restartCols...)
	p.cols[rColWhere].content = p.whereW
	p.cols[rColWhat].content = p.whatW
	p.cols[rColEvidence].max = max(p.cols[rColEvidence].width, p.evW)
	p.widths = layoutColumns(p.cols, p.width, p.widths)
	var b strings.Builder
	b.Grow((p.width + 64) * (p.list.height + 1))
	headerRow(&b, p.cols, p.widths, st)
	rs := p.e.snap.Restarts
	if len(p.order) == 0 {
		b.WriteString("\n  ")
		b.WriteString(emptyText(len(rs), "restarts"))
		return b.String()
	}
	lo, hi := p.list.window(len(p.order))
	for i := lo; i < hi; i++ {
		idx := int(p.order[i])
		if idx >= len(rs) {
			break
		}
		x := &rs[idx]
		b.WriteByte('\n')
		r := startRow(&b, p.widths, i == p.list.cursor, st)
		r.cell(x.At.Format("15:04:05"), false, theme.Ink{})
		r.cell(ageSince(p.e.now, x.At), true, st.Table.Dim)
		r.cell(kindWord(x.Kind), false, kindInk(st, x.Kind))
		r.cell(x.Where, false, theme.Ink{})
		r.cell(x.What, false, theme.Ink{})
		r.cell(x.Evidence, false, st.Table.Dim)
		r.end(st)
	}
	return b.String()
}
