package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
)

const recordUsage = `NAME
    stacktop record - record what stacktop observes, for replay and the postmortem

SYNOPSIS
    stacktop record FILE [--os-cloud NAME] [--config FILE] [--duration DUR] [--force]
    stacktop record FILE --demo [--duration DUR] [--force]

DESCRIPTION
    Runs the same sources as stacktop (from the config file and environment,
    or the built-in demo) without the screen, and writes every observation
    batch to FILE as versioned JSON lines, gzip-compressed when FILE ends in
    .gz. Stops at ctrl-c, SIGTERM or after --duration, then prints a one-line
    summary. Every line is flushed as it is written: a recorder that is killed
    leaves a readable file. stacktop --record FILE records while showing the
    screen. Play a recording with stacktop replay FILE; turn it into an
    incident timeline with stacktop timeline FILE.

    A recording holds what the sources saw (service lists, queue depths,
    broker node gauges, heartbeats, errors), never credentials.

OPTIONS
    --duration DUR      stop after this long, e.g. 10m; leave it out to record
                        until ctrl-c (0 or less is an error)
    --force             replace FILE if it exists (without it an existing
                        FILE, perhaps an incident's recording, is refused)
    --demo, --os-cloud NAME, --config FILE
                        as for stacktop
`

func runRecord(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("stacktop record", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	var duration time.Duration
	fs.BoolVar(&o.demo, "demo", false, "")
	fs.StringVar(&o.cloud, "os-cloud", "", "")
	fs.StringVar(&o.configPath, "config", "", "")
	fs.DurationVar(&duration, "duration", 0, "")
	fs.BoolVar(&o.force, "force", false, "")
	file, code := parseWithFile(fs, args, "record", recordUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if durationSet && duration <= 0 {
		fmt.Fprintf(stderr, "stacktop record: --duration %s: want a positive duration such as 10m (leave it out to record until ctrl-c)\n", duration)
		return 2
	}
	if err := checkNewFile(file, o.force); err != nil {
		return fail(stderr, "stacktop record", err, nil)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	set, err := buildSources(ctx, o, getenv)
	if err != nil {
		return fail(stderr, "stacktop record", err, nil)
	}
	for _, w := range set.warnings {
		printSafe(stderr, "stacktop record: warning: "+w, set.secrets)
	}
	defer set.close()
	srcs := set.srcs
	rec, err := startRecording(file)
	if err != nil {
		return fail(stderr, "stacktop record", err, set.secrets)
	}
	fmt.Fprintf(stderr, "stacktop: recording to %s; ctrl-c stops\n", file)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec.onError = cancel // a full disk ends the recording rather than losing it silently
	p := newPipeline(state.NewStore(state.DefaultConfig()), srcs)
	p.secrets = set.secrets
	p.tap = rec.tap
	p.Run(ctx) // the snapshots go nowhere: pipeline.offer never blocks
	summary, err := rec.Close()
	fmt.Fprintln(stdout, summary)
	if err != nil {
		fmt.Fprintf(stderr, "stacktop record: %v\n", err)
		return 1
	}
	return 0
}

// parseWithFile parses args that hold exactly one FILE argument before,
// between or after the flags. code is -1 to go on, else the exit status
// (after --help, 0, or a usage error, 2).
func parseWithFile(fs *flag.FlagSet, args []string, cmd, usage string, stdout, stderr io.Writer) (file string, code int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				return "", 0
			}
			fmt.Fprintf(stderr, "stacktop %s: %v\nRun stacktop %s --help for usage.\n", cmd, err, cmd)
			return "", 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(pos) {
	case 0:
		fmt.Fprintf(stderr, "stacktop %s: which FILE?\nRun stacktop %s --help for usage.\n", cmd, cmd)
		return "", 2
	case 1:
		return pos[0], -1
	}
	fmt.Fprintf(stderr, "stacktop %s: unexpected argument %q\nRun stacktop %s --help for usage.\n", cmd, pos[1], cmd)
	return "", 2
}

// recorder writes the pipeline's batches to a recording and counts them.
type recorder struct {
	path    string
	w       *recording.Writer
	onError func() // called once when a write fails

	mu      sync.Mutex
	start   time.Time
	first   time.Time
	last    time.Time
	polls   map[string]int
	failed  map[string]int
	err     error
	flagged bool
}

// checkNewFile refuses an existing path unless force is set: stacktop record
// once silently replaced an incident's recording with a new one.
func checkNewFile(path string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return usageError{fmt.Errorf("%s exists: give --force to replace it, or another name", path)}
	}
	return nil
}

func startRecording(path string) (*recorder, error) {
	now := time.Now()
	w, err := recording.Create(path, recording.Header{Started: now, Version: versionString()})
	if err != nil {
		return nil, err
	}
	return &recorder{path: path, w: w, start: now, polls: map[string]int{}, failed: map[string]int{}}, nil
}

// tap is the pipeline's hook: it writes b and counts it.
func (r *recorder) tap(b sources.Batch) {
	err := r.w.Write(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.err == nil && !errors.Is(err, recording.ErrClosed) {
			r.err = err
			if r.onError != nil && !r.flagged {
				r.flagged = true
				go r.onError()
			}
		}
		return
	}
	if r.first.IsZero() || b.At.Before(r.first) {
		r.first = b.At
	}
	if b.At.After(r.last) {
		r.last = b.At
	}
	r.polls[b.Source]++
	if !b.Health.OK {
		r.failed[b.Source]++
	}
}

// Close finishes the file and returns a one-line summary and the first error.
func (r *recorder) Close() (string, error) {
	cerr := r.w.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	if err == nil {
		err = cerr
	}
	n := 0
	var names []string
	for name, k := range r.polls {
		n += k
		names = append(names, name)
	}
	slices.Sort(names)
	var per []string
	for _, name := range names {
		s := fmt.Sprintf("%s %d", name, r.polls[name])
		if f := r.failed[name]; f > 0 {
			s += fmt.Sprintf(" (%d failed)", f)
		}
		per = append(per, s)
	}
	span := time.Duration(0)
	if !r.first.IsZero() {
		span = r.last.Sub(r.first)
	}
	size := ""
	if fi, serr := os.Stat(r.path); serr == nil {
		size = fmt.Sprintf(", %s", byteCount(fi.Size()))
	}
	summary := fmt.Sprintf("stacktop: recorded %d batch%s over %s to %s%s", n, map[bool]string{true: "", false: "es"}[n == 1], span.Round(time.Second), r.path, size)
	if len(per) > 0 {
		summary += ": " + strings.Join(per, ", ")
	}
	return summary, err
}

func byteCount(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
