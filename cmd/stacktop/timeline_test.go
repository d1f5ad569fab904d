package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
)

func noEnv(string) string { return "" }

// timelineOf runs stacktop timeline with args and returns its output.
func timelineOf(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(append([]string{"timeline"}, args...), &out, &errs, noEnv); code != 0 {
		t.Fatalf("stacktop timeline %s: exit %d: %s", strings.Join(args, " "), code, errs.String())
	}
	return out.String(), errs.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestTimelineOfDemoRecording(t *testing.T) {
	md, _ := timelineOf(t, demoRecording, "--format", "markdown")
	golden(t, "demo-incident.md", md)
	// What the demo's incident must show, whatever the golden file says.
	for _, want := range []string{
		"## Timeline\n\nAll times UTC. Observed 2026-11-25 04:27:23–04:28:06 (43s), 72 batches from heartbeat, nova, rabbitmq, recorded by stacktop dev.\n\n",
		"] Nova lists 11 services: 11 up — all up (nova)\n",
		"] nova-compute down on 6 hosts: compute-01, compute-02, compute-03, compute-04, compute-05, compute-06",
		"] broker canary failing — blocked after",
		"] rabbitmq polls failing — rabbitmq: list queues:",
		"] heartbeat polls failing — Exception (320) Reason: \"CONNECTION\\_FORCED",
		"] rabbit@mq-1 restarted — uptime went from",
		"] nova-compute up on 5 hosts:",
		"] nova-compute restarted on 4 hosts: compute-02, compute-03, compute-04, compute-05 (over 8s) — new pid or start time in the hosts' heartbeats (heartbeat)\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	// Newest last, every line a bullet with a time.
	var last string
	for _, l := range strings.Split(strings.TrimSpace(md), "\n")[4:] {
		if !strings.HasPrefix(l, "- [04:") {
			t.Errorf("line %q", l)
			continue
		}
		if ts := l[3:11]; ts < last {
			t.Errorf("%s before %s", ts, last)
		} else {
			last = ts
		}
	}

	text, _ := timelineOf(t, demoRecording, "--format", "text", "--group", "0")
	if !strings.Contains(text, "04:27:33  nova-scheduler down on ctl-1 — Nova: state down, last report 04:27:27 (6s before) [nova]\n") ||
		!strings.Contains(text, "\n04:27:36  nova-compute down on compute-0") || strings.Contains(text, "down on 6 hosts") {
		t.Errorf("text without grouping:\n%s", text)
	}
}

func TestTimelinePeriod(t *testing.T) {
	md, _ := timelineOf(t, demoRecording, "--since", "04:27:50", "--until", "2026-11-25T04:28:00Z")
	if !strings.Contains(md, " Showing 2026-11-25 04:27:50 to 2026-11-25 04:28:00.") {
		t.Errorf("heading:\n%s", md)
	}
	n := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "- [") {
			n++
			if ts := l[3:11]; ts < "04:27:50" || ts > "04:28:00" {
				t.Errorf("outside the period: %s", l)
			}
		}
	}
	if n < 5 {
		t.Errorf("%d entries in the period:\n%s", n, md)
	}
	var stderr bytes.Buffer
	if code := run([]string{"timeline", demoRecording, "--since", "yesterday"}, io.Discard, &stderr, noEnv); code != 2 || !strings.Contains(stderr.String(), "--since yesterday: want RFC3339") {
		t.Errorf("bad --since: exit %d, %s", code, stderr.String())
	}
}

// decompressed returns the demo recording's lines.
func decompressed(t *testing.T) []string {
	t.Helper()
	return decompressedFile(t, demoRecording)
}

// decompressedFile returns the lines of a gzip-compressed recording.
func decompressedFile(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(raw), "\n")
}

