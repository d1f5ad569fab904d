package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui"
)

const replayUsage = `NAME
    stacktop replay - play a recording in the stacktop screen

SYNOPSIS
    stacktop replay FILE [--speed 1|2|10|max] [--step] [--from T] [--utc] [--config FILE] [--no-color]

DESCRIPTION
    Plays a recording made with stacktop record (or --record) through the
    same state and screen as a live run. Every batch keeps its recorded
    time, so the clock, ages and timelines read as they did then. Where the
    clock stands in a live run, the header shows the replay: REPLAY with its
    speed, the replay's clock and how much of the recording lies behind it
    (REPLAY 10x 06:14:07 (43%)), or REPLAY STEP with the batches played
    (12/340), and END OF RECORDING once everything has played.

    Times are shown and read in the local zone, or in UTC with --utc or
    utc: true in the config file (as for stacktop); the header names the
    zone.

    Keys are those of stacktop, and: t seeks (type a time, HH:MM[:SS],
    enter; the replay starts over from the recording's beginning, folds
    everything before that time at once and plays on from there); n, with
    --step, plays the next batch (one poll of one source). p pauses the
    replay itself: no batch plays and its clock stands still (REPLAY
    PAUSED); p again plays on from there, the recording's gaps kept. A
    seek while paused shows the state at that time and stays paused. The
    keys + and - play faster or slower, stepping through 1x, 2x, 5x, 10x,
    30x and max (as fast as the screen takes it), from where the replay
    stands: its clock goes on from the same time. They do nothing with
    --step.

    Lines of the recording that cannot be read are skipped and listed when
    the replay ends.

OPTIONS
    --speed S       1 (real time, default), 2, 10, any factor, or max; the
                    speed to start at
    --step          advance one batch per press of n
    --from T        start at T: what came before is folded at once; T is
                    RFC3339 or HH:MM[:SS] on the recording's day, in the
                    zone shown (local, or UTC with --utc or utc: true)
    --retention DUR as for stacktop
    --utc           show and read times in UTC, not the local zone
    --config FILE   the config file whose utc key is read, as for stacktop
                    (default: $STACKTOP_CONFIG, then ~/.config/stacktop/config.yaml)
    --no-color      as for stacktop
`

