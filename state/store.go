package state

import (
	"sync/atomic"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// Store folds batches into snapshots. Apply must be called from one
// goroutine at a time; Snapshot may be called from any goroutine.
type Store struct {
	cfg Config
	cur atomic.Pointer[Snapshot]

	// Owned by the Apply goroutine.
	svcx     []svcState                            // per-service folding state, aligned with cur.Services
	nodes    map[string]*nodeState                 // per broker node folding state
	nodeSrc  string                                // the source that delivers the broker node list
	refused  refusal                               // that source's broker refusing connections, see broker.go
	departed map[string]map[string]sources.Process // per host: processes last seen before they vanished
	vx       verdictState                          // the correlation rules' memory, see verdict.go
	tl       timelineState                         // the timeline's memory, see events.go
}

// NewStore returns a Store whose Snapshot is empty until the first Apply.
func NewStore(cfg Config) *Store {
	cfg = cfg.withDefaults()
	s := &Store{
		cfg:      cfg,
		nodes:    make(map[string]*nodeState),
		departed: make(map[string]map[string]sources.Process),
	}
	s.cur.Store(&Snapshot{Retention: cfg.Retention})
	return s
}

// Config returns the effective configuration, defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Snapshot returns the latest snapshot; it is never nil and never modified.
func (s *Store) Snapshot() *Snapshot { return s.cur.Load() }

// fold carries what one Apply needs besides the Store.
type fold struct {
	b        sources.Batch
	at       time.Time // the batch's time: stamps transitions, samples, restarts
	cutoff   time.Time // histories keep nothing older than this
	restarts []Restart // found while folding this batch
	// addedHosts are the hosts this batch's heartbeats added.
	addedHosts []string
	// conflicts are the events of hosts whose heartbeats began to conflict.
	conflicts []Event
}

// Apply folds one batch and returns the new snapshot, which it also publishes.
//
// Time comes from b.At only (a zero At counts as the previous snapshot's
// time); the snapshot's At never goes backwards. Slices that the batch says
// nothing about (nil) are shared with the previous snapshot, not rebuilt.
// Apply does not keep references to the batch's slices.
func (s *Store) Apply(b sources.Batch) *Snapshot {
	prev := s.cur.Load()
	next := *prev
	next.Seq = prev.Seq + 1
	next.Retention = s.cfg.Retention
	at := b.At
	if at.IsZero() {
		at = prev.At
	}
	if at.After(prev.At) {
		next.At = at
	}
	f := &fold{b: b, at: at, cutoff: next.At.Add(-s.cfg.Retention)}
	// What a poll read describes the time its requests began, not when the
	// poll completed: a slow poll's data is older than its batch.
	read := Reading{Source: b.Source, At: at, Done: at}
	if l := b.Health.Latency; l > 0 {
		read.At = at.Add(-l)
	}

	if b.Source != "" {
		next.Sources = foldHealth(prev.Sources, b, at)
		s.noteRefusal(b, at)
	}
	if b.Services != nil {
		s.foldServices(f, &next)
		next.Read.Services = read
	}
	if b.Overview != nil {
		ov := *b.Overview
		next.Overview = &ov
		next.Read.Overview = read
	}
	if b.Nodes != nil {
		next.Nodes = s.foldNodes(f, b.Nodes)
		next.Read.Nodes = read
	}
	if b.Queues != nil {
		next.Queues = s.foldQueues(f, prev.Queues, b.Queues)
		next.Read.Queues = read
	}
	if len(b.Heartbeats) > 0 {
		next.Hosts = s.foldHeartbeats(f, prev.Hosts)
	}
	if len(b.Probes) > 0 {
		s.foldProbes(f, &next)
	}
	s.age(f, &next)
	next.Restarts = mergeRestarts(next.Restarts, f.restarts, f.cutoff, s.cfg.MaxRestarts)
	next.Verdict = s.computeVerdict(f, &next)
	next.Changes = s.tl.deriveEvents(&f.b, prev, &next, f.restarts, f.addedHosts, f.conflicts, f.cutoff)
	next.Timeline = s.tl.foldTimeline(next.Timeline, next.Changes, f.cutoff, s.cfg.MaxEvents, s.cfg.TimelineGroup)
	next.Gen = prev.Gen.next(prev, &next)

	snap := &next
	s.cur.Store(snap)
	return snap
}

// age drops what fell out of the retention window from histories that do
// not depend on one source polling: the canary and hosts silent for longer
// than Retention. Both checks are O(1) or a read-only scan unless something expires.
func (s *Store) age(f *fold, next *Snapshot) {
	if h := next.Canary.History; len(h) > 0 && h[0].At.Before(f.cutoff) {
		src := next.Canary.Source
		next.Canary = probeSeries(trimBefore(h, f.cutoff, probeAt))
		next.Canary.Source = src
	}
	expired := 0
	for _, h := range next.Hosts {
		if h.LastSeen.Before(f.cutoff) {
			expired++
		}
	}
	if expired == 0 {
		return
	}
	hosts := make([]*Host, 0, len(next.Hosts)-expired)
	for _, h := range next.Hosts {
		if h.LastSeen.Before(f.cutoff) {
			delete(s.departed, h.Name)
			delete(s.tl.lost, h.Name)
			continue
		}
		hosts = append(hosts, h)
	}
	next.Hosts = hosts
}
