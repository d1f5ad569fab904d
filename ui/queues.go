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

// defaultAsyncQueues is how many queues make the queues pane sort and
// filter them off the UI goroutine: past the scale model's 20,000, whose
// sort costs a few milliseconds and is shown at once.
const defaultAsyncQueues = 50_000

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

	snap    *state.Snapshot // the snapshot the rows were placed for: their queues are read from it
	sorted  []int32         // every queue, in the sort's order
	rs      []ranked        // scratch for sorting, twice the queues
	sortK   qSortKey
	sorts   int // how many times the queues were sorted (tests count them)
	narrow  narrowing
	narrowK qOrderKey // the sorted order and problems filter narrow's steps are of (no text)
	key     qOrderKey // what the rows shown are of
	want    qOrderKey // what they should be of: key, or what a command computes
	busy    bool      // a command computes rows
	cmd     tea.Cmd   // a command to start (takeCmd)
	sel     state.QueueKey
	widest  qWidths // of the rows in order
	all     qWidths // of every queue
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
	if p.want != p.key {
		s += sortingNote
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
		return &p.snap.Queues[i]
	}
	return nil
}

func (p *queuesPane) remember() {
	if q := p.current(); q != nil {
		p.sel = q.Key
	}
}

// sync recomputes what changed: the sorted order when the queues (a new
// poll) or the sort changed, the rows shown when that order or a filter
// changed; a snapshot that changed no queue only puts the cursor back.
// A filter grown from the last one narrows the rows it matched (narrowing).
// Past e.asyncQueues queues, a pane that has rows already leaves that work
// to a command (p.cmd, see qOrderJob) and shows its rows of the snapshot
// they were made from, marked as sorting, until the result comes.
func (p *queuesPane) sync() {
	snap := p.e.snap
	k := qOrderKey{sorted: qSortKey{queues: keyOf(snap.Gen.Queues, snap.Queues), sort: p.sort}, problems: p.problems, filter: p.filter}
	if k == p.key && p.order != nil {
		p.want = k
		if snap != p.snap {
			p.snap = snap
			p.place()
		}
		return
	}
	if p.order != nil && len(snap.Queues) > p.e.asyncQueues {
		p.want = k
		if !p.busy {
			p.busy = true
			job := p.job(k, snap, nil)
			p.cmd = func() tea.Msg { return job.run(nil, nil) }
		}
		return
	}
	var dst []int32
	if !p.busy { // else a command may read p.sorted
		dst = p.sorted[:0]
	}
	if cap(p.narrow.keep) < len(snap.Queues) {
		p.narrow.keep = make([]bool, len(snap.Queues))
	}
	if cap(p.rs) < 2*len(snap.Queues) {
		p.rs = make([]ranked, 2*len(snap.Queues))
	}
	p.apply(p.job(k, snap, dst).run(p.rs, p.narrow.keep))
}

// job is what computing the rows of k from snap needs: the sorted order
// made already when k's is the one the pane holds (else sorted into dst),
// and the rows a filter k's extends matched.
func (p *queuesPane) job(k qOrderKey, snap *state.Snapshot, dst []int32) qOrderJob {
	j := qOrderJob{key: k, snap: snap, dst: dst}
	if k.sorted == p.sortK && p.sorted != nil {
		j.sorted, j.all = p.sorted, p.all
	}
	if nk := (qOrderKey{sorted: k.sorted, problems: k.problems}); nk != p.narrowK {
		p.narrow.reset()
		p.narrowK = nk
	}
	j.from, j.whole, j.done = p.narrow.base(k.filter, j.sorted)
	return j
}

// apply shows the rows a job computed.
func (p *queuesPane) apply(r qOrderMsg) {
	if r.sorts {
		p.sorts++
	}
	p.sortK, p.sorted, p.all = r.key.sorted, r.sorted, r.all
	if (qOrderKey{sorted: r.key.sorted, problems: r.key.problems}) == p.narrowK && !r.cached {
		p.narrow.push(r.key.filter, r.order)
	}
	p.key, p.want, p.snap = r.key, r.key, r.snap
	p.order, p.widest = r.order, r.widest
	p.place()
}

// receive takes a job's result made off the UI goroutine: shown when it is
// of what the pane should show now (the same queues, sort and filters),
// else dropped, and the rows of what it should show asked for again.
func (p *queuesPane) receive(r qOrderMsg) {
	p.busy = false
	if r.key == p.want && r.key.sorted.queues == keyOf(p.e.snap.Gen.Queues, p.e.snap.Queues) {
		r.snap = p.e.snap // the same queues; the rest of the snapshot may be newer
		p.apply(r)
		return
	}
	p.sync()
}

