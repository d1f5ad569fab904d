package state

// Flap detection in the manner of Nagios/Icinga "percent state change".
//
// Each Nova poll contributes one observation per service: up (Nova says the
// service reports in) or down (Nova says it does not, and no operator forced
// it down). Polls where the service is UNKNOWN or forced down contribute
// nothing. The last N observations (Config.FlapWindow, default 21) form the
// window; between them sit N-1 slots where the state may have changed.
//
// Slot k (0 = oldest, N-2 = newest) weighs
//
//	w(k) = 0.8 + 0.4·k/(N-2)
//
// so recent changes count up to 1.5× as much as old ones and the weights
// average 1.0. The percent state change is
//
//	P = 100 · Σ w(k) over slots with a change / (N-1)
//
// which is 0 for a steady service and 100 for one that changes every poll.
// Until N observations exist, the missing older ones are taken to equal the
// oldest known one (no change), as Nagios fills a fresh history.
//
// Hysteresis: a service starts flapping when P rises above the high
// threshold and stops only when P falls below the low threshold; in between
// it keeps its previous flapping state, so a service hovering around one
// threshold does not toggle the flag every poll. See DefaultConfig for why
// the defaults are 20 % and 10 %.

// maxFlapWindow is the largest window a flapWindow's bit set can hold.
const maxFlapWindow = 64

// flapWindow is the last up/down observations of one service as bits:
// bit 0 is the newest, 1 means up. n counts observations, up to 64.
type flapWindow struct {
	bits uint64
	n    uint8
}

// push records one observation.
func (f *flapWindow) push(up bool) {
	f.bits <<= 1
	if up {
		f.bits |= 1
	}
	if f.n < maxFlapWindow {
		f.n++
	}
}

// percent returns the weighted percent state change over the last window observations.
func (f flapWindow) percent(window int) float64 {
	window = min(max(window, 3), maxFlapWindow)
	m := min(int(f.n), window) // observations available, newest m bits
	if m < 2 {
		return 0
	}
	// The change between observation ages i (older) and i-1 (newer), where age 0
	// is the newest, sits in slot k = window-1-i of the full window.
	x := f.bits ^ (f.bits >> 1) // bit i-1 set: observations at ages i-1 and i differ
	var sum float64
	span := float64(window - 2)
	for i := 1; i < m; i++ {
		if x&(1<<(i-1)) != 0 {
			k := window - 1 - i
			sum += 0.8 + 0.4*float64(k)/span
		}
	}
	return 100 * sum / float64(window-1)
}

// FlapPercent returns the weighted percent state change (0..100) of obs,
// oldest first, true meaning up, over a window of window observations
// (clamped to 3..64); only the last window observations count.
func FlapPercent(obs []bool, window int) float64 {
	var f flapWindow
	for _, up := range obs {
		f.push(up)
	}
	return f.percent(window)
}

// NextFlapping applies the hysteresis: a service that was not flapping starts
// when percent exceeds high; one that was flapping stops only when percent
// drops below low.
func NextFlapping(was bool, percent, low, high float64) bool {
	if was {
		return percent >= low
	}
	return percent > high
}
