package ui

import (
	"math"
	"slices"
	"strings"
)

// What a pane derives from a snapshot (its sorted order, the rows its
// filter matches, column widths) is kept while the slices it derives from
// stay the same. A Store shares a slice a batch did not touch with the
// snapshot before and counts the slices it builds anew
// (state.Snapshot.Gen); sliceKey identifies a slice by that count and by
// the slice itself, so snapshots not made by a Store (tests, a replay's
// first frame) are told apart too. A pane holding a sliceKey holds the
// slice's array, so its address is not reused while the key is kept.
type sliceKey struct {
	gen   uint64
	first any // a pointer to the first element; nil when empty
	n     int
}

// keyOf is the sliceKey of s, counted gen by the store.
func keyOf[T any](gen uint64, s []T) sliceKey {
	if len(s) == 0 {
		return sliceKey{gen: gen}
	}
	return sliceKey{gen: gen, first: &s[0], n: len(s)}
}

// ranked is one row to sort: its sort key and its snapshot index.
type ranked struct {
	key uint64
	i   int32
}

// sortRanked sorts rs by key, ascending and stably (rows with equal keys
// keep their order), in linear time: a least-significant-digit radix sort
// over the key's bytes, skipping bytes every key shares. tmp is scratch of
// at least len(rs); it returns the sorted slice, rs or tmp.
func sortRanked(rs, tmp []ranked) []ranked {
	tmp = tmp[:len(rs)]
	if len(rs) < 2 {
		return rs
	}
	var counts [8][256]int
	for _, r := range rs {
		k := r.key
		for b := range 8 {
			counts[b][byte(k>>(8*b))]++
		}
	}
	src, dst := rs, tmp
	for b := range 8 {
		c := &counts[b]
		if c[byte(src[0].key>>(8*b))] == len(src) {
			continue // every key has this byte: the pass would change nothing
		}
		pos := 0
		for v := range c {
			n := c[v]
			c[v] = pos
			pos += n
		}
		for _, r := range src {
			v := byte(r.key >> (8 * b))
			dst[c[v]] = r
			c[v]++
		}
		src, dst = dst, src
	}
	return src
}

// intKey maps an int64 to a uint64 of the same order.
func intKey(v int64) uint64 { return uint64(v) ^ 1<<63 }

// floatKey maps a float64 to a uint64 of cmp.Compare's order: NaN first,
// -0 equal to 0.
func floatKey(f float64) uint64 {
	if f != f {
		return 0
	}
	if f == 0 {
		f = 0 // -0 sorts with 0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// desc turns an ascending key into a descending one (ties keep their order).
func desc(k uint64) uint64 { return ^k }

// narrowing keeps the rows each filter text matched while the text grows,
// so that a typed character filters only the rows the text before it
// matched and a deleted one finds them again. Its rows are shared with the
// pane's order: neither is ever written after it is made.
type narrowing struct {
	steps []narrowStep
	keep  []bool // scratch: which snapshot indices match
}

type narrowStep struct {
	filter string
	rows   []int32
}

// maxNarrowSteps bounds the texts kept (each step holds at most the rows
// of the one before).
const maxNarrowSteps = 16

// reset forgets every step: the rows filtered from changed.
func (n *narrowing) reset() { n.steps = n.steps[:0] }

// rows returns the rows of sorted (a pane's order of every row: each
// snapshot index once) that match, for filter: those a kept shorter text
// matched, filtered again, or those the same text matched. A nil match
// matches every row.
func (n *narrowing) rows(filter string, sorted []int32, match func(i int32) bool) []int32 {
	from, whole, done := n.base(filter, sorted)
	if done {
		return from
	}
	if whole && cap(n.keep) < len(from) {
		n.keep = make([]bool, len(from))
	}
	rows := filterRows(from, whole, match, n.keep)
	n.push(filter, rows)
	return rows
}

// base forgets the steps filter does not extend and returns the rows to
// filter for it: the rows of the longest kept text it contains (done when
// that text is filter itself), else sorted (whole).
func (n *narrowing) base(filter string, sorted []int32) (from []int32, whole, done bool) {
	for len(n.steps) > 0 && !strings.Contains(filter, n.steps[len(n.steps)-1].filter) {
		n.steps = n.steps[:len(n.steps)-1]
	}
	if len(n.steps) == 0 {
		return sorted, true, false
	}
	top := n.steps[len(n.steps)-1]
	// Every row the longer text matches, the shorter matched.
	return top.rows, false, top.filter == filter
}

// push keeps rows as the rows filter matched.
func (n *narrowing) push(filter string, rows []int32) {
	if len(n.steps) == maxNarrowSteps {
		n.steps = append(n.steps[:0], n.steps[1:]...)
	}
	n.steps = append(n.steps, narrowStep{filter: filter, rows: rows})
}

// filterRows returns the rows of from that match, in from's order, in a new
// slice; a nil match matches every row. When from is whole (every snapshot
// index once) the rows are tested in the snapshot's order, which reads
// memory in sequence; keep is scratch for that, of at least len(from).
func filterRows(from []int32, whole bool, match func(i int32) bool, keep []bool) []int32 {
	if match == nil {
		return slices.Clone(from)
	}
	rows := make([]int32, 0, len(from))
	if whole {
		keep = keep[:len(from)]
		for i := range keep {
			keep[i] = match(int32(i))
		}
		for _, i := range from {
			if keep[i] {
				rows = append(rows, i)
			}
		}
		return rows
	}
	for _, i := range from {
		if match(i) {
			rows = append(rows, i)
		}
	}
	return rows
}

// widerText reports whether s may be wider than w cells: a string is never
// wider than its length in bytes, so only longer ones need measuring.
func widerText(s string, w int) bool { return len(s) > w && textWidth(s) > w }
