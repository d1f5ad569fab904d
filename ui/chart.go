package ui

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/format"
)

// Braille charts: each terminal cell holds 2×4 dots, so a chart w cells wide
// and r rows high plots 2w points on 4r levels. A point is drawn as a column
// filled from the bottom (an area chart): its height reads at a glance and a
// point at the minimum still shows one dot, so "no data" (an empty column)
// stays distinct from "lowest value".

// brailleBase is the empty braille cell; dot bits are added to it.
const brailleBase = 0x2800

// brailleDot[c][r] is the bit of the dot in column c (0 left) and row r (0 top).
var brailleDot = [2][4]rune{
	{0x01, 0x02, 0x04, 0x40},
	{0x08, 0x10, 0x20, 0x80},
}

// brailleRows draws vals, one value per dot column (NaN: no data), as rows
// lines of braille cells; lo and hi are the values of the lowest and the
// highest dot level. When hi <= lo every value sits on the lowest level.
func brailleRows(vals []float64, rows int, lo, hi float64) []string {
	if rows <= 0 {
		return nil
	}
	cells := (len(vals) + 1) / 2
	levels := rows * 4
	heights := make([]int, len(vals))
	for i, v := range vals {
		heights[i] = dotHeight(v, lo, hi, levels)
	}
	out := make([]string, rows)
	var b strings.Builder
	for row := range rows {
		b.Reset()
		b.Grow(cells * 3)
		for c := range cells {
			r := rune(brailleBase)
			for dc := range 2 {
				i := 2*c + dc
				if i >= len(vals) {
					break
				}
				for dr := range 4 {
					// Dot levels count from the bottom: level 1 is the last dot row.
					level := levels - (row*4 + dr)
					if level <= heights[i] {
						r |= brailleDot[dc][dr]
					}
				}
			}
			b.WriteRune(r)
		}
		out[row] = b.String()
	}
	return out
}

// dotHeight is how many dot levels (of levels) value v fills: 0 for no data,
// at least 1 for any value.
func dotHeight(v, lo, hi float64, levels int) int {
	if math.IsNaN(v) {
		return 0
	}
	if hi <= lo {
		return 1
	}
	f := (v - lo) / (hi - lo)
	h := 1 + int(math.Round(f*float64(levels-1)))
	return max(1, min(levels, h))
}

// series is a time series read through functions, so that callers need not
// copy their samples.
type series struct {
	n     int
	at    func(i int) time.Time
	value func(i int) float64
	hold  func(i int) time.Duration // optional: how long sample i stays current beyond the usual gap (a probe, while it waited)
}

// bin spreads a series over cols dot columns covering [t0, t1]: each column
// takes the largest sample in its slice of time; a column without a sample
// carries the previous sample forward unless that one is older than maxGap,
// so a pause in polling shows as a blank stretch. It returns nil when cols <= 0.
func (s series) bin(cols int, t0, t1 time.Time, maxGap time.Duration) []float64 {
	if cols <= 0 {
		return nil
	}
	out := make([]float64, cols)
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Nanosecond
	}
	i := 0
	prev, havePrev := 0.0, false
	var prevAt time.Time
	var prevHold time.Duration
	for c := range cols {
		end := t0.Add(time.Duration(float64(span) * float64(c+1) / float64(cols)))
		start := t0.Add(time.Duration(float64(span) * float64(c) / float64(cols)))
		v, got := math.Inf(-1), false
		for i < s.n && (c == cols-1 || s.at(i).Before(end)) {
			x := s.value(i)
			v, got = max(v, x), true
			prev, prevAt, havePrev = x, s.at(i), true
			if s.hold != nil {
				prevHold = s.hold(i)
			}
			i++
		}
		switch {
		case got:
			out[c] = v
		case havePrev && (maxGap <= 0 || start.Sub(prevAt) <= maxGap+prevHold):
			out[c] = prev
		default:
			out[c] = math.NaN()
		}
	}
	return out
}

