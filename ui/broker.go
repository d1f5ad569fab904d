package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// Broker sort modes, cycled by the sort key.
const (
	bSortName = iota
	bSortTrouble
	bSortModes
)

var bSortNames = [bSortModes]string{"name", "trouble"}

type bOrderKey struct {
	snap     *state.Snapshot
	sort     int
	problems bool
	filter   string
}

// brokerPane is the broker: the cluster overview on two lines, then one row
// per node with its gauges, alarms and partitions; enter drills into a node.
type brokerPane struct {
	tablePane

	key   bOrderKey
	sel   string
	nameW int
}

// overviewLines is how many lines the cluster overview takes above the table.
const overviewLines = 2

// brokerCols: gauges are percentages of their limits ("?" when the broker
// did not say, as with the management metrics collector off). Short of room,
// procs, restarts, disk and sockets go in that order.
var brokerCols = []column{
	{title: "node", width: 12, fit: true, max: 32},
	{title: "state", width: 5},
	{title: "mem", width: 4, right: true},
	{title: "fd", width: 4, right: true},
	{title: "sock", width: 4, right: true, drop: 2},
	{title: "proc", width: 4, right: true, drop: 5},
	{title: "disk free/lim", width: 13, right: true, drop: 3},
	{title: "uptime", width: 6, right: true},
	{title: "rst", width: 3, right: true, drop: 4},
	{title: "alarms", width: 8},
	{title: "partitions", width: 10, grow: 1, drop: 1},
}

const bColName = 0

func newBrokerPane(e *env) *brokerPane {
	p := &brokerPane{}
	p.tablePane = tablePane{e: e, rows: p, sorts: bSortModes, above: overviewLines}
	return p
}

func (p *brokerPane) Title() string { return "Broker" }

func (p *brokerPane) total() int { return len(p.e.snap.Nodes) }

func (p *brokerPane) Status() string {
	s := "sort: " + bSortNames[p.sort]
	if p.problems {
		s += " · problems only"
	}
	return s
}

func (p *brokerPane) open() tea.Cmd {
	if n := p.current(); n != nil {
		return openCmd(newNodeDetail(p.e, n.Name))
	}
	return nil
}

func (p *brokerPane) current() *state.Node {
	if i := p.cursorRow(); i >= 0 {
		return &p.e.snap.Nodes[i]
	}
	return nil
}

func (p *brokerPane) remember() {
	if n := p.current(); n != nil {
		p.sel = n.Name
	}
}

func (p *brokerPane) sync() {
	k := bOrderKey{snap: p.e.snap, sort: p.sort, problems: p.problems, filter: p.filter}
	if k == p.key && p.order != nil {
		return
	}
	p.key = k
	ns := p.e.snap.Nodes
	order := p.order[:0]
	for i := range ns {
		n := &ns[i]
		if p.problems && nodeTrouble(n) == 0 {
			continue
		}
		if p.filter != "" && !containsFold(n.Name, p.filter) {
			continue
		}
		order = append(order, int32(i))
	}
	if p.sort == bSortTrouble {
		slices.SortStableFunc(order, func(x, y int32) int { return cmp.Compare(nodeTrouble(&ns[y]), nodeTrouble(&ns[x])) })
	}
	p.order = order
	p.nameW = 0
	for _, i := range order {
		p.nameW = max(p.nameW, textWidth(ns[i].Name))
	}
	p.place()
}

// find is where the remembered node is in the order, or -1.
func (p *brokerPane) find() int {
	ns := p.e.snap.Nodes
	for i, idx := range p.order {
		if ns[idx].Name == p.sel {
			return i
		}
	}
	return -1
}

// nodeTrouble ranks how worrying a node looks; 0 means nothing to see.
func nodeTrouble(n *state.Node) int {
	v := 0
	if !n.Running {
		v += 1000
	}
	if n.MemAlarm || n.DiskAlarm {
		v += 500
	}
	v += 300 * len(n.Partitions)
	if f, ok := gaugeFrac(n.FDUsed, n.FDTotal); ok && f >= 0.8 {
		v += 100
	}
	if f, ok := gaugeFrac(n.MemUsed, n.MemLimit); ok && f >= 0.8 {
		v += 100
	}
	if f, ok := gaugeFrac(n.SocketsUsed, n.SocketsTotal); ok && f >= 0.8 {
		v += 100
	}
	return v
}

