package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/state/timeline"
)

const timelineUsage = `NAME
    stacktop timeline - an incident timeline from a recording

SYNOPSIS
    stacktop timeline FILE [--since T] [--until T] [--format markdown|text|json] [--group DUR] [--utc] [--config FILE]

DESCRIPTION
    Folds a recording (stacktop record) through stacktop's state, as a live
    run would, and prints what changed, when, and the evidence: Nova services
    going down and up or flapping, processes restarted and hosts rebooted,
    broker alarms raised and cleared, partitions, broker nodes stopped or
    restarted, hosts whose heartbeats were lost, the broker canary failing,
    a source's polls failing and recovering, and the verdict changing.

    The markdown format is an incident report's Timeline section, one bullet
    per change: "- [22:30:05] what changed — evidence (source)". Times are
    in the local zone, or UTC with --utc or utc: true in the config file
    (as for stacktop), which the heading names (with the date when the
    recording spans days). The same change on several hosts within --group
    of the first is one line naming the hosts.

    The json format is one document for programs, times in RFC 3339 UTC:
    every entry with its
    time, kind, level ("problem", "recovery", "info"), hosts and evidence as
    fields, and under "verdicts" every change of the verdict with its cause
    as a word ("broker", "auth", "conductor", "process", "host-down", ...,
    "none" when it cleared) and whether its evidence was thin.

    Unreadable lines of the recording are skipped, listed on stderr and
    noted under the timeline.

OPTIONS
    --since T, --until T
                    only changes in this period; T is RFC3339 or HH:MM[:SS]
                    in the zone shown, on the recording's day. State before --since still
                    counts: the whole recording is folded.
    --format F      markdown (default), text or json
    --group DUR     merge the same change on many hosts within DUR (default
                    30s; 0 lists every host's change on its own line)
    --utc           times in UTC, not the local zone
    --config FILE   the config file whose utc key is read, as for stacktop
                    (default: $STACKTOP_CONFIG, then ~/.config/stacktop/config.yaml)
`

func runTimeline(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("stacktop timeline", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var sinceFlag, untilFlag, format, configFlag string
	var group time.Duration
	var utc bool
	fs.StringVar(&sinceFlag, "since", "", "")
	fs.StringVar(&untilFlag, "until", "", "")
	fs.StringVar(&format, "format", "markdown", "")
	fs.DurationVar(&group, "group", 30*time.Second, "")
	fs.BoolVar(&utc, "utc", false, "")
	fs.StringVar(&configFlag, "config", "", "")
	file, code := parseWithFile(fs, args, "timeline", timelineUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	if err := useConfiguredZone(utc, configFlag, stderr, getenv); err != nil {
		return fail(stderr, "stacktop timeline", err, nil)
	}
	write := map[string]func(io.Writer, []state.Event, timeline.Meta, timeline.Options) error{
		"markdown": timeline.Markdown, "md": timeline.Markdown, "text": timeline.Text,
	}[format]
	if write == nil && format != "json" {
		fmt.Fprintf(stderr, "stacktop timeline: --format %s: want markdown, text or json\n", format)
		return 2
	}
	rd, err := recording.Open(file)
	if err != nil {
		printSafe(stderr, "stacktop timeline: "+err.Error(), nil)
		return 1
	}
	defer rd.Close()
	var since, until time.Time
	for _, f := range []struct {
		name, val string
		to        *time.Time
	}{{"since", sinceFlag, &since}, {"until", untilFlag, &until}} {
		if f.val == "" {
			continue
		}
		if *f.to, err = parseWhen(f.val, rd.Header().Started); err != nil {
			fmt.Fprintf(stderr, "stacktop timeline: --%s %s: %v\n", f.name, f.val, err)
			return 2
		}
	}

	b := timeline.NewBuilder(state.DefaultConfig())
	for {
		batch, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			printSafe(stderr, fmt.Sprintf("stacktop timeline: %s: %v", file, err), nil)
			return 1
		}
		b.Add(batch)
	}
	meta := b.Meta()
	meta.Recorder = rd.Header().Version
	for i, e := range rd.Errors() {
		printSafe(stderr, fmt.Sprintf("stacktop timeline: %s: %v (skipped)", file, e), nil)
		switch {
		case i < 10 && errors.Is(e, recording.ErrTruncated):
			meta.Notes = append(meta.Notes, fmt.Sprintf("the recording ends early, at line %d (%v): its recorder was stopped hard; the timeline ends there", e.Line, e.Err))
		case i < 10:
			meta.Notes = append(meta.Notes, fmt.Sprintf("recording line %d skipped: %v", e.Line, e.Err))
		case i == 10:
			meta.Notes = append(meta.Notes, fmt.Sprintf("and %d more unreadable lines", len(rd.Errors())-10))
		}
	}
	if _, ok := rd.End(); !ok && len(rd.Errors()) == 0 && meta.Batches > 0 {
		meta.Notes = append(meta.Notes, "the recording has no end record: its recorder stopped without closing it, the timeline ends where the file does")
	}
	entries := state.GroupEvents(timeline.Filter(b.Events(), since, until), group)
	opts := timeline.Options{Since: since, Until: until}
	if write == nil {
		write = func(w io.Writer, es []state.Event, m timeline.Meta, o timeline.Options) error {
			return timeline.JSON(w, es, timeline.FilterVerdicts(b.Verdicts(), since, until), m, o)
		}
	}
	if err := write(stdout, entries, meta, opts); err != nil {
		printSafe(stderr, "stacktop timeline: "+err.Error(), nil)
		return 1
	}
	return 0
}
