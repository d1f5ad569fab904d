package format

import (
	"testing"
	"time"
)

func tokyo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no zone database: %v", err)
	}
	return loc
}

// inZone shows times in loc for the test's duration.
func inZone(t *testing.T, loc *time.Location) {
	t.Helper()
	was := zone.Load()
	SetZone(loc)
	t.Cleanup(func() { zone.Store(was) })
}

func TestTimesInTheDisplayZone(t *testing.T) {
	at := time.Date(2026, 8, 12, 22, 30, 5, 0, time.UTC)
	for _, tc := range []struct {
		loc               *time.Location
		clock, stamp, tzn string
	}{
		{time.UTC, "22:30:05", "2026-08-12 22:30:05", "UTC"},
		{tokyo(t), "07:30:05", "2026-08-13 07:30:05", "JST"},
		{time.FixedZone("", 5*3600+1800), "04:00:05", "2026-08-13 04:00:05", "UTC+05:30"},
		{time.FixedZone("", -3*3600), "19:30:05", "2026-08-12 19:30:05", "UTC-03:00"},
	} {
		inZone(t, tc.loc)
		if got := Clock(at); got != tc.clock {
			t.Errorf("%v: Clock = %q, want %q", tc.loc, got, tc.clock)
		}
		if got := Stamp(at); got != tc.stamp {
			t.Errorf("%v: Stamp = %q, want %q", tc.loc, got, tc.stamp)
		}
		if got := ZoneName(at); got != tc.tzn {
			t.Errorf("%v: ZoneName = %q, want %q", tc.loc, got, tc.tzn)
		}
		if got, want := ZoneLabel(at), map[string]string{"JST": "JST (UTC+09:00)"}[tc.tzn]; want != "" && got != want || want == "" && got != tc.tzn {
			t.Errorf("%v: ZoneLabel = %q", tc.loc, got)
		}
	}
	if got := ClockOr(time.Time{}, "never"); got != "never" {
		t.Errorf("ClockOr(zero) = %q", got)
	}
}

// TestParseClockReadsTheDisplayZone: what the user types is a time of the
// zone the screen shows, whatever zone the clock's time value carries.
func TestParseClockReadsTheDisplayZone(t *testing.T) {
	inZone(t, tokyo(t))
	now := time.Date(2026, 8, 12, 22, 30, 0, 0, time.UTC) // 07:30 on the 13th in Tokyo
	got, err := ParseClock("07:00", now, false)
	if want := time.Date(2026, 8, 12, 22, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("07:00 JST = %v %v, want %v", got, err, want)
	}
	got, err = ParseClock("22:00", now, false) // 22:00 JST is after now there: the day before
	if want := time.Date(2026, 8, 12, 13, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("22:00 JST = %v %v, want %v", got, err, want)
	}
	inZone(t, time.UTC)
	got, err = ParseClock("22:00", now, false)
	if want := time.Date(2026, 8, 12, 22, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("22:00 UTC = %v %v, want %v", got, err, want)
	}
}

func TestFigures(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Age(-time.Second), "0s"},
		{Age(42 * time.Second), "42s"},
		{Age(184 * time.Second), "3m04s"},
		{Age(2*time.Hour + 3*time.Minute), "2h03m"},
		{Age(74 * time.Hour), "3d02h"},
		{RTT(850 * time.Microsecond), "850µs"},
		{RTT(12 * time.Millisecond), "12ms"},
		{RTT(1230 * time.Millisecond), "1.2s"},
		{Count(-1), "?"},
		{Count(562), "562"},
		{Count(9_999_999), "9999999"},
		{Count(12_345_678), "12M"},
		{Count(12_345_678_901), "12G"},
		{Growth(0), "0"},
		{Growth(1.25), "+1.2"},
		{Growth(-1140), "-1140"},
		{Percent(42.6), "43%"},
		{Bytes(-1), "?"},
		{Bytes(512), "512B"},
		{Bytes(980 * 1024), "980K"},
		{Bytes(7 << 30), "7.0G"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
