package recording

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// NameReplay is the name of the replay source. The batches it emits keep
// the names of the sources that recorded them.
const NameReplay = "replay"

// Clock is what a Replay paces itself by; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ReplayOptions say how a Replay plays its recording.
type ReplayOptions struct {
	// Speed is how many seconds of recording play per second: 1 for real
	// time, 10 for ten times faster; 0 (or less) plays as fast as the
	// pipeline takes batches.
	Speed float64
	// From skips ahead: batches before From are emitted at once, without
	// pacing (the state still needs them for its history), and playing at
	// Speed starts at From. Zero plays from the start.
	From time.Time
	// Step, when not nil, makes the replay emit one batch per value received
	// (after the first batch at or after From, which comes at once), ignoring Speed.
	Step <-chan struct{}
	// Clock paces the replay; nil for the real clock.
	Clock Clock
}

// Replay is a sources.Source that plays a recording: every batch, in the
// recorded order, with its original times, paced by the gaps between those
// times (scaled by Speed) or by Step. Run plays the recording once and
// returns nil at its end.
type Replay struct {
	rd   *Reader
	opts ReplayOptions

	mu       sync.Mutex
	started  bool
	lastAt   time.Time // newest batch time emitted so far
	lastReal time.Time // the clock when it was emitted
	nextAt   time.Time // the batch being waited for, zero when none
	played   int
	finished bool
	done     chan struct{}
}

// NewReplay returns a source that plays the batches rd yields. The reader
// belongs to the Replay from then on; the caller still closes it after Run.
func NewReplay(rd *Reader, opts ReplayOptions) *Replay {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	return &Replay{rd: rd, opts: opts, done: make(chan struct{})}
}

// Name is NameReplay.
func (r *Replay) Name() string { return NameReplay }

// Done is closed when the whole recording has been played (or Run gave up).
func (r *Replay) Done() <-chan struct{} { return r.done }

// Played returns how many batches have been emitted.
func (r *Replay) Played() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.played
}

// Errors returns the recording's skipped lines; call it after Done.
func (r *Replay) Errors() []*LineError {
	select {
	case <-r.done:
		return r.rd.Errors()
	default:
		return nil
	}
}

// Now is the replay's clock, in recording time: the time of the newest
// batch played, advancing at Speed while the next batch is awaited (never
// past it), standing still when stepping, playing at full speed, or after
// the end. Before the first batch it is From, or the recording's start.
// Pass it as the UI's clock so that ages read as they did when recorded.
func (r *Replay) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastAt.IsZero() {
		if !r.opts.From.IsZero() {
			return r.opts.From
		}
		return r.rd.Header().Started
	}
	if r.finished || r.opts.Speed <= 0 || r.opts.Step != nil || r.nextAt.IsZero() {
		return r.lastAt
	}
	t := r.lastAt.Add(time.Duration(float64(r.opts.Clock.Now().Sub(r.lastReal)) * r.opts.Speed))
	if t.After(r.nextAt) {
		t = r.nextAt
	}
	if t.Before(r.lastAt) {
		t = r.lastAt
	}
	return t
}

// Run plays the recording into emit until its end (returning nil), ctx is
// cancelled, or the file cannot be read.
func (r *Replay) Run(ctx context.Context, emit func(sources.Batch)) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("recording: a Replay plays only once")
	}
	r.started = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.finished, r.nextAt = true, time.Time{}
		r.mu.Unlock()
		close(r.done)
	}()

	clock, speed, from := r.opts.Clock, r.opts.Speed, r.opts.From
	var anchorRec, anchorReal time.Time // pacing: recording time anchorRec plays at clock time anchorReal
	first := true
	for {
		b, err := r.rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if from.IsZero() || !b.At.Before(from) {
			switch {
			case first:
				first = false
				anchorRec, anchorReal = b.At, clock.Now()
				if !from.IsZero() {
					anchorRec = from
					r.mu.Lock()
					if from.After(r.lastAt) {
						r.lastAt, r.lastReal = from, anchorReal // the clock starts at From
					}
					r.mu.Unlock()
				}
				if speed > 0 && r.opts.Step == nil {
					if err := r.wait(ctx, b.At, anchorReal.Add(scale(b.At.Sub(anchorRec), speed))); err != nil {
						return err
					}
				}
			case r.opts.Step != nil:
				r.setNext(b.At)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-r.opts.Step:
				}
			case speed > 0:
				if err := r.wait(ctx, b.At, anchorReal.Add(scale(b.At.Sub(anchorRec), speed))); err != nil {
					return err
				}
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.mu.Lock()
		if b.At.After(r.lastAt) {
			r.lastAt = b.At
		}
		r.lastReal = clock.Now()
		r.nextAt = time.Time{}
		r.played++
		r.mu.Unlock()
		emit(b)
	}
}

// wait sleeps until the clock reads until, noting that the batch of time at is next.
func (r *Replay) wait(ctx context.Context, at, until time.Time) error {
	d := until.Sub(r.opts.Clock.Now())
	if d <= 0 {
		return nil
	}
	r.setNext(at)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.opts.Clock.After(d):
		return nil
	}
}

func (r *Replay) setNext(at time.Time) {
	r.mu.Lock()
	if at.After(r.lastAt) {
		r.nextAt = at
	}
	r.mu.Unlock()
}

// scale divides a recording-time span by speed.
func scale(d time.Duration, speed float64) time.Duration {
	return time.Duration(float64(d) / speed)
}
