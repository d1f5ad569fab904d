// Package format renders times, durations, byte sizes and counts the one
// way stacktop shows them, on the screen (ui), in evidence and timelines
// (state) and in exports alike.
//
// Times are shown in one zone for the whole process: the local zone unless
// SetZone says otherwise (stacktop --utc). Every time the user types is
// read in the same zone (ParseClock).
package format

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

var zone atomic.Pointer[time.Location]

// SetZone sets the zone every time is shown and read in; nil means the local zone.
func SetZone(loc *time.Location) {
	zone.Store(loc)
}

// Zone is the zone times are shown and read in.
func Zone() *time.Location {
	if loc := zone.Load(); loc != nil {
		return loc
	}
	return time.Local
}

// In is t in the display zone.
func In(t time.Time) time.Time { return t.In(Zone()) }

// Clock renders a time of day in the display zone: 15:04:05.
func Clock(t time.Time) string { return In(t).Format("15:04:05") }

// ClockOr is Clock(t), or none when t is zero.
func ClockOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return Clock(t)
}

// Stamp renders a date and time in the display zone: 2006-01-02 15:04:05.
func Stamp(t time.Time) string { return In(t).Format("2006-01-02 15:04:05") }

// ZoneName names the display zone as it is at t: its abbreviation ("JST",
// "CET", "UTC"), or the offset from UTC ("UTC+05:30") where the zone has
// no abbreviation of its own.
func ZoneName(t time.Time) string {
	name, off := In(t).Zone()
	if name != "" && name[0] != '+' && name[0] != '-' {
		return name
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return "UTC" + sign + pad2(int64(off/3600)) + ":" + pad2(int64(off/60%60))
}

// ZoneLabel names the display zone for a reader elsewhere: "UTC", or its
// name with the offset, "JST (UTC+09:00)".
func ZoneLabel(t time.Time) string {
	name := ZoneName(t)
	_, off := In(t).Zone()
	if off == 0 && name == "UTC" || len(name) > 3 && name[:3] == "UTC" {
		return name
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return name + " (UTC" + sign + pad2(int64(off/3600)) + ":" + pad2(int64(off/60%60)) + ")"
}

// Age renders a duration compactly: 42s, 3m04s, 2h03m, 3d02h; negative counts as 0.
func Age(d time.Duration) string {
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

// AgeSince is Age(now-t), or "—" when t is zero.
func AgeSince(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return Age(now.Sub(t))
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// RTT renders a short duration such as a round trip: 850µs, 12ms, 1.2s.
func RTT(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(int64(d/time.Microsecond), 10) + "µs"
	case d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
}

// Count renders a count, abbreviated from ten million (12M, 10G); "?" when
// negative, which is how sources say they do not know.
func Count(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 10_000_000_000:
		return strconv.FormatInt(n/1_000_000_000, 10) + "G"
	case n >= 10_000_000:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	}
	return strconv.FormatInt(n, 10)
}

// Growth renders a change per minute with its sign: +1.5, -12, +13M, 0.
func Growth(g float64) string {
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
	return sign + Count(int64(g+0.5))
}

// Percent renders 0..100 as "43%".
func Percent(p float64) string {
	return strconv.FormatInt(int64(p+0.5), 10) + "%"
}

// Bytes renders a size in binary units: 512B, 980K, 7.0G, 512M; "?" when
// negative (the source did not say).
func Bytes(n int64) string {
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

// errClock says what ParseClock wants.
var errClock = errors.New("not a time: want HH:MM or HH:MM:SS")

// ParseClock reads HH:MM or HH:MM:SS, typed by the user, as a time in the
// display zone on now's day there, or on the day before when that would be
// after now. With ahead (a replay, where the time sought may lie ahead of
// its clock) it is the occurrence nearest to now instead, the day before or
// after included.
func ParseClock(s string, now time.Time, ahead bool) (time.Time, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return time.Time{}, errClock
	}
	var n [3]int
	limit := [3]int{23, 59, 59}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 {
			return time.Time{}, errClock
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > limit[i] {
			return time.Time{}, errClock
		}
		n[i] = v
	}
	now = In(now)
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