func runReplay(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("stacktop replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var speedFlag, fromFlag, configFlag string
	var step, noColor, utc bool
	var retention time.Duration
	fs.StringVar(&speedFlag, "speed", "1", "")
	fs.BoolVar(&step, "step", false, "")
	fs.StringVar(&fromFlag, "from", "", "")
	fs.DurationVar(&retention, "retention", 0, "")
	fs.BoolVar(&noColor, "no-color", false, "")
	fs.BoolVar(&utc, "utc", false, "")
	fs.StringVar(&configFlag, "config", "", "")
	file, code := parseWithFile(fs, args, "replay", replayUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	if err := useConfiguredZone(utc, configFlag, stderr, getenv); err != nil {
		return fail(stderr, "stacktop replay", err, nil)
	}
	speed, err := parseSpeed(speedFlag)
	if err != nil {
		fmt.Fprintf(stderr, "stacktop replay: --speed %s: %v\n", speedFlag, err)
		return 2
	}
	if retention != 0 && retention < time.Minute {
		fmt.Fprintf(stderr, "stacktop replay: --retention %s: want at least 1m\n", retention)
		return 2
	}
	if getenv("NO_COLOR") != "" {
		noColor = true
	}
	rd, err := recording.Open(file)
	if err != nil {
		printSafe(stderr, "stacktop replay: "+err.Error(), nil)
		return 1
	}
	started := rd.Header().Started
	rd.Close()
	var from time.Time
	if fromFlag != "" {
		if from, err = parseWhen(fromFlag, started); err != nil {
			fmt.Fprintf(stderr, "stacktop replay: --from %s: %v\n", fromFlag, err)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := state.DefaultConfig()
	if retention != 0 {
		cfg.Retention = retention
	}
	sess := newReplaySession(ctx, file, cfg, speed, step)
	if err := sess.seek(from); err != nil {
		printSafe(stderr, "stacktop replay: "+err.Error(), nil)
		return 1
	}
	_, err = tea.NewProgram(ui.New(sess.uiOptions(noColor)), tea.WithContext(ctx)).Run()
	summary := sess.summary()
	cancel()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = nil
	}
	printSafe(stderr, summary, nil) // the recording's errors may quote its bytes
	if err != nil {
		printSafe(stderr, "stacktop replay: "+err.Error(), nil)
		return 1
	}
	return 0
}

// replaySession plays a recording into one snapshot channel for the UI,
// and says where it stands on a second one (ui.ReplayStatus, for the
// header). Seeking starts over: a fresh store and a fresh Replay from the
// file's start, folding everything before the target at once (the state
// needs the history), then playing on at the session's speed or step by step.
type replaySession struct {
	ctx    context.Context
	file   string
	cfg    state.Config
	speed  float64
	clock  recording.Clock      // paces the replays; nil for the real clock (tests set it before the first seek)
	out    chan *state.Snapshot // what the UI reads; always the newest snapshot
	status chan ui.ReplayStatus // the replay's newest status, for the UI's header
	steps  chan struct{}        // nil unless stepping

	mu     sync.Mutex
	gen    int // bumped by every seek; snapshots of older generations are dropped
	cur    *recording.Replay
	rd     *recording.Reader
	cancel context.CancelFunc
	paused bool             // p: the replay (and every replay a seek starts) stands still
	ended  bool             // the current replay has played the whole recording
	extent recording.Extent // the recording's batches and span, once measured
}

// newReplaySession prepares a replay of file (nothing plays before the
// first seek) and starts measuring the recording for the status.
func newReplaySession(ctx context.Context, file string, cfg state.Config, speed float64, step bool) *replaySession {
	s := &replaySession{ctx: ctx, file: file, cfg: cfg, speed: speed,
		out: make(chan *state.Snapshot, 1), status: make(chan ui.ReplayStatus, 1)}
	if step {
		s.steps = make(chan struct{}, 16)
	}
	go func() {
		// Only the status's totals and percentage wait for this; a recording
		// that cannot be read says so through the replay itself.
		ext, err := recording.Measure(ctx, file)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.extent = ext
		s.publishLocked()
		s.mu.Unlock()
	}()
	return s
}

// uiOptions connects the screen to the session: its snapshots and status,
// its clock, and the keys that seek, pause, step or change speed.
func (s *replaySession) uiOptions(noColor bool) ui.Options {
	o := ui.Options{Updates: s.out, Replay: s.status, Now: s.Now, NoColor: noColor, Cloud: recordedTarget(s.file),
		Seek: func(t time.Time) { _ = s.seek(t) }, Pause: s.togglePause}
	if s.steps != nil {
		o.Step = s.step
	} else {
		o.ChangeSpeed = s.changeSpeed
	}
	return o
}

// seek (re)starts the replay at t; the zero t is the recording's start.
func (s *replaySession) seek(t time.Time) error {
	rd, err := recording.Open(s.file)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)

	s.mu.Lock()
	rp := recording.NewReplay(rd, recording.ReplayOptions{Speed: s.speed, From: t, Step: s.steps, Clock: s.clock, Paused: s.paused})
	p := newPipeline(state.NewStore(s.cfg), []sources.Source{rp})
	if s.cancel != nil {
		s.cancel()
	}
	s.gen++
	gen := s.gen
	s.cur, s.rd, s.cancel, s.ended = rp, rd, cancel, false
	select { // a snapshot of the old position must not be shown after the seek
	case <-s.out:
	default:
	}
	s.publishLocked()
	s.mu.Unlock()
	for len(s.steps) > 0 { // steps pressed before the seek are for the old position
		<-s.steps
	}

	go func() {
		defer rd.Close()
		p.Run(ctx)
	}()
	go func() {
		done := rp.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case snap := <-p.Snapshots():
				s.mu.Lock()
				if s.gen == gen {
					offerNewest(s.out, snap)
					s.publishLocked()
				}
				s.mu.Unlock()
			case <-done:
				done = nil
				s.mu.Lock()
				if s.gen == gen && ctx.Err() == nil { // played to the end, not stopped by a seek
					s.ended = true
					s.publishLocked()
				}
				s.mu.Unlock()
			}
		}
	}()
	return nil
}

// publishLocked offers the UI the replay's status as it stands; s.mu is held.
func (s *replaySession) publishLocked() {
	if s.cur == nil {
		return // nothing plays before the first seek
	}
	offerNewest(s.status, ui.ReplayStatus{Speed: s.speed, Step: s.steps != nil, Paused: s.paused, Ended: s.ended,
		Played: s.cur.Played(), Total: s.extent.Batches, Start: s.extent.First, End: s.extent.Last, At: s.cur.Now()})
}

