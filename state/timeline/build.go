package timeline

import (
	"slices"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// Builder folds batches through its own state.Store and collects the
// events each snapshot derived (Snapshot.Changes), ungrouped.
type Builder struct {
	store  *state.Store
	events []state.Event
	meta   Meta
}

// NewBuilder returns a Builder folding with cfg (zero fields take defaults).
func NewBuilder(cfg state.Config) *Builder {
	return &Builder{store: state.NewStore(cfg)}
}

// Add folds one batch and keeps the events its snapshot derived.
func (b *Builder) Add(batch sources.Batch) {
	s := b.store.Apply(batch)
	b.events = append(b.events, s.Changes...)
	m := &b.meta
	m.Batches++
	if at := batch.At; !at.IsZero() {
		if m.First.IsZero() || at.Before(m.First) {
			m.First = at
		}
		if at.After(m.Last) {
			m.Last = at
		}
	}
	if batch.Source != "" && !slices.Contains(m.Sources, batch.Source) {
		m.Sources = append(m.Sources, batch.Source)
		slices.Sort(m.Sources)
	}
}

// Snapshot returns the latest snapshot.
func (b *Builder) Snapshot() *state.Snapshot { return b.store.Snapshot() }

// Events returns every event so far, oldest first, one per host (group
// them with state.GroupEvents).
func (b *Builder) Events() []state.Event {
	out := slices.Clone(b.events)
	slices.SortStableFunc(out, func(x, y state.Event) int { return x.At.Compare(y.At) })
	return out
}

// Meta describes what the events were built from, for the heading.
func (b *Builder) Meta() Meta { return b.meta }

// Meta describes the input of a timeline.
type Meta struct {
	First, Last time.Time // the earliest and latest batch times
	Batches     int
	Sources     []string // names of the sources seen, sorted
	Recorder    string   // the program that recorded it, if known
	Notes       []string // e.g. lines of the recording that were skipped
}
