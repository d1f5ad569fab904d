package ui

import (
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

// Queue sort modes, cycled by the sort key.
const (
	qSortMessages = iota
	qSortGrowth
	qSortUnacked
	qSortConsumers
	qSortName
	qSortModes
)

var qSortNames = [qSortModes]string{"messages", "growth", "unacked", "consumers", "name"}

// backlogThreshold is how many messages make a queue a problem.
const backlogThreshold = 10

// qSortKey is what the queues' sorted order depends on.
type qSortKey struct {
	queues sliceKey
	sort   int
}

// qOrderKey is what the rows shown depend on: the sorted order and the
// problems and text filters.
type qOrderKey struct {
	sorted   qSortKey
	problems bool
	filter   string
}

// queuesPane lists broker queues, biggest backlog first.
type queuesPane struct {
	tablePane

	snap   *state.Snapshot // the snapshot the rows were placed for
	sorted []int32         // every queue, in the sort's order
	rs     []ranked        // scratch for sorting, twice the queues
	sortK  qSortKey
	sorts  int // how many times the queues were sorted (tests count them)
	narrow narrowing
	key    qOrderKey
	sel    state.QueueKey
	widest qWidths // of the rows in order
	all    qWidths // of every queue
}

// queueCols are sized to the vhosts and names listed; the trend takes what
// is left, up to one cell per sample. Short of room, vhost, unacked, trend and
// grow/min go in that order.
var queueCols = []column{
	{title: "vhost", width: 5, fit: true, max: 14, drop: 5},
	{title: "queue", width: 20, fit: true, max: 64},
	{title: "messages", width: 8, right: true},
	{title: "grow/min", width: 8, right: true, drop: 2},
	{title: "unacked", width: 7, right: true, drop: 4},
	{title: "cons", width: 4, right: true},
	{title: "trend", width: 12, grow: 1, drop: 3},
}

// Indices of queueCols.
const (
	qColVHost = 0
	qColName  = 1
	qColTrend = 6
)

func newQueuesPane(e *env) *queuesPane {
	p := &queuesPane{}
	p.tablePane = tablePane{e: e, rows: p, sorts: qSortModes}
	return p
}

func (p *queuesPane) Title() string { return "Queues" }

func (p *queuesPane) total() int { return len(p.e.snap.Queues) }

func (p *queuesPane) Status() string {
	s := "sort: " + qSortNames[p.sort]
	if p.problems {
		s += " · problems only"
	}
	if f := p.e.figures().Queues; f.Known == state.KnownStale {
		s += " · STALE " + format.Age(f.Age(p.e.now)) + ": counts as of " + format.Clock(f.At)
	}
	return s
}

func (p *queuesPane) open() tea.Cmd {
	if q := p.current(); q != nil {
		return openQueueDetail(p.e, q.Key)
	}
	return nil
}

func (p *queuesPane) current() *state.Queue {
	if i := p.cursorRow(); i >= 0 {
		return &p.e.snap.Queues[i]
	}
	return nil
}

func (p *queuesPane) remember() {
	if q := p.current(); q != nil {
		p.sel = q.Key
	}
}

// queueProblem: a backlog, no consumers, or growing.
func queueProblem(q *state.Queue) bool {
	return q.Messages >= backlogThreshold || q.Consumers == 0 || q.GrowthPerMin > 0
}

// sync recomputes what changed: the sorted order when the queues (a new
// poll) or the sort changed, the rows shown when that order or a filter
// changed; a snapshot that changed no queue only puts the cursor back.
// A filter grown from the last one narrows the rows it matched (narrowing).
func (p *queuesPane) sync() {
	snap := p.e.snap
	sk := qSortKey{queues: keyOf(snap.Gen.Queues, snap.Queues), sort: p.sort}
	if sk != p.sortK || p.sorted == nil {
		p.sortK = sk
		p.sorted = p.sortQueues(p.sorted[:0])
		p.sorts++
	}
	k := qOrderKey{sorted: sk, problems: p.problems, filter: p.filter}
	if k == p.key && p.order != nil {
		if snap != p.snap {
			p.snap = snap
			p.place()
		}
		return
	}
	if k.sorted != p.key.sorted || k.problems != p.key.problems || p.order == nil {
		p.narrow.reset()
	}
	p.key, p.snap = k, snap
	qs := snap.Queues
	var match func(i int32) bool
	if p.problems || p.filter != "" {
		// Queues come by vhost: its match is the last one's while it is the same.
		lastVHost, vhostMatch := "", p.filter == ""
		match = func(i int32) bool {
			q := &qs[i]
			if p.problems && !queueProblem(q) {
				return false
			}
			if p.filter == "" || containsFold(q.Key.Name, p.filter) {
				return true
			}
			if q.Key.VHost != lastVHost {
				lastVHost, vhostMatch = q.Key.VHost, containsFold(q.Key.VHost, p.filter)
			}
			return vhostMatch
		}
	}
	order := p.narrow.rows(p.filter, p.sorted, match)
	p.order = order
	if len(order) == len(qs) {
		p.widest = p.all // every queue: measured while sorting
	} else {
		p.widest = qWidths{}
		for _, i := range order {
			p.widest.add(&qs[i])
		}
	}
	p.place()
}

// qWidths are the widest vhost and name and the longest history of some queues.
type qWidths struct {
	vhost, name, hist int
}

func (w *qWidths) add(q *state.Queue) {
	if widerText(q.Key.VHost, w.vhost) {
		w.vhost = textWidth(q.Key.VHost)
	}
	if widerText(q.Key.Name, w.name) {
		w.name = textWidth(q.Key.Name)
	}
	w.hist = max(w.hist, q.History.Len())
}

// sortQueues appends every queue's index to order in the sort's order: by
// name as they arrive (sorted by vhost, name), else by the sort's column,
// ties by name.
// It measures every queue too (p.all), while it reads them.
func (p *queuesPane) sortQueues(order []int32) []int32 {
	qs := p.e.snap.Queues
	p.all = qWidths{}
	if p.sort == qSortName {
		for i := range qs {
			order = append(order, int32(i))
			p.all.add(&qs[i])
		}
		return order
	}
	if cap(p.rs) < 2*len(qs) {
		p.rs = make([]ranked, 2*len(qs))
	}
	rs := p.rs[:len(qs)]
	for i := range qs {
		q := &qs[i]
		var k uint64
		switch p.sort {
		case qSortGrowth:
			k = desc(floatKey(q.GrowthPerMin))
		case qSortUnacked:
			k = desc(intKey(q.Unacked))
		case qSortConsumers:
			k = intKey(int64(consumersRank(q)))
		default:
			k = desc(intKey(q.Messages))
		}
		rs[i] = ranked{key: k, i: int32(i)}
		p.all.add(q)
	}
	for _, r := range sortRanked(rs, p.rs[len(qs):]) {
		order = append(order, r.i)
	}
	return order
}

// consumersRank sorts queues without consumers first and unknown counts last.
func consumersRank(q *state.Queue) int {
	if q.Consumers < 0 {
		return 1 << 30
	}
	return q.Consumers
}

// find is where the remembered queue is in the order, or -1.
func (p *queuesPane) find() int {
	qs := p.e.snap.Queues
	if c := p.list.cursor; c >= 0 && c < len(p.order) && qs[p.order[c]].Key == p.sel {
		return c
	}
	if i, ok := queueIndex(p.e.snap, p.sel); ok {
		// Found by its key in the snapshot: look for its index, not its key.
		return slices.Index(p.order, int32(i))
	}
	for i, idx := range p.order { // a snapshot not sorted by key (not from a Store)
		if qs[idx].Key == p.sel {
			return i
		}
	}
	return -1
}

func (p *queuesPane) View() string {
	st := &p.e.st
	p.cols = append(p.cols[:0], queueCols...)
	p.cols[qColVHost].content = p.widest.vhost
	p.cols[qColName].content = p.widest.name
	p.cols[qColTrend].max = max(p.cols[qColTrend].width, p.widest.hist)
	p.widths = layoutColumns(p.cols, p.width, p.widths)
	var b strings.Builder
	b.Grow((p.width + 64) * (p.list.height + 1))
	headerRow(&b, p.cols, p.widths, st)
	qs := p.e.snap.Queues
	if len(p.order) == 0 {
		b.WriteString("\n  ")
		b.WriteString(emptyText(len(qs), "queues"))
		return b.String()
	}
	lo, hi := p.list.window(len(p.order))
	var spark strings.Builder
	for i := lo; i < hi; i++ {
		idx := int(p.order[i])
		if idx >= len(qs) {
			break
		}
		q := &qs[idx]
		b.WriteByte('\n')
		r := startRow(&b, p.widths, i == p.list.cursor, st)
		r.cell(q.Key.VHost, false, st.Table.Dim)
		r.cell(q.Key.Name, false, theme.Ink{})
		r.cell(format.Count(q.Messages), true, inkIf(q.Messages >= backlogThreshold, st.Table.Warn))
		if q.Messages < 0 {
			r.cell("?", true, st.Table.Dim) // no depth, no growth
		} else {
			r.cell(format.Growth(q.GrowthPerMin), true, inkIf(q.GrowthPerMin > 0, st.Table.Warn))
		}
		r.cell(format.Count(q.Unacked), true, theme.Ink{})
		r.cell(consumersText(q.Consumers), true, inkIf(q.Consumers == 0, st.Table.Bad))
		spark.Reset()
		sparkline(&spark, q.History.Len(), p.widths[qColTrend], q.History.Messages)
		r.ownCell(spark.String(), true, st.Table.Dim) // right-aligned: the newest sample of every row in one column
		r.end(st)
	}
	return b.String()
}

func consumersText(n int) string {
	if n < 0 {
		return "?"
	}
	return strconv.Itoa(n)
}

func inkIf(ok bool, ink theme.Ink) theme.Ink {
	if ok {
		return ink
	}
	return theme.Ink{}
}
