package state

import (
	"slices"
	"time"
)

// mergeRestarts returns old (newest first) with add merged in, keeping at
// most limit entries, none older than cutoff. old is never written: with
// nothing to add it is only resliced.
func mergeRestarts(old, add []Restart, cutoff time.Time, limit int) []Restart {
	if len(add) == 0 {
		n := len(old)
		for n > 0 && old[n-1].At.Before(cutoff) {
			n--
		}
		if n > limit {
			n = limit
		}
		if n == 0 {
			return nil
		}
		return old[:n:n]
	}
	slices.SortStableFunc(add, func(a, b Restart) int { return b.At.Compare(a.At) })
	out := make([]Restart, 0, min(len(old)+len(add), limit))
	i, j := 0, 0
	for len(out) < limit && (i < len(add) || j < len(old)) {
		var r Restart
		if j >= len(old) || i < len(add) && !add[i].At.Before(old[j].At) {
			r, i = add[i], i+1
		} else {
			r, j = old[j], j+1
		}
		if r.At.Before(cutoff) {
			continue
		}
		out = append(out, r)
	}
	return out
}