func TestTimelineSkipsBadLines(t *testing.T) {
	lines := decompressed(t)
	full, _ := timelineOf(t, demoRecording)
	// Line 11 is mangled, and the file ends in the middle of its last batch.
	lines[10] = lines[10][:len(lines[10])/3] + "\n"
	last := len(lines) - 3 // the last line is "", then the end record, then the last batch
	lines[last] = lines[last][:100]
	path := filepath.Join(t.TempDir(), "damaged.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines[:last+1], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	md, stderr := timelineOf(t, path)
	for _, want := range []string{"damaged.jsonl: line 11: malformed JSON", "damaged.jsonl: line " + itoa(last+1) + ": recording truncated: the last line is cut short"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(md, "> Note: recording line 11 skipped: malformed JSON") || !strings.Contains(md, "> Note: the recording ends early, at line "+itoa(last+1)+" (recording truncated: the last line is cut short") {
		t.Errorf("notes missing:\n%s", md)
	}
	// The rest still plays: the broker's restart near the end is there.
	if !strings.Contains(md, "] rabbit@mq-1 restarted — uptime went from") || strings.Count(md, "\n- [") < strings.Count(full, "\n- [")-3 {
		t.Errorf("timeline of the damaged file:\n%s", md)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRecordReplayExport replays the demo recording at full speed through
// the pipeline, as stacktop replay does, recording it again with the tap
// (as --record would), and checks that the replay folded the same state and
// that the re-recording exports the same timeline.
func TestRecordReplayExport(t *testing.T) {
	for _, tc := range []struct {
		file    string
		batches int
		end     string
	}{
		{demoRecording, 72, "2026-11-25T04:28:06Z"},
		{harnessRecording, 62, "2026-11-25T04:33:39Z"},
		{computeKillRecording, 211, "2026-11-25T06:35:48Z"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) { recordReplayExport(t, tc.file, tc.batches, tc.end) })
	}
}

func recordReplayExport(t *testing.T, file string, batches int, end string) {
	rd, err := recording.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rp := recording.NewReplay(rd, recording.ReplayOptions{Speed: 0})
	p := newPipeline(state.NewStore(state.DefaultConfig()), []sources.Source{rp})
	again := filepath.Join(t.TempDir(), "again.jsonl")
	rec, err := startRecording(again)
	if err != nil {
		t.Fatal(err)
	}
	p.tap = rec.tap
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last *state.Snapshot
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case s := <-p.Snapshots():
				last = s
			case <-rp.Done():
				return
			}
		}
	}()
	p.Run(ctx) // returns when the replay has played everything
	<-done
	// Run has offered every snapshot; the newest is on the channel unless
	// the collector took it before the replay said it was done.
	select {
	case s := <-p.Snapshots():
		last = s
	default:
	}
	if _, err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if rp.Played() != batches || len(rp.Errors()) != 0 {
		t.Fatalf("played %d, errors %v", rp.Played(), rp.Errors())
	}
	// The replay clock stops at the recording's last batch.
	if got := rp.Now().UTC().Format(time.RFC3339); got != end {
		t.Errorf("replay clock at the end: %s", got)
	}

	// The same state as folding the file directly.
	rd2, _ := recording.Open(file)
	defer rd2.Close()
	direct := state.NewStore(state.DefaultConfig())
	for {
		b, err := rd2.Next()
		if err != nil {
			break
		}
		direct.Apply(b)
	}
	want := direct.Snapshot()
	if last == nil || last.Seq != want.Seq || !last.At.Equal(want.At) || !reflect.DeepEqual(last.Services, want.Services) ||
		!reflect.DeepEqual(last.Restarts, want.Restarts) || !reflect.DeepEqual(last.Nodes, want.Nodes) {
		t.Errorf("replayed state differs from the recording folded directly")
	}

	a, _ := timelineOf(t, file)
	b, _ := timelineOf(t, again)
	if a != b {
		t.Errorf("the re-recorded replay exports another timeline:\n%s\n---\n%s", a, b)
	}
}