// takeCmd returns the command computing the rows, if one is to start, once.
func (p *queuesPane) takeCmd() tea.Cmd {
	c := p.cmd
	p.cmd = nil
	return c
}

// sortingNote is the tab line's note while the rows shown are not yet of
// the latest queues, sort or filter.
const sortingNote = " · sorting…"

// qOrderJob computes the queues' rows of key from snap: a pure function of
// its fields, which are never written (the snapshot is immutable, the
// orders shared with the pane are not written after they are made), so it
// runs on the UI goroutine or off it alike.
type qOrderJob struct {
	key    qOrderKey
	snap   *state.Snapshot
	dst    []int32 // where to sort into, when sorted is nil
	sorted []int32 // the order of key.sorted, if made; nil to sort
	all    qWidths // with sorted
	from   []int32 // the rows to filter (narrowing.base); nil with sorted nil
	whole  bool    // from is the whole sorted order
	done   bool    // from is the rows of key already
}

// qOrderMsg is a qOrderJob's result.
type qOrderMsg struct {
	key    qOrderKey
	snap   *state.Snapshot
	sorted []int32
	all    qWidths
	sorts  bool // whether it sorted
	order  []int32
	cached bool // order was kept from before (narrowing)
	widest qWidths
}

// run computes the rows; rs and keep are scratch (nil: allocated).
func (j qOrderJob) run(rs []ranked, keep []bool) qOrderMsg {
	qs := j.snap.Queues
	r := qOrderMsg{key: j.key, snap: j.snap, sorted: j.sorted, all: j.all, order: j.from, cached: j.done}
	if r.sorted == nil {
		r.sorted, r.all = sortedQueues(qs, j.key.sorted.sort, j.dst, rs)
		r.sorts = true
		r.order, r.cached, j.whole = r.sorted, false, true
	}
	if !r.cached {
		var match func(i int32) bool
		problems, filter := j.key.problems, j.key.filter
		if problems || filter != "" {
			// Queues come by vhost: its match is the last one's while it is the same.
			lastVHost, vhostMatch := "", filter == ""
			match = func(i int32) bool {
				q := &qs[i]
				if problems && !q.Problem() {
					return false
				}
				if filter == "" || containsFold(q.Key.Name, filter) {
					return true
				}
				if q.Key.VHost != lastVHost {
					lastVHost, vhostMatch = q.Key.VHost, containsFold(q.Key.VHost, filter)
				}
				return vhostMatch
			}
		}
		if j.whole && match != nil && cap(keep) < len(r.order) {
			keep = make([]bool, len(r.order))
		}
		r.order = filterRows(r.order, j.whole, match, keep)
	}
	if len(r.order) == len(qs) {
		r.widest = r.all // every queue: measured while sorting
	} else {
		for _, i := range r.order {
			r.widest.add(&qs[i])
		}
	}
	return r
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

// sortedQueues appends every queue's index to order in the sort's order: by
// name as they arrive (sorted by vhost, name), else by the sort's column,
// ties by name. It measures every queue too, while it reads them. rs is
// scratch of twice the queues (nil or short: allocated).
func sortedQueues(qs []state.Queue, sort int, order []int32, rs []ranked) ([]int32, qWidths) {
	var all qWidths
	if sort == qSortName {
		for i := range qs {
			order = append(order, int32(i))
			all.add(&qs[i])
		}
		return order, all
	}
	if cap(rs) < 2*len(qs) {
		rs = make([]ranked, 2*len(qs))
	}
	tmp := rs[len(qs) : 2*len(qs)]
	rs = rs[:len(qs)]
	for i := range qs {
		q := &qs[i]
		var k uint64
		switch sort {
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
		all.add(q)
	}
	for _, r := range sortRanked(rs, tmp) {
		order = append(order, r.i)
	}
	return order, all
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
	qs := p.snap.Queues
	if c := p.list.cursor; c >= 0 && c < len(p.order) && qs[p.order[c]].Key == p.sel {
		return c
	}
	if i, ok := queueIndex(p.snap, p.sel); ok {
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
	if p.snap != nil {
		qs = p.snap.Queues // the rows' snapshot: the screen's, unless a newer one is being sorted
	}
	if len(p.order) == 0 {
		b.WriteString("\n  ")
		switch {
		case len(qs) > 0:
			b.WriteString(emptyText(len(qs), "queues"))
		case p.e.figures().Queues.Known == state.KnownNot:
			b.WriteString("no queue list yet")
		default:
			b.WriteString("the broker lists no queues")
		}
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
		r.cell(format.Count(q.Messages), true, inkIf(q.Backlogged(), st.Table.Warn))
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
