package ui

import (
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
	Status() string // sort and filter state for the tab line
}

// refreshMsg tells panes the snapshot or clock changed; they recompute their
// row order if anything it depends on changed.
type refreshMsg struct{}

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
