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
// ASCII case, without allocating.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
