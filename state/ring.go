package state

import "time"

// Histories (queue samples, transitions, probes) are append-only slices with
// a single writer, shared with every snapshot that was built from them.
// Queue histories follow the same invariant with their own packed samples
// and a fixed capacity (QueueHistory.with); the others use appendBounded.
//
// Invariant: the Store only ever appends to the history held by its newest
// snapshot, and that history always ends at or after every older snapshot's
// view of the same backing array (the writer only appends, or drops elements
// from the front by reslicing). An append that fits in the capacity writes
// past the end of every older view, where no older snapshot can see it; an
// append that does not fit copies the last max-1 elements into a fresh array.
// Elements an older snapshot can see are therefore never written again, so
// old snapshots stay valid without Apply copying every history on every poll.
// Never truncate a history from the end and append again: that would
// overwrite what older snapshots see.

// appendBounded appends v to s keeping at most bound elements (bound ≥ 1).
// The backing array grows geometrically up to bound+bound/4 (at least
// bound+8), so a full history is copied once every bound/4 appends and
// wastes at most a quarter of its size (or 8 elements).
func appendBounded[T any](s []T, v T, bound int) []T {
	bound = max(bound, 1)
	if len(s) >= bound {
		s = s[len(s)-bound+1:]
	}
	if len(s) < cap(s) {
		return append(s, v)
	}
	limit := bound + max(bound/4, 8)
	c := min(max(2*len(s), 4), limit)
	n := make([]T, len(s), c)
	copy(n, s)
	return append(n, v)
}

// trimBefore drops the leading elements of s, oldest first, whose time is
// before cutoff; it only reslices.
func trimBefore[T any](s []T, cutoff time.Time, at func(*T) time.Time) []T {
	i := 0
	for i < len(s) && at(&s[i]).Before(cutoff) {
		i++
	}
	if i == len(s) {
		return nil
	}
	return s[i:]
}