// usualGap is the typical time between samples (their median spacing), 0
// when there are fewer than two.
func (s series) usualGap() time.Duration {
	if s.n < 2 {
		return 0
	}
	gaps := make([]time.Duration, 0, s.n-1)
	for i := 1; i < s.n; i++ {
		gaps = append(gaps, s.at(i).Sub(s.at(i-1)))
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// bounds is the smallest and largest value of the series (0, 0 when empty).
func (s series) bounds() (lo, hi float64) {
	for i := range s.n {
		v := s.value(i)
		if i == 0 {
			lo, hi = v, v
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// scale is the value range a chart of s spans: its extremes, from zero
// when the chart asks for it or the smallest is under a quarter of the
// largest (small positive values read better against zero than against a
// floor that makes them look empty).
func (c chart) scale(s series) (lo, hi float64) {
	lo, hi = s.bounds()
	if lo > 0 && (c.zero || lo < hi/4) {
		lo = 0
	}
	return lo, hi
}

// chart is a braille chart of one series with a y axis labelled with its
// extremes; the time axis is drawn separately (timeAxis) so that charts
// stacked over the same span share one.
type chart struct {
	cells  int // width of the plot in cells
	rows   int
	labelW int // width of the y labels
	t0, t1 time.Time
	label  func(v float64) string
	zero   bool // the scale starts at zero whatever the values (round trips: 1 ms against 2 ms is not news)
}

// lines draws s: rows lines, each a y label, an axis mark and the plot.
func (c chart) lines(s series) []string {
	lo, hi := c.scale(s)
	maxGap := 5 * s.usualGap() / 2
	vals := s.bin(2*c.cells, c.t0, c.t1, maxGap)
	rows := c.rows
	if hi <= lo {
		rows = 1 // a flat series says all it has on one row
	}
	plot := brailleRows(vals, rows, lo, hi)
	out := make([]string, len(plot))
	for i, p := range plot {
		var lab, mark string
		switch {
		case i == 0:
			lab, mark = c.label(hi), " ┤"
		case i == len(plot)-1:
			lab, mark = c.label(lo), " ┤"
		default:
			mark = " │"
		}
		if len(plot) == 1 && hi > lo {
			lab = c.label(lo) + "…" + c.label(hi)
		}
		out[i] = padLeft(lab, c.labelW) + mark + p
	}
	return out
}

// labelWidth is what c.label needs for the extremes of s.
func (c chart) labelWidth(s series) int {
	lo, hi := c.scale(s)
	return max(textWidth(c.label(lo)), textWidth(c.label(hi)))
}

// timeAxis writes the clock times under a chart: the start at the left, the
// end at the right and, with room, the middle.
func (c chart) timeAxis() string {
	w := c.cells
	left, right := format.Clock(c.t0), format.Clock(c.t1)
	var b strings.Builder
	writeSpaces(&b, c.labelW+2)
	if w < 2*len(left)+1 {
		b.WriteString("← " + format.Age(c.t1.Sub(c.t0)) + " →")
		return b.String()
	}
	b.WriteString(left)
	used := len(left)
	if w >= 3*len(left)+8 {
		mid := format.Clock(c.t0.Add(c.t1.Sub(c.t0) / 2))
		at := w/2 - len(mid)/2
		writeSpaces(&b, at-used)
		b.WriteString(mid)
		used = at + len(mid)
	}
	writeSpaces(&b, w-used-len(right))
	b.WriteString(right)
	return b.String()
}

// markStrip is one line under a chart with mark in each cell whose slice of
// [t0, t1] holds an event (at(i) for i < n), blank elsewhere.
func (c chart) markStrip(n int, at func(i int) time.Time, mark rune) string {
	cells := make([]bool, c.cells)
	span := c.t1.Sub(c.t0)
	for i := range n {
		t := at(i)
		if t.Before(c.t0) || t.After(c.t1) || span <= 0 {
			continue
		}
		cells[min(c.cells-1, int(float64(t.Sub(c.t0))/float64(span)*float64(c.cells)))] = true
	}
	var b strings.Builder
	writeSpaces(&b, c.labelW+2)
	for _, on := range cells {
		if on {
			b.WriteRune(mark)
		} else {
			b.WriteByte(' ')
		}
	}
	return strings.TrimRight(b.String(), " ")
}
