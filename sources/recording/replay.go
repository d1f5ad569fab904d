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
	// pipeline takes batches. SetSpeed changes it while the replay plays.
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
	// Paused starts the replay paused (see SetPaused).
	Paused bool
}

// Replay is a sources.Source that plays a recording: every batch, in the
// recorded order, with its original times, paced by the gaps between those
// times (scaled by Speed) or by Step. Run plays the recording once and
// returns nil at its end. It can be paused and resumed, and its speed
// changed, while it plays.
type Replay struct {
	rd   *Reader
	opts ReplayOptions
	kick chan struct{} // wakes a waiting Run after SetPaused or SetSpeed

	waiting func(paused bool) // tests: called each time wait is about to block

	mu       sync.Mutex
	started  bool
	paused   bool
	speed    float64   // Speed, as SetSpeed last set it
	posAt    time.Time // pacing: the recording time that played at clock time posReal
	posReal  time.Time
	lastAt   time.Time // newest batch time emitted so far
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
	return &Replay{rd: rd, opts: opts, paused: opts.Paused, speed: opts.Speed, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// SetSpeed changes the speed (as ReplayOptions.Speed; 0 for as fast as
// possible) from where the replay stands: its clock goes on from the same
// time, the rest of the gap to the next batch played at the new speed. A
// stepping replay ignores it.
func (r *Replay) SetSpeed(speed float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if speed == r.speed {
		return
	}
	r.posAt, r.posReal = r.nowLocked(), r.opts.Clock.Now()
	r.speed = speed
	r.wake()
}

// SetPaused pauses or resumes the replay. Paused, it emits no batch and
// its clock (Now) stands still; resumed, it plays on from where it stopped,
// the next batch as far away in recording time as it was at the pause (what
// would have played meanwhile is not played at once). Batches before From,
// and the first batch when From is zero, are the state a replay starts
// from: they are emitted even when paused. Steps received while paused are
// dropped.
func (r *Replay) SetPaused(paused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if paused == r.paused {
		return
	}
	r.posAt, r.posReal = r.nowLocked(), r.opts.Clock.Now()
	r.paused = paused
	r.wake()
}

// wake makes a waiting Run look at its pacing again.
func (r *Replay) wake() {
	select {
	case r.kick <- struct{}{}:
	default: // Run has a wake-up pending already
	}
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
// past it), standing still while paused, when stepping, playing at full
// speed, or after the end. Before the first batch it is From, or the
// recording's start. Pass it as the UI's clock so that ages read as they
// did when recorded.
func (r *Replay) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nowLocked()
}

func (r *Replay) nowLocked() time.Time {
	if r.lastAt.IsZero() {
		if !r.opts.From.IsZero() {
			return r.opts.From
		}
		return r.rd.Header().Started
	}
	if r.finished || r.opts.Step != nil || r.nextAt.IsZero() {
		return r.lastAt
	}
	t := r.posAt // at full speed the clock waits for the batches, never going back
	if !r.paused && r.speed > 0 {
		t = t.Add(time.Duration(float64(r.opts.Clock.Now().Sub(r.posReal)) * r.speed))
	}
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

	clock, from := r.opts.Clock, r.opts.From
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
				r.mu.Lock()
				r.posAt, r.posReal = b.At, clock.Now()
				if !from.IsZero() {
					r.posAt = from
					if from.After(r.lastAt) {
						r.lastAt = from // the clock starts at From
					}
				}
				r.mu.Unlock()
				if !from.IsZero() && r.opts.Step == nil {
					if err := r.wait(ctx, b.At); err != nil {
						return err
					}
				}
			case r.opts.Step != nil:
				if err := r.waitStep(ctx, b.At); err != nil {
					return err
				}
			default:
				if err := r.wait(ctx, b.At); err != nil {
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
		r.nextAt = time.Time{}
		r.played++
		r.mu.Unlock()
		emit(b)
	}
}

// wait returns when the batch of time at is due: when the replay's clock,
// paced from posAt at the speed and stopped while paused, reaches it. At full
// speed it is due at once, unless paused.
func (r *Replay) wait(ctx context.Context, at time.Time) error {
	r.setNext(at)
	var timer <-chan time.Time // nil while paused: only a kick ends the pause
	var due time.Time          // when timer fires, by the clock
	for {
		r.mu.Lock()
		paused := r.paused
		var until time.Time // zero at full speed: due at once
		if !paused && r.speed > 0 {
			until = r.posReal.Add(scale(at.Sub(r.posAt), r.speed))
		}
		now := r.opts.Clock.Now()
		r.mu.Unlock()
		switch {
		case paused:
			timer = nil
		case !until.After(now):
			return nil
		case timer == nil || !until.Equal(due): // a kick that changed nothing keeps the timer
			timer, due = r.opts.Clock.After(until.Sub(now)), until
		}
		if r.waiting != nil {
			r.waiting(paused)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.kick: // paused, resumed or the speed changed: look again
		case <-timer: // look again: a kick may have come meanwhile
			timer = nil
		}
	}
}

// waitStep returns when a step comes while the replay is not paused, noting
// that the batch of time at is next.
func (r *Replay) waitStep(ctx context.Context, at time.Time) error {
	r.setNext(at)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.opts.Step:
		}
		r.mu.Lock()
		paused := r.paused
		r.mu.Unlock()
		if !paused {
			return nil
		}
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
