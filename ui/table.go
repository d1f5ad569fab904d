package ui

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// column describes one table column. Widths are given in four steps: every
// column gets its least width (columns are dropped when even those do not
// fit), fit columns then grow to their widest value, share columns split what
// is left towards their widest values (the narrowest needs met first, the
// rest evenly), and what is still left goes to grow columns by weight.
type column struct {
	title   string
	width   int  // fixed width; for fit columns the most of their least width
	fit     bool // sized to content, the widest value in the rows (set by the pane when it orders them)
	share   bool // sized to content from the width left after fit columns, shared with the other share columns
	want    int  // share columns: a width to meet first, before any grows past it to its content (0: the content)
	content int
	grow    int // share of the width left over (0: none)
	max     int // fit and grow columns: the most they take (0: no bound)
	drop    int // when space is short, higher drops first; 0 last, from the right
	right   bool
}

// target is what a fit or share column would like: its widest value or title, within max.
func (c *column) target() int {
	t := max(c.content, textWidth(c.title), 1)
	if c.max > 0 {
		t = min(t, c.max)
	}
	return t
}

// least is the width a column gets before any growing.
func (c *column) least() int {
	if c.fit {
		return max(1, min(c.width, c.target()))
	}
	return max(1, c.width)
}

// markerWidth is the cursor marker in front of every row.
const markerWidth = 2

// layoutColumns assigns widths for a total width; dropped columns get width 0.
// It allocates nothing once widths has room for cols.
func layoutColumns(cols []column, total int, widths []int) []int {
	widths = widths[:0]
	avail := total - markerWidth
	used := -1 // no separator before the first column
	for i := range cols {
		w := cols[i].least()
		widths = append(widths, w)
		used += w + 1
	}
	for used > avail {
		i := nextToDrop(cols, widths)
		if i < 0 {
			break
		}
		used -= widths[i] + 1
		widths[i] = 0
	}
	spare := avail - used
	for i := range cols {
		if c := &cols[i]; c.fit && widths[i] > 0 && spare > 0 {
			add := min(spare, max(0, c.target()-widths[i]))
			widths[i] += add
			spare -= add
		}
	}
	spare = shareOut(cols, widths, spare)
	for spare > 0 {
		weight := 0
		for i := range cols {
			if c := &cols[i]; c.grow > 0 && widths[i] > 0 && (c.max == 0 || widths[i] < c.max) {
				weight += c.grow
			}
		}
		if weight == 0 {
			break
		}
		share := spare
		for i := range cols {
			c := &cols[i]
			if c.grow == 0 || widths[i] == 0 || (c.max > 0 && widths[i] >= c.max) || spare == 0 {
				continue
			}
			add := min(spare, max(1, share*c.grow/weight))
			if c.max > 0 {
				add = min(add, c.max-widths[i])
			}
			widths[i] += add
			spare -= add
		}
	}
	return widths
}

// shareOut gives share columns the spare width towards their wants, then
// towards their targets: each round splits it evenly among those still
// short, no column past its goal; it returns what is left.
func shareOut(cols []column, widths []int, spare int) int {
	goal := func(c *column) int {
		if c.want > 0 {
			return min(c.want, c.target())
		}
		return c.target()
	}
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			goal = (*column).target
		}
		for spare > 0 {
			short := 0
			for i := range cols {
				if cols[i].share && widths[i] > 0 && widths[i] < goal(&cols[i]) {
					short++
				}
			}
			if short == 0 {
				break
			}
			each := spare / short
			for i := range cols {
				c := &cols[i]
				if !c.share || widths[i] == 0 || widths[i] >= goal(c) || spare == 0 {
					continue
				}
				add := min(max(1, each), goal(c)-widths[i], spare)
				widths[i] += add
				spare -= add
			}
		}
	}
	return spare
}

// nextToDrop picks the shown column to give up: the highest drop, the
// rightmost among equals; the first column is never dropped.
func nextToDrop(cols []column, widths []int) int {
	best := -1
	for i := len(cols) - 1; i > 0; i-- {
		if widths[i] == 0 {
			continue
		}
		if best < 0 || cols[i].drop > cols[best].drop {
			best = i
		}
	}
	return best
}

// rowWriter writes one table row. Every cell text passes sanitize.Line, so
// nothing from outside reaches the terminal unfiltered.
type rowWriter struct {
	b      *strings.Builder
	widths []int
	i      int
	sel    bool
}

func startRow(b *strings.Builder, widths []int, selected bool, st *theme.Styles) rowWriter {
	if selected {
		b.WriteString(st.Table.Selected.Open())
		b.WriteString("▸ ")
	} else {
		b.WriteString("  ")
	}
	return rowWriter{b: b, widths: widths, sel: selected}
}

// cell writes the next column's text, sanitised, cut and padded to its width.
func (r *rowWriter) cell(s string, right bool, ink theme.Ink) {
	if r.i >= len(r.widths) {
		return
	}
	w := r.widths[r.i]
	r.i++
	if w == 0 {
		return
	}
	if r.i > 1 {
		r.b.WriteByte(' ')
	}
	s = sanitize.Line(s, w)
	pad := w - textWidth(s)
	if right {
		writeSpaces(r.b, pad)
	}
	if r.sel || ink.Plain() {
		r.b.WriteString(s)
	} else {
		ink.Paint(r.b, s)
	}
	if !right {
		writeSpaces(r.b, pad)
	}
}

// ownCell writes the next column's text when the UI made it from its own
// characters, each one cell wide (a sparkline): nothing from outside, so
// it is only cut and padded, not sanitised or measured grapheme by grapheme.
func (r *rowWriter) ownCell(s string, right bool, ink theme.Ink) {
	if r.i >= len(r.widths) {
		return
	}
	w := r.widths[r.i]
	n := utf8.RuneCountInString(s)
	if n > w {
		r.cell(s, right, ink) // cut as any cell is
		return
	}
	r.i++
	if w == 0 {
		return
	}
	if r.i > 1 {
		r.b.WriteByte(' ')
	}
	if right {
		writeSpaces(r.b, w-n)
	}
	if r.sel || ink.Plain() {
		r.b.WriteString(s)
	} else {
		ink.Paint(r.b, s)
	}
	if !right {
		writeSpaces(r.b, w-n)
	}
}

// end closes the row (and the selection ink).
func (r *rowWriter) end(st *theme.Styles) {
	if r.sel {
		r.b.WriteString(st.Table.Selected.Close())
	}
}

// headerRow writes the column titles.
func headerRow(b *strings.Builder, cols []column, widths []int, st *theme.Styles) {
	r := rowWriter{b: b, widths: widths}
	b.WriteString("  ")
	for _, c := range cols {
		r.cell(c.title, c.right, st.Table.Header)
	}
}

func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

const spaces = "                                                                                "

func writeSpaces(b *strings.Builder, n int) {
	for n > 0 {
		k := min(n, len(spaces))
		b.WriteString(spaces[:k])
		n -= k
	}
}
