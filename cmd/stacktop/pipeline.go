package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// pipeline runs the sources, folds their batches into the store on one
// goroutine, and offers each new snapshot to the UI. The UI always gets the
// newest snapshot: if it has not taken the previous one yet, that one is
// replaced, so a slow terminal never backs up the sources.
type pipeline struct {
	store   *state.Store
	sources []sources.Source
	out     chan *state.Snapshot
	tap     func(sources.Batch) // sees every batch before it is folded (recording); may be nil
	secrets *redact.Secrets     // the configuration's secrets, scrubbed from every batch's error texts; may be nil
}

func newPipeline(store *state.Store, srcs []sources.Source) *pipeline {
	bindStore(srcs, store) // sources that read snapshots (rpcping: its targets)
	return &pipeline{store: store, sources: srcs, out: make(chan *state.Snapshot, 1)}
}

// Snapshots is the channel the UI reads.
func (p *pipeline) Snapshots() <-chan *state.Snapshot { return p.out }

// Run blocks until ctx is cancelled and every source has returned.
func (p *pipeline) Run(ctx context.Context) {
	batches := make(chan sources.Batch, 16)
	var wg sync.WaitGroup
	for _, s := range p.sources {
		wg.Add(1)
		go func(s sources.Source) {
			defer wg.Done()
			emit := func(b sources.Batch) {
				select {
				case batches <- b:
				case <-ctx.Done():
				}
			}
			if err := s.Run(ctx, emit); err != nil && ctx.Err() == nil {
				// A source that gives up says so through its health, like any failed poll.
				emit(sources.Batch{Source: s.Name(), At: time.Now(),
					Health: sources.Health{Err: fmt.Sprintf("%s: stopped: %v", s.Name(), err)}})
			}
		}(s)
	}
	go func() { wg.Wait(); close(batches) }()
	for b := range batches {
		b = scrubBatch(b, p.secrets)
		if p.tap != nil {
			p.tap(b)
		}
		p.offer(p.store.Apply(b))
	}
}

// offer replaces any snapshot the UI has not taken yet with s.
func (p *pipeline) offer(s *state.Snapshot) { offerNewest(p.out, s) }

// offerNewest puts v on ch, replacing a value (a snapshot, a replay's
// status) nobody took yet.
func offerNewest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// scrubBatch removes the known secrets and any URL userinfo from the texts
// of b that carry errors (health, probe details) before the screen or a
// recording sees them: the sources redact their own, this holds for every
// source at once. The probes are copied, never changed in place.
func scrubBatch(b sources.Batch, secrets *redact.Secrets) sources.Batch {
	b.Health.Err = secrets.Scrub(b.Health.Err)
	b.Health.Detail = secrets.Scrub(b.Health.Detail)
	b.Health.Target = secrets.Scrub(b.Health.Target)
	copied := false
	for i, pr := range b.Probes {
		if d := secrets.Scrub(pr.Detail); d != pr.Detail {
			if !copied {
				b.Probes, copied = append([]sources.Probe(nil), b.Probes...), true
			}
			b.Probes[i].Detail = d
		}
	}
	return b
}
