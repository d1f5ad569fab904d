package ui

import "strings"

var sparkBlocks = [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// sparkline writes at most width cells for the last values of n samples,
// scaled between their min and max (the numbers beside it give the size); value(i) reads sample i.
func sparkline(b *strings.Builder, n, width int, value func(i int) int64) {
	if width <= 0 || n == 0 {
		return
	}
	start := 0
	if n > width {
		start = n - width
	}
	lo, hi := value(start), value(start)
	for i := start + 1; i < n; i++ {
		v := value(i)
		lo, hi = min(lo, v), max(hi, v)
	}
	for i := start; i < n; i++ {
		idx := 0
		if hi > lo {
			idx = int((value(i) - lo) * int64(len(sparkBlocks)-1) / (hi - lo))
		} else if hi > 0 {
			idx = len(sparkBlocks) - 1
		}
		b.WriteRune(sparkBlocks[idx])
	}
}

// containsFold reports whether sub (already lower-case) occurs in s, ignoring
// ASCII case, without allocating. It compares only where sub's first byte
// (in either case) occurs, found by strings.IndexByte.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	n := len(sub)
	c0, up := sub[0], sub[0]
	if 'a' <= c0 && c0 <= 'z' {
		up = c0 - ('a' - 'A')
	}
	end := len(s) - n + 1 // sub may start before end
	nextUp := -1          // where the upper-case first byte occurs next, at or after i; end when nowhere
	for i := 0; i < end; i++ {
		// Skip to the next byte that may start sub.
		j := strings.IndexByte(s[i:end], c0)
		if j >= 0 {
			j += i
		} else {
			j = end
		}
		if up != c0 {
			if nextUp < i {
				nextUp = end
				if k := strings.IndexByte(s[i:end], up); k >= 0 {
					nextUp = i + k
				}
			}
			j = min(j, nextUp)
		}
		if j >= end {
			return false
		}
		i = j
		if foldedPrefix(s[i:], sub) {
			return true
		}
	}
	return false
}

// foldedPrefix reports whether s begins with sub (lower-case), ignoring ASCII case.
func foldedPrefix(s, sub string) bool {
	for j := 0; j < len(sub); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != sub[j] {
			return false
		}
	}
	return true
}