func (p *brokerPane) View() string {
	st := &p.e.st
	var b strings.Builder
	b.Grow((p.width + 64) * (p.list.height + 1 + overviewLines))
	fig := p.e.figures()
	if u, ok := p.e.unconfigured(sources.NameRabbitMQ); ok && fig.Nodes.Known == state.KnownNot {
		b.WriteString("  ")
		st.Table.Warn.Paint(&b, "broker: not configured ("+u.How+")")
		b.WriteString("\n\n")
	} else {
		overview(&b, p.e.snap, fig, p.e.now, st)
		b.WriteByte('\n')
	}
	p.cols = append(p.cols[:0], brokerCols...)
	p.cols[bColName].content = p.nameW
	p.widths = layoutColumns(p.cols, p.width, p.widths)
	headerRow(&b, p.cols, p.widths, st)
	ns := p.e.snap.Nodes
	if len(p.order) == 0 {
		b.WriteString("\n  ")
		switch {
		case len(ns) == 0 && fig.Nodes.Known == state.KnownNot && p.e.hasUnconfigured(sources.NameRabbitMQ):
			b.WriteString("no broker nodes: the broker is not configured")
		case len(ns) == 0 && fig.Nodes.Known == state.KnownNot:
			b.WriteString("no broker nodes read yet")
		default:
			b.WriteString(emptyText(len(ns), "broker nodes"))
		}
		return b.String()
	}
	lo, hi := p.list.window(len(p.order))
	for i := lo; i < hi; i++ {
		n := &ns[p.order[i]]
		b.WriteByte('\n')
		r := startRow(&b, p.widths, i == p.list.cursor, st)
		r.cell(n.Name, false, theme.Ink{})
		// A stale node list: what may have changed since (running,
		// uptime, partitions) is unknown; the gauges are the last read,
		// as of the time the overview line gives.
		stale := fig.Nodes.Known != state.KnownNow
		switch {
		case stale:
			r.cell("?", false, st.Table.Dim)
		case n.Running:
			r.cell("up", false, st.Status.Up)
		default:
			r.cell("DOWN", false, st.Status.Down)
		}
		cellPct := func(used, total int64, alarm bool) {
			t, ink := pctCell(used, total, alarm, st)
			r.cell(t, true, ink)
		}
		cellPct(n.MemUsed, n.MemLimit, n.MemAlarm)
		cellPct(n.FDUsed, n.FDTotal, false)
		cellPct(n.SocketsUsed, n.SocketsTotal, false)
		cellPct(n.ProcUsed, n.ProcTotal, false)
		t, ink := diskCell(&n.Node, st)
		r.cell(t, true, ink)
		if stale {
			r.cell("?", true, st.Table.Dim)
		} else {
			r.cell(uptimeText(n.Uptime), true, inkIf(n.Restarts > 0, st.Table.Warn))
		}
		r.cell(strconv.Itoa(n.Restarts), true, inkIf(n.Restarts > 0, st.Table.Warn))
		t, bad := nodeAlarmCell(fig.Alarms, n.Name)
		r.cell(t, false, inkIf(bad, st.Table.Bad))
		if stale {
			r.cell("?", false, st.Table.Dim)
		} else {
			r.cell(partitionsText(n.Partitions), false, inkIf(len(n.Partitions) > 0, st.Table.Bad))
		}
		r.end(st)
	}
	return b.String()
}

// overview writes the cluster's names and totals on overviewLines lines;
// stale, it says so first, with the age and the time its figures describe.
func overview(b *strings.Builder, s *state.Snapshot, fig state.Figures, now time.Time, st *theme.Styles) {
	o := s.Overview
	if o == nil {
		b.WriteString("  ")
		st.Table.Dim.Paint(b, "no overview from the broker yet")
		b.WriteByte('\n')
		return
	}
	b.WriteString("  ")
	f := fig.Overview
	if n := fig.Nodes; n.Known == state.KnownStale && (f.Known != state.KnownStale || n.At.Before(f.At)) {
		f = n
	}
	if f.Known == state.KnownStale {
		st.Header.Stale.Paint(b, "STALE "+format.Age(f.Age(now))+": figures as of "+format.Clock(f.At))
		b.WriteString(" ")
	}
	st.Detail.Title.Paint(b, sanitize.Line(orDash(o.ClusterName), 40))
	st.Table.Dim.Paint(b, overviewVersions(o))
	b.WriteString("\n  ")
	b.WriteString(overviewTotals(o))
}

