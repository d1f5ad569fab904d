package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// column describes one table column; flex columns share what is left.
type column struct {
	title string
	width int // fixed width, or the minimum for flex columns
	max   int // flex only: the most it grows to (0: unbounded)
	flex  bool
	right bool
}

// markerWidth is the cursor marker in front of every row.
const markerWidth = 2

// layoutColumns assigns widths for a total width; columns that do not fit
// are dropped from the right (width 0).
func layoutColumns(cols []column, total int, widths []int) []int {
	widths = widths[:0]
	avail := total - markerWidth
	used, nflex := 0, 0
	for _, c := range cols {
		need := c.width
		if len(widths) > 0 {
			need++ // separator
		}
		if used+need > avail {
			widths = append(widths, 0)
			continue
		}
		used += need
		widths = append(widths, c.width)
		if c.flex {
			nflex++
		}
	}
	spare := avail - used
	for i, c := range cols {
		if !c.flex || widths[i] == 0 || nflex == 0 {
			continue
		}
		add := spare / nflex
		if c.max > 0 && widths[i]+add > c.max {
			add = max(0, c.max-widths[i])
		}
		widths[i] += add
		spare -= add
		nflex--
	}
	return widths
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