func TestParseWhen(t *testing.T) {
	start := time.Date(2026, 8, 12, 23, 30, 15, 0, time.UTC)
	for in, want := range map[string]string{
		"23:45":                     "2026-08-12T23:45:00Z",
		"23:29:00":                  "2026-08-12T23:29:00Z", // just before the start: the same day
		"00:10":                     "2026-08-13T00:10:00Z", // after midnight
		"2026-08-12T22:00:00Z":      "2026-08-12T22:00:00Z",
		"2026-08-13T01:00:00+02:00": "2026-08-12T23:00:00Z",
	} {
		got, err := parseWhen(in, start)
		if err != nil || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "25:00", "noon", "12"} {
		if _, err := parseWhen(bad, start); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{"1": 1, "2": 2, "10": 10, "10x": 10, "0.5": 0.5, "max": 0} {
		if got, err := parseSpeed(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "fast", ""} {
		if _, err := parseSpeed(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReplaySessionSeeks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	end := time.Date(2026, 11, 25, 4, 28, 6, 0, time.UTC)
	sess := newReplaySession(ctx, demoRecording, state.DefaultConfig(), 0, false)
	if err := sess.seek(time.Time{}); err != nil {
		t.Fatal(err)
	}
	s := firstFrom(t, sess.out, "with the whole recording folded", func(s *state.Snapshot) bool { return s.Seq == 72 })
	if s.At.Truncate(time.Second) != end {
		t.Errorf("played to %v", s.At)
	}
	// Back to 04:27:40: the state there, from the start of the file.
	at := time.Date(2026, 11, 25, 4, 27, 40, 0, time.UTC)
	if err := sess.seek(at); err != nil {
		t.Fatal(err)
	}
	s = firstFrom(t, sess.out, "with the whole recording folded after the seek", func(s *state.Snapshot) bool { return s.Seq == 72 })
	select { // the last snapshot is offered just before the replay says it is done
	case <-sess.replay().Done():
	case <-time.After(20 * time.Second):
		t.Fatal("replay not done 20s after its last snapshot")
	}
	if s.At.Truncate(time.Second) != end || !strings.Contains(sess.summary(), "to the end") {
		t.Errorf("after the seek: played to %v; %s", s.At, sess.summary())
	}
}

func TestReplaySessionSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sess := newReplaySession(ctx, demoRecording, state.DefaultConfig(), 1, true)
	from := time.Date(2026, 11, 25, 4, 27, 50, 0, time.UTC)
	if err := sess.seek(from); err != nil {
		t.Fatal(err)
	}
	first := firstFrom(t, sess.out, "at --from", func(s *state.Snapshot) bool { return !s.At.Before(from) })
	select {
	case s := <-sess.out:
		t.Fatalf("snapshot %d at %v without a step", s.Seq, s.At)
	case <-time.After(100 * time.Millisecond):
	}
	if now := sess.Now(); !now.Equal(first.At) {
		t.Errorf("clock %v while stepping, want the batch's %v", now, first.At)
	}
	for i := 1; i <= 3; i++ {
		sess.step()
		s := firstFrom(t, sess.out, "after a step", func(*state.Snapshot) bool { return true })
		if s.Seq != first.Seq+uint64(i) {
			t.Errorf("step %d: snapshot %d, want %d", i, s.Seq, first.Seq+uint64(i))
		}
	}
	if sum := sess.summary(); !strings.Contains(sum, "stopped at 2026-11-25 04:27:5") {
		t.Errorf("summary %q", sum)
	}
}

// TestTimelineJSONOfComputeKill: the JSON export of the real compute-kill
// recording parses, lists the same changes as the markdown, and says the
// verdict's cause as a field: compute-2's process named, then cleared.
func TestTimelineJSONOfComputeKill(t *testing.T) {
	out, stderr := timelineOf(t, computeKillRecording, "--format", "json")
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	var doc struct {
		Version int `json:"stacktop_timeline"`
		Events  []struct {
			Kind, Level string
		}
		Verdicts []struct {
			Cause, Summary string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	md, _ := timelineOf(t, computeKillRecording)
	if n := strings.Count(md, "\n- ["); doc.Version != 1 || len(doc.Events) != n {
		t.Errorf("version %d, %d events; the markdown lists %d", doc.Version, len(doc.Events), n)
	}
	var process bool
	for _, v := range doc.Verdicts {
		if v.Cause == state.CauseProcess.String() && strings.Contains(v.Summary, "compute-2") {
			process = true
		}
	}
	if n := len(doc.Verdicts); !process || n == 0 || doc.Verdicts[n-1].Cause != state.CauseNone.String() {
		t.Errorf("verdicts %+v: want compute-2's process named, and cleared last", doc.Verdicts)
	}
}
