// Package timeline formats the incident timeline that state.Store derives
// (state.Event, see Snapshot.Timeline and Snapshot.Changes) for the
// Timeline section of an incident report: Markdown and Text, with Filter
// for a period. A Builder folds a run of batches (a recording) through its
// own state.Store and collects every event, beyond the store's retention;
// state.GroupEvents merges the same change on many hosts within a window
// ("nova-compute down on 12 hosts") by the rule the live timeline uses.
package timeline

import (
	"time"

	"github.com/stacktop/stacktop/state"
)

// Filter returns the events with since ≤ At ≤ until; a zero bound is open.
func Filter(events []state.Event, since, until time.Time) []state.Event {
	var out []state.Event
	for _, e := range events {
		if !since.IsZero() && e.At.Before(since) || !until.IsZero() && e.At.After(until) {
			continue
		}
		out = append(out, e)
	}
	return out
}
