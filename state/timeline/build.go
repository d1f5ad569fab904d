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
	store    *state.Store
	events   []state.Event
	verdicts []VerdictChange
	meta     Meta
}

// NewBuilder returns a Builder folding with cfg (zero fields take defaults).
func NewBuilder(cfg state.Config) *Builder {
	return &Builder{store: state.NewStore(cfg)}
}

// Add folds one batch and keeps the events its snapshot derived.
func (b *Builder) Add(batch sources.Batch) {
	s := b.store.Apply(batch)
	b.events = append(b.events, s.Changes...)
	b.noteVerdict(s)
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

// noteVerdict keeps the snapshot's verdict when it differs from the last
// kept in cause, thinness or words (verdictWords).
func (b *Builder) noteVerdict(s *state.Snapshot) {
	v := s.Verdict
	if n := len(b.verdicts); n > 0 {
		last := b.verdicts[n-1]
		if last.Cause == v.Cause && last.Thin == v.Thin && verdictWords(last.Summary) == verdictWords(v.Summary) {
			return
		}
	} else if v.Cause == state.CauseNone {
		return
	}
	b.verdicts = append(b.verdicts, VerdictChange{At: s.At, Cause: v.Cause, Thin: v.Thin, Summary: v.Summary, Evidence: v.Evidence})
}

// Verdicts returns every change of the verdict so far, oldest first,
// beginning with the first verdict reached (a clearing has CauseNone).
func (b *Builder) Verdicts() []VerdictChange { return slices.Clone(b.verdicts) }

// FilterVerdicts returns the changes with since ≤ At ≤ until, preceded by
// the one holding at since when there was one; a zero bound is open.
func FilterVerdicts(vs []VerdictChange, since, until time.Time) []VerdictChange {
	var out []VerdictChange
	for i, v := range vs {
		if !until.IsZero() && v.At.After(until) {
			break
		}
		if !since.IsZero() && v.At.Before(since) {
			if (i+1 == len(vs) || !vs[i+1].At.Before(since)) && v.Cause != state.CauseNone {
				out = append(out, v)
			}
			continue
		}
		out = append(out, v)
	}
	return out
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