func (s *replaySession) replay() *recording.Replay {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Now is the replay's clock, for the UI.
func (s *replaySession) Now() time.Time { return s.replay().Now() }

// togglePause pauses the replay, or resumes it where it stopped (key p):
// paused, no batch plays and the clock stands still. A seek keeps it paused,
// showing the state at the time sought.
func (s *replaySession) togglePause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = !s.paused
	if s.cur != nil {
		s.cur.SetPaused(s.paused)
	}
	s.publishLocked()
}

// replaySpeeds are the speeds + and - step through, before max (0).
var replaySpeeds = []float64{1, 2, 5, 10, 30}

// nextSpeed is the speed one step faster or slower than cur on
// replaySpeeds then max; a speed between steps (--speed 3) goes to the
// nearest step that way. Max is the fastest, 1 the slowest step (a slower
// --speed stays).
func nextSpeed(cur float64, faster bool) float64 {
	if faster {
		if cur <= 0 {
			return 0
		}
		for _, s := range replaySpeeds {
			if s > cur {
				return s
			}
		}
		return 0
	}
	if cur <= 0 {
		return replaySpeeds[len(replaySpeeds)-1]
	}
	for i := len(replaySpeeds) - 1; i >= 0; i-- {
		if replaySpeeds[i] < cur {
			return replaySpeeds[i]
		}
	}
	return cur
}

// changeSpeed plays one speed faster or slower (keys + and -) from where the
// replay stands; seeks keep the speed.
func (s *replaySession) changeSpeed(faster bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.speed = nextSpeed(s.speed, faster)
	if s.cur != nil {
		s.cur.SetSpeed(s.speed)
	}
	s.publishLocked()
}

// step lets a stepping replay play one more batch.
func (s *replaySession) step() {
	select {
	case s.steps <- struct{}{}:
	default: // sixteen steps already queued
	}
}

// summary says how far the replay got and which lines it skipped.
func (s *replaySession) summary() string {
	rp := s.replay()
	var b strings.Builder
	fmt.Fprintf(&b, "stacktop: replayed %s", s.file)
	select {
	case <-rp.Done():
		b.WriteString(" to the end")
	default:
		fmt.Fprintf(&b, ", stopped at %s %s", format.Stamp(rp.Now()), format.ZoneName(rp.Now()))
	}
	if errs := rp.Errors(); len(errs) > 0 {
		fmt.Fprintf(&b, "; %d unreadable line%s skipped:", len(errs), map[bool]string{true: "", false: "s"}[len(errs) == 1])
		for i, e := range errs {
			if i == 10 {
				fmt.Fprintf(&b, "\n  and %d more", len(errs)-10)
				break
			}
			fmt.Fprintf(&b, "\n  %s: %v", s.file, e)
		}
	}
	return b.String()
}

// parseSpeed reads 1, 2, 10, 2x, 0.5 or max (0: as fast as possible).
func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "x"), 64)
	if err != nil || f <= 0 || f > 1e6 {
		return 0, errors.New("want a positive factor such as 1, 2 or 10, or max")
	}
	return f, nil
}

// parseWhen reads T as RFC3339, or as HH:MM[:SS] in the display zone
// (format.Zone) on the day of start there;
// the day after when that is more than an hour before start (a recording
// that runs past midnight).
func parseWhen(s string, start time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var clock time.Time
	var err error
	for _, layout := range []string{"15:04:05", "15:04"} {
		if clock, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC3339 (2026-08-12T22:30:00Z) or HH:MM[:SS] in %s", format.ZoneName(start))
	}
	if start.IsZero() {
		return time.Time{}, errors.New("the recording has no start date: give T as RFC3339")
	}
	y, mo, d := format.In(start).Date()
	t := time.Date(y, mo, d, clock.Hour(), clock.Minute(), clock.Second(), 0, format.Zone())
	if t.Before(start.Add(-time.Hour)) {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// recordedTarget is the cloud a recording watched, from its first Nova
// batch within the first thousand lines, or the file name.
func recordedTarget(file string) string {
	rd, err := recording.Open(file)
	if err != nil {
		return file
	}
	defer rd.Close()
	for i := 0; i < 1000; i++ {
		b, err := rd.Next()
		if err != nil {
			break
		}
		if b.Source == sources.NameNova && b.Health.Target != "" {
			return b.Health.Target
		}
	}
	return file
}