// overviewVersions is " · RabbitMQ x · Erlang y · metrics via z", what is known of it.
func overviewVersions(o *sources.Overview) string {
	s := ""
	if o.RabbitVersion != "" {
		s += " · RabbitMQ " + sanitize.Line(o.RabbitVersion, 24)
	}
	if o.ErlangVersion != "" {
		s += " · Erlang " + sanitize.Line(o.ErlangVersion, 24)
	}
	if o.Via != "" {
		s += " · metrics via " + sanitize.Line(o.Via, 16)
	}
	return s
}

func overviewTotals(o *sources.Overview) string {
	n := func(v int) string { return format.Count(int64(v)) }
	return "queues " + n(o.Queues) + " · conn " + n(o.Connections) +
		" · chan " + n(o.Channels) + " · consumers " + n(o.Consumers) +
		" · ready " + format.Count(o.MessagesReady) + " · unacked " + format.Count(o.MessagesUnacked)
}

// gaugeFrac is used/total, false when the broker did not say (-1) or there is no limit.
func gaugeFrac(used, total int64) (float64, bool) {
	if used < 0 || total <= 0 {
		return 0, false
	}
	return float64(used) / float64(total), true
}

// pctCell is a gauge as a percentage of its limit: "?" when unknown, warn
// from 80 %, bad from 95 % or with an alarm.
func pctCell(used, total int64, alarm bool, st *theme.Styles) (string, theme.Ink) {
	f, ok := gaugeFrac(used, total)
	if !ok {
		if alarm {
			return "ALARM", st.Table.Bad
		}
		return "?", st.Table.Dim
	}
	t := format.Percent(100 * f)
	if used > 0 && t == "0%" {
		t = "<1%"
	}
	switch {
	case alarm || f >= 0.95:
		return t, st.Table.Bad
	case f >= 0.8:
		return t, st.Table.Warn
	}
	return t, theme.Ink{}
}

// diskCell is free disk against its limit: "40G/50M".
func diskCell(n *sources.Node, st *theme.Styles) (string, theme.Ink) {
	if n.DiskFree < 0 {
		if n.DiskAlarm {
			return "ALARM", st.Table.Bad
		}
		return "?", st.Table.Dim
	}
	t := format.Bytes(n.DiskFree)
	if n.DiskFreeLimit >= 0 {
		t += "/" + format.Bytes(n.DiskFreeLimit)
	}
	switch {
	case n.DiskAlarm || n.DiskFreeLimit > 0 && n.DiskFree <= n.DiskFreeLimit:
		return t, st.Table.Bad
	case n.DiskFreeLimit > 0 && n.DiskFree < 2*n.DiskFreeLimit:
		return t, st.Table.Warn
	}
	return t, theme.Ink{}
}

// uptimeText is an uptime, "?" when the broker did not say (-1).
func uptimeText(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return format.Age(d)
}

// alarmsText names the node's alarms, none when there are none.
func alarmsText(n *sources.Node, none string) string {
	switch {
	case n.MemAlarm && n.DiskAlarm:
		return "MEM DISK"
	case n.MemAlarm:
		return "MEM"
	case n.DiskAlarm:
		return "DISK"
	}
	return none
}

// partitionsText is "0", or the count and the nodes it cannot see.
func partitionsText(ps []string) string {
	if len(ps) == 0 {
		return "0"
	}
	return strconv.Itoa(len(ps)) + " " + strings.Join(ps, ",")
}

// nodeAlarmCell is the node's alarms as state judges them from every
// path: "MEM", "MEM DISK", "MEM?" (a canary was blocked for memory and no
// node list says on which node), "—" when none; stale, the last known
// with "?", and "?" when nothing is known. bad says an alarm may be raised.
func nodeAlarmCell(a state.AlarmFigure, node string) (string, bool) {
	if a.Known == state.KnownNot {
		return "?", false
	}
	kinds, anyNode := a.OnNode(node)
	var words []string
	for _, k := range kinds {
		words = append(words, alarmWord(k))
	}
	for _, k := range anyNode {
		words = append(words, alarmWord(k)+"?")
	}
	switch {
	case a.Known == state.KnownStale && len(words) == 0:
		return "?", false
	case a.Known == state.KnownStale:
		return strings.Join(words, " ") + " ?", true
	case len(words) == 0 && len(a.Undecided) > 0:
		return "?", false // no current path speaks of every kind
	case len(words) == 0:
		return "—", false
	}
	return strings.Join(words, " "), true
}

func alarmWord(kind string) string {
	switch kind {
	case "memory":
		return "MEM"
	case "disk":
		return "DISK"
	}
	return "ALARM"
}
