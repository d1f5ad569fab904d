package state

import "time"

// Config bounds what the Store remembers. Zero fields take their DefaultConfig value.
type Config struct {
	// Retention is how far back histories (transitions, queue samples, probes, restarts) reach.
	Retention time.Duration
	// FlapWindow is how many up/down observations (one per Nova poll) flap detection weighs; 3..64.
	FlapWindow int
	// FlapHigh is the weighted percent state change above which a service starts flapping.
	FlapHigh float64
	// FlapLow is the weighted percent state change below which a flapping service stops flapping.
	FlapLow float64
	// MaxTransitions bounds each service's transition history.
	MaxTransitions int
	// QueueSamples bounds each queue's sample history.
	QueueSamples int
	// ProbeHistory bounds the canary's probe history.
	ProbeHistory int
	// RPCHistory bounds each service's RPC ping history.
	RPCHistory int
	// MaxRestarts bounds the restarts timeline.
	MaxRestarts int
	// MaxEvents bounds Snapshot.Timeline.
	MaxEvents int
	// TimelineGroup is the window within which the same change on several
	// hosts is one event of Snapshot.Timeline; negative groups nothing.
	TimelineGroup time.Duration
	// ReportSamples is how many gaps between distinct UpdatedAt values the
	// ReportInterval estimate (their lower tercile, see svcState.pushDelta) looks at; 1..16.
	ReportSamples int
}

// DefaultConfig returns the defaults, suited to 10 s Nova and RabbitMQ polls.
//
// Flap thresholds: Nova marks a service down only after service_down_time
// (60 s) without a report, so one down/up cycle takes at least about a
// minute and a 21-poll window at 10 s (200 s) can hold at most about six
// changes, i.e. ~30-35 %. A threshold of 30 % would need near-maximal
// flapping; 20 % needs about two complete outages in the window, weighted
// towards recent ones. One clean outage (two changes) peaks at 11.9 % and
// even an outage plus a blip (three changes) at 17.7 %, so neither can flap.
// Leaving needs < 10 %: the weighted changes must age out until fewer than
// the equivalent of two recent changes remain, i.e. within one window
// (≤ 200 s) of the service settling.
func DefaultConfig() Config {
	return Config{
		Retention:      time.Hour,
		FlapWindow:     21,
		FlapHigh:       20,
		FlapLow:        10,
		MaxTransitions: 256, // a service cannot change more than ~120 times an hour (≥ 30 s per Nova state)
		QueueSamples:   120, // 20 min at 10 s polls; 20,000 queues × 120 × 16 B ≈ 38 MB (see QueueHistory)
		ProbeHistory:   360, // an hour of 10 s canaries
		RPCHistory:     16,
		MaxRestarts:    2000,
		MaxEvents:      2000,
		TimelineGroup:  30 * time.Second,
		ReportSamples:  8,
	}
}

// withDefaults fills zero fields from DefaultConfig and clamps ranges.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Retention <= 0 {
		c.Retention = d.Retention
	}
	if c.FlapWindow <= 0 {
		c.FlapWindow = d.FlapWindow
	}
	c.FlapWindow = min(max(c.FlapWindow, 3), maxFlapWindow)
	if c.FlapHigh <= 0 {
		c.FlapHigh = d.FlapHigh
	}
	if c.FlapLow <= 0 {
		c.FlapLow = d.FlapLow
	}
	c.FlapLow = min(c.FlapLow, c.FlapHigh)
	if c.MaxTransitions <= 0 {
		c.MaxTransitions = d.MaxTransitions
	}
	if c.QueueSamples <= 0 {
		c.QueueSamples = d.QueueSamples
	}
	if c.ProbeHistory <= 0 {
		c.ProbeHistory = d.ProbeHistory
	}
	if c.RPCHistory <= 0 {
		c.RPCHistory = d.RPCHistory
	}
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = d.MaxRestarts
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = d.MaxEvents
	}
	if c.TimelineGroup == 0 {
		c.TimelineGroup = d.TimelineGroup
	}
	if c.ReportSamples <= 0 {
		c.ReportSamples = d.ReportSamples
	}
	c.ReportSamples = min(c.ReportSamples, maxReportSamples)
	return c
}
