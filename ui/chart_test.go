package ui

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/format"
)

func TestBrailleRows(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		vals   []float64
		rows   int
		lo, hi float64
		want   []string
	}{
		{"low then high", []float64{0, 1}, 1, 0, 1, []string{"⣸"}},
		{"no data is blank", []float64{nan, nan}, 1, 0, 1, []string{"⠀"}},
		{"flat series on the floor", []float64{1, 1}, 1, 1, 1, []string{"⣀"}},
		{"two rows", []float64{0, 1}, 2, 0, 1, []string{"⢸", "⣸"}},
		{"odd count, rounding half up", []float64{1, 0.5, 0}, 1, 0, 1, []string{"⣷⡀"}},
		{"gap between values", []float64{1, nan, nan, 1}, 1, 0, 1, []string{"⡇⢸"}},
		{"clamped outside the range", []float64{-5, 99}, 1, 0, 1, []string{"⣸"}},
		{"ramp over two rows", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 2, 0, 7, []string{"⠀⠀⣠⣾", "⣠⣾⣿⣿"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := brailleRows(tt.vals, tt.rows, tt.lo, tt.hi)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := brailleRows([]float64{1}, 0, 0, 1); got != nil {
		t.Fatalf("zero rows: %q", got)
	}
}

func testSeries(t0 time.Time, at []time.Duration, v []float64) series {
	return series{n: len(at), at: func(i int) time.Time { return t0.Add(at[i]) }, value: func(i int) float64 { return v[i] }}
}

func TestSeriesBin(t *testing.T) {
	t0 := fixedNow
	s := testSeries(t0, []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}, []float64{1, 2, 3, 4})
	if got := s.bin(4, t0, t0.Add(40*time.Second), 0); !slices.Equal(got, []float64{1, 2, 3, 4}) {
		t.Fatalf("one sample per column: %v", got)
	}
	if got := s.bin(2, t0, t0.Add(40*time.Second), 0); !slices.Equal(got, []float64{2, 4}) {
		t.Fatalf("two per column take the largest: %v", got)
	}
	if s.usualGap() != 10*time.Second {
		t.Fatalf("usual gap %v", s.usualGap())
	}
	gap := testSeries(t0, []time.Duration{0, 30 * time.Second}, []float64{1, 4})
	got := gap.bin(4, t0, t0.Add(40*time.Second), 15*time.Second)
	if got[0] != 1 || got[1] != 1 || !math.IsNaN(got[2]) || got[3] != 4 {
		t.Fatalf("a pause longer than the gap should be blank: %v", got)
	}
	gap.hold = func(i int) time.Duration { return 10 * time.Second } // the first sample waited 10 s
	if got := gap.bin(4, t0, t0.Add(40*time.Second), 15*time.Second); got[2] != 1 {
		t.Fatalf("a held sample should carry over the pause: %v", got)
	}
	if got := s.bin(0, t0, t0, 0); got != nil {
		t.Fatalf("zero columns: %v", got)
	}
}

func TestChartLines(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)
	s := testSeries(t0, []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}, []float64{10, 20, 30, 40})
	c := chart{cells: 40, rows: 2, t0: t0, t1: t0.Add(3 * time.Minute), label: func(v float64) string { return format.Count(int64(v)) }}
	c.labelW = c.labelWidth(s)
	lines := c.lines(s)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "40 ┤") || !strings.HasPrefix(lines[1], "10 ┤") {
		t.Fatalf("y labels: %q", lines)
	}
	for _, l := range lines {
		if w := textWidth(l); w != c.labelW+2+c.cells {
			t.Fatalf("line %q is %d wide", l, w)
		}
	}
	if got := c.timeAxis(); got != "    03:00:00        03:01:30        03:03:00" {
		t.Fatalf("time axis %q", got)
	}
	c.cells = 12
	if got := c.timeAxis(); got != "    ← 3m00s →" {
		t.Fatalf("narrow time axis %q", got)
	}
	c.cells = 10
	mark := c.markStrip(2, func(i int) time.Time { return t0.Add(time.Duration(i) * 3 * time.Minute) }, '✖')
	if mark != "    ✖        ✖" {
		t.Fatalf("marks %q", mark)
	}
}
