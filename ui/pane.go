package ui

import (
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/state"
)

// pane is one screen area under the header: a tab or a drill-down, in the
// style of soft-serve's Component. Panes are pointers owned by the root model.
type pane interface {
	help.KeyMap
	Update(msg tea.Msg) (pane, tea.Cmd)
	View() string
	SetSize(width, height int)
}

// listPane is a tabular pane: filterable, sortable, with a cursor.
type listPane interface {
	pane
	SetFilter(lowered string)
	Matches() (shown, total int)
	Title() string
	Status() string     // sort and filter state for the tab line
	enter()             // the pane is shown again: the top of its sort unless the user moved lately
	refresh(shown bool) // the snapshot or clock changed: recompute the row order if it depends on them
}

// openDetailMsg asks the root to push a drill-down.
type openDetailMsg struct {
	p     pane
	queue *state.QueueKey // for a queue drill-down: the queue to fetch rates of
}

// listState is a cursor over n rows with a visible window of height rows.
type listState struct {
	cursor, offset, height int
}

// nav applies a navigation key; it reports whether the key was one.
func (l *listState) nav(msg tea.KeyPressMsg, k *KeyMap, n int) bool {
	page := max(1, l.height-1)
	switch {
	case key.Matches(msg, k.Up):
		l.cursor--
	case key.Matches(msg, k.Down):
		l.cursor++
	case key.Matches(msg, k.Home):
		l.cursor = 0
	case key.Matches(msg, k.End):
		l.cursor = n - 1
	case key.Matches(msg, k.PageUp):
		l.cursor -= page
	case key.Matches(msg, k.PageDown):
		l.cursor += page
	default:
		return false
	}
	l.clamp(n)
	return true
}

// clamp keeps the cursor on a row and the window around the cursor.
func (l *listState) clamp(n int) {
	l.cursor = max(0, min(l.cursor, n-1))
	h := max(1, l.height)
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+h {
		l.offset = l.cursor - h + 1
	}
	l.offset = max(0, min(l.offset, n-h))
}

// window is the range of rows to draw.
func (l *listState) window(n int) (lo, hi int) {
	lo = max(0, min(l.offset, n))
	hi = min(n, lo+max(0, l.height))
	return lo, hi
}

// tableKeys is the help shared by tabular panes.
func tableShortHelp(k *KeyMap) []key.Binding { return k.ShortHelp() }

func tableFullHelp(k *KeyMap) [][]key.Binding { return k.FullHelp() }

// tablePane is what the table panes share: their size, filter, problems
// toggle and sort mode, the cursor over their row order, and the keys that
// work the same in each. A pane embeds it and gives it its rows; it keeps
// only its columns, row order (sync), Status and View.
type tablePane struct {
	e        *env
	rows     tableRows
	list     listState
	width    int
	above    int // lines above the column titles
	below    int // lines under the rows (the timeline's preview)
	sort     int
	sorts    int // sort modes cycled by the sort key; 0 when the pane has no sort
	problems bool
	filter   string

	order  []int32 // snapshot indices of the rows shown, in order
	widths []int
	cols   []column

	// moved is when the user last moved the cursor in this pane (the
	// model's clock); zero when never.
	moved time.Time
}

// anchorHold is how long the cursor stays on the item the user moved it to
// while the pane's rows are re-sorted; after it, or when the item is gone,
// a re-sorted pane shows the top of its sort (the worst) again.
const anchorHold = time.Minute

// tableRows is the part of a table pane that differs: its rows. The cursor
// is anchored to an item by its key (remember, find), never to a row number.
type tableRows interface {
	pane
	sync()         // recompute the row order if anything it depends on changed
	total() int    // rows before filtering
	remember()     // note the key of the item under the cursor
	find() int     // where the remembered item is in the order; -1 when it is not
	open() tea.Cmd // enter on the current row; nil when there is nothing to open
}

// navigated is a table pane told that the user moved its cursor.
type navigated interface {
	navigated()
}

// held reports whether the user moved the cursor in this pane within anchorHold.
func (t *tablePane) held() bool {
	return !t.moved.IsZero() && t.e.now.Sub(t.moved) < anchorHold
}

// place puts the cursor back after the rows were re-sorted: on the item it
// was on, at the same line of the window, when the user moved it lately;
// else on the top row.
func (t *tablePane) place() {
	at := -1
	if t.held() {
		at = t.rows.find()
	}
	if at < 0 {
		t.list.cursor, t.list.offset = 0, 0
	} else {
		t.list.offset += at - t.list.cursor
		t.list.cursor = at
	}
	t.list.clamp(len(t.order))
	t.rows.remember()
}

// enter shows the top of the sort unless the user moved the cursor lately.
func (t *tablePane) enter() {
	t.rows.sync()
	if !t.held() {
		t.list.cursor, t.list.offset = 0, 0
		t.list.clamp(len(t.order))
		t.rows.remember()
	}
}

// userMoved records a cursor move by the user.
func (t *tablePane) userMoved() {
	t.moved = t.e.now
	t.rows.remember()
	if n, ok := t.rows.(navigated); ok {
		n.navigated()
	}
}

// extraKeys is a table pane with keys of its own, tried after the shared
// navigation and sort keys.
type extraKeys interface {
	extraKey(msg tea.KeyPressMsg) bool
}

func (t *tablePane) SetSize(w, h int) {
	t.width = w
	t.list.height = max(0, h-1-t.above-t.below) // column titles
	t.list.clamp(len(t.order))
}

func (t *tablePane) SetFilter(f string) { t.filter = f; t.rows.sync() }

// refresh recomputes the row order if anything it depends on changed, when
// the pane is shown or hides rows (its tab counts those it shows); a hidden
// pane showing every row waits until it is shown again (enter).
func (t *tablePane) refresh(shown bool) {
	if shown || t.filter != "" || t.problems {
		t.rows.sync()
	}
}

// Matches is how many rows the pane shows of how many there are; without
// a filter it shows them all, whether or not its order is made yet.
func (t *tablePane) Matches() (int, int) {
	if t.filter == "" && !t.problems {
		n := t.rows.total()
		return n, n
	}
	return len(t.order), t.rows.total()
}

func (t *tablePane) ShortHelp() []key.Binding  { return tableShortHelp(t.e.keys) }
func (t *tablePane) FullHelp() [][]key.Binding { return tableFullHelp(t.e.keys) }

// cursorRow is the snapshot index of the row under the cursor, or -1.
func (t *tablePane) cursorRow() int {
	if t.list.cursor < 0 || t.list.cursor >= len(t.order) {
		return -1
	}
	return int(t.order[t.list.cursor])
}

func (t *tablePane) Update(msg tea.Msg) (pane, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		k := t.e.keys
		x, _ := t.rows.(extraKeys)
		switch {
		case t.list.nav(msg, k, len(t.order)):
			t.userMoved()
		case t.sorts > 0 && key.Matches(msg, k.Sort):
			t.sort = (t.sort + 1) % t.sorts
			t.rows.sync()
		case x != nil && x.extraKey(msg):
		case key.Matches(msg, k.Problems):
			t.problems = !t.problems
			t.rows.sync()
		case key.Matches(msg, k.Accept):
			return t.rows, t.rows.open()
		}
	}
	return t.rows, nil
}

// openCmd asks the root to push d.
func openCmd(d pane) tea.Cmd { return func() tea.Msg { return openDetailMsg{p: d} } }
