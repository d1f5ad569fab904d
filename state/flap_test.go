package state

import (
	"math"
	"strings"
	"testing"
)

// timeline turns "UUDD" (up, down; spaces ignored) into observations.
func timeline(s string) []bool {
	var obs []bool
	for _, c := range s {
		switch c {
		case 'U':
			obs = append(obs, true)
		case 'D':
			obs = append(obs, false)
		}
	}
	return obs
}

func TestFlapPercent(t *testing.T) {
	cases := []struct {
		name     string
		timeline string
		window   int
		want     float64
	}{
		{"empty", "", 21, 0},
		{"one observation", "D", 21, 0},
		{"steady up", strings.Repeat("U", 30), 21, 0},
		{"steady down", strings.Repeat("D", 30), 21, 0},
		{"every poll changes", strings.Repeat("UD", 11)[:21], 21, 100},
		{"one change, newest slot weighs 1.2", strings.Repeat("U", 20) + "D", 21, 100 * 1.2 / 20},
		{"one change, oldest slot weighs 0.8", "U" + strings.Repeat("D", 20), 21, 100 * 0.8 / 20},
		{"only the last window counts", "UDUDUD" + strings.Repeat("U", 21), 21, 0},
		{"short history padded with the oldest state", "UD", 21, 100 * 1.2 / 20},
		{"clean outage at the newest end", strings.Repeat("U", 19) + "DU", 21, 100 * (1.2 + 0.8 + 0.4*18.0/19) / 20},
		{"window 5", "UUDUD", 5, 100 * ((0.8 + 0.4*1/3.0) + (0.8 + 0.4*2/3.0) + 1.2) / 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FlapPercent(timeline(c.timeline), c.window)
			if math.Abs(got-c.want) > 1e-9 {
				t.Errorf("FlapPercent(%q) = %.4f, want %.4f", c.timeline, got, c.want)
			}
		})
	}
}

func TestNextFlapping(t *testing.T) {
	cases := []struct {
		was  bool
		pct  float64
		want bool
	}{
		{false, 0, false},
		{false, 15, false}, // between thresholds: stays not flapping
		{false, 20, false}, // must be above high
		{false, 20.1, true},
		{true, 15, true}, // between thresholds: stays flapping
		{true, 10, true},
		{true, 9.9, false},
	}
	for _, c := range cases {
		if got := NextFlapping(c.was, c.pct, 10, 20); got != c.want {
			t.Errorf("NextFlapping(%v, %v, 10, 20) = %v, want %v", c.was, c.pct, got, c.want)
		}
	}
}

// runFlap feeds a timeline poll by poll through the detector as the Store
// does, returning the flapping flag and percent after each poll.
func runFlap(obs []bool, cfg Config) (flags []bool, pcts []float64) {
	var f flapWindow
	flapping := false
	for _, up := range obs {
		f.push(up)
		p := f.percent(cfg.FlapWindow)
		flapping = NextFlapping(flapping, p, cfg.FlapLow, cfg.FlapHigh)
		flags = append(flags, flapping)
		pcts = append(pcts, p)
	}
	return flags, pcts
}

func TestFlapTimelines(t *testing.T) {
	cfg := DefaultConfig()
	up := func(n int) string { return strings.Repeat("U", n) }
	down := func(n int) string { return strings.Repeat("D", n) }
	intermittent := strings.Repeat(up(2)+down(4), 6) // Nova's fastest flap: ~60 s down, reports resume, stop again
	cases := []struct {
		name     string
		timeline string
		wantEver bool // flapping at some poll
		wantEnd  bool // flapping after the last poll
	}{
		{"steady up", up(60), false, false},
		{"one clean outage", up(10) + down(6) + up(30), false, false},
		{"one-poll blip", up(10) + down(1) + up(30), false, false},
		{"outage, brief recovery, down again (3 changes)", up(10) + down(6) + up(3) + down(8), false, false},
		{"two outages within 80 s flap, then clear", up(10) + down(6) + up(1) + down(1) + up(30), true, false},
		{"two outages far apart", up(10) + down(6) + up(25) + down(6) + up(25), false, false},
		{"intermittent", up(10) + intermittent, true, true},
		{"slow intermittent (90 s cycles)", up(10) + strings.Repeat(up(3)+down(6), 6), true, true},
		{"recovering", up(10) + intermittent + up(40), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flags, pcts := runFlap(timeline(c.timeline), cfg)
			ever := false
			for _, f := range flags {
				ever = ever || f
			}
			if ever != c.wantEver || flags[len(flags)-1] != c.wantEnd {
				t.Errorf("ever flapping %v, at end %v; want %v, %v\npercents %.1f", ever, flags[len(flags)-1], c.wantEver, c.wantEnd, pcts)
			}
		})
	}
}

// TestFlapHysteresis checks that a recovering service stays flapping while its
// percent is between the thresholds and clears at the first poll below low.
func TestFlapHysteresis(t *testing.T) {
	cfg := DefaultConfig()
	obs := timeline(strings.Repeat("U", 10) + strings.Repeat("UUDDDD", 6) + strings.Repeat("U", 40))
	flags, pcts := runFlap(obs, cfg)
	settled := 10 + 36 // first steady poll
	if !flags[settled-1] {
		t.Fatalf("not flapping when the intermittent stretch ends (%.1f%%)", pcts[settled-1])
	}
	between := 0
	cleared := -1
	for i := settled; i < len(obs); i++ {
		switch {
		case cleared < 0 && pcts[i] >= cfg.FlapLow:
			if !flags[i] {
				t.Fatalf("poll %d: %.1f%% ≥ low %.0f%% but flapping cleared", i, pcts[i], cfg.FlapLow)
			}
			if pcts[i] <= cfg.FlapHigh {
				between++
			}
		case cleared < 0:
			cleared = i
			if flags[i] {
				t.Fatalf("poll %d: %.1f%% < low but still flapping", i, pcts[i])
			}
		default:
			if flags[i] {
				t.Fatalf("poll %d: flapping again after clearing at %d", i, cleared)
			}
		}
	}
	if between == 0 {
		t.Errorf("no poll with percent between the thresholds: the timeline does not exercise hysteresis: %.1f", pcts[settled:])
	}
	if cleared < 0 {
		t.Fatalf("flapping never cleared: %.1f", pcts[settled:])
	}
	if cleared-settled > cfg.FlapWindow {
		t.Errorf("cleared %d polls after settling, want within one window (%d)", cleared-settled, cfg.FlapWindow)
	}
}

// TestFlapEntryNeedsHigh checks the other side of the hysteresis: a service
// that is not flapping does not start at a percent between the thresholds.
func TestFlapEntryNeedsHigh(t *testing.T) {
	cfg := DefaultConfig()
	obs := timeline(strings.Repeat("U", 10) + "DDDDDDUUUUUUDDDD")
	flags, pcts := runFlap(obs, cfg)
	last := len(obs) - 1
	if pcts[last] < cfg.FlapLow || pcts[last] > cfg.FlapHigh {
		t.Fatalf("percent %.1f not between the thresholds; fix the timeline", pcts[last])
	}
	if flags[last] {
		t.Errorf("started flapping at %.1f%%, below high %.0f%%", pcts[last], cfg.FlapHigh)
	}
}
