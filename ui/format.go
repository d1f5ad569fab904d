package ui

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// fmtAge renders a duration compactly: 42s, 3m04s, 2h03m, 3d02h.
func fmtAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + "m" + pad2(s%60) + "s"
	case s < 86400:
		return strconv.FormatInt(s/3600, 10) + "h" + pad2(s/60%60) + "m"
	default:
		return strconv.FormatInt(s/86400, 10) + "d" + pad2(s/3600%24) + "h"
	}
}

// ageSince is fmtAge(now-t), or "—" when t is zero.
func ageSince(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmtAge(now.Sub(t))
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// fmtRTT renders a round trip: 850µs, 12ms, 1.2s.
func fmtRTT(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(int64(d/time.Microsecond), 10) + "µs"
	case d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
}

// fmtCount renders a count, abbreviated above ten million.
func fmtCount(n int64) string {
	switch {
	case n >= 10_000_000_000:
		return strconv.FormatInt(n/1_000_000_000, 10) + "G"
	case n >= 10_000_000:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	}
	return strconv.FormatInt(n, 10)
}

// fmtGrowth renders a per-minute change with its sign.
func fmtGrowth(g float64) string {
	if g == 0 {
		return "0"
	}
	sign := "+"
	if g < 0 {
		sign, g = "-", -g
	}
	if g < 10 {
		return sign + strconv.FormatFloat(g, 'f', 1, 64)
	}
	return sign + fmtCount(int64(g+0.5))
}

// fmtPercent renders 0..100 as "43%".
func fmtPercent(p float64) string {
	return strconv.FormatInt(int64(p+0.5), 10) + "%"
}

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

// fmtBytes renders a size in binary units: 980K, 7.0G, 512M; "?" when negative (unknown).
func fmtBytes(n int64) string {
	if n < 0 {
		return "?"
	}
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + units[u:u+1]
	}
	return strconv.FormatInt(int64(v+0.5), 10) + units[u:u+1]
}

// parseClock reads HH:MM or HH:MM:SS as a time on now's day, in now's zone,
// or on the day before when that would be after now. With ahead (a replay,
// where the time sought may lie ahead of the replay's clock) it is the
// occurrence nearest to now instead, the day before or after included.
func parseClock(s string, now time.Time, ahead bool) (time.Time, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	bad := errors.New("not a time: want HH:MM or HH:MM:SS")
	if len(parts) < 2 || len(parts) > 3 {
		return time.Time{}, bad
	}
	var n [3]int
	limit := [3]int{23, 59, 59}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 {
			return time.Time{}, bad
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > limit[i] {
			return time.Time{}, bad
		}
		n[i] = v
	}
	t := time.Date(now.Year(), now.Month(), now.Day(), n[0], n[1], n[2], 0, now.Location())
	if !ahead {
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
		return t, nil
	}
	switch d := t.Sub(now); {
	case d > 12*time.Hour:
		t = t.AddDate(0, 0, -1)
	case d < -12*time.Hour:
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
