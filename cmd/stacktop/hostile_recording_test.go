package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui"
)

// evil holds what a crafted recording could use on a terminal: clipboard
// write (OSC 52), clear screen, title, 8-bit CSI, a bidi override and an
// invisible joiner.
const evil = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H\x1b]0;pwned\x07\u009b31m\u202egnp\u200c"

// escapeBytes are the bytes none of which may reach the terminal from a
// recording: ESC, BEL, the 8-bit CSI/OSC in UTF-8, RLO, ZWNJ.
var escapeBytes = []string{"\x1b", "\x07", "\u009b", "\u009d", "\u202e", "\u200c"}

// writeHostileRecording writes a recording whose every string is evil: the
// header's version, the sources' names, host names, errors and targets,
// and one line that is not JSON at all.
func writeHostileRecording(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "evil.jsonl")
	start := time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)
	w, err := recording.Create(path, recording.Header{Started: start, Version: "stacktop " + evil})
	if err != nil {
		t.Fatal(err)
	}
	svc := func(state sources.ServiceState) []sources.Service {
		return []sources.Service{{ID: "1", Binary: "nova-compute" + evil, Host: "compute-01" + evil, Zone: evil,
			Status: sources.StatusDisabled, State: state, DisabledReason: evil, UpdatedAt: start}}
	}
	for i, b := range []sources.Batch{
		{Source: sources.NameNova, At: start, Health: sources.Health{OK: true, Target: "cloud" + evil, Detail: evil, Interval: 10 * time.Second}, Services: svc(sources.StateUp)},
		{Source: sources.NameNova, At: start.Add(10 * time.Second), Health: sources.Health{OK: true, Target: "cloud" + evil, Interval: 10 * time.Second}, Services: svc(sources.StateDown)},
		{Source: sources.NameRabbitMQ, At: start.Add(11 * time.Second), Health: sources.Health{Err: "rabbitmq: " + evil, Target: evil, Interval: 10 * time.Second}},
		{Source: "src" + evil, At: start.Add(12 * time.Second), Health: sources.Health{Err: evil, Interval: 10 * time.Second}},
		{Source: sources.NameRabbitMQ, At: start.Add(21 * time.Second), Health: sources.Health{OK: true, Target: evil, Interval: 10 * time.Second},
			Overview: &sources.Overview{ClusterName: evil}, Nodes: []sources.Node{{Name: "rabbit@" + evil, Running: true, MemAlarm: true}}},
	} {
		if err := w.Write(b); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("{" + evil + "}\n"); err != nil { // not JSON: its error may quote it
		t.Fatal(err)
	}
	return path
}

// Issue 11, item 5: a crafted recording writes no escape sequence to the
// terminal through stacktop timeline, in any format, on stdout or stderr.
func TestTimelineOfHostileRecordingHasNoEscapes(t *testing.T) {
	path := writeHostileRecording(t)
	for _, format := range []string{"text", "markdown", "json"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"timeline", path, "--format", format}, &stdout, &stderr, noEnv)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr.String())
		}
		out := stdout.String() + stderr.String()
		if !strings.Contains(out, "compute-01") || !strings.Contains(out, "stacktop ␛") {
			t.Errorf("%s: the hostile strings are not shown made visible:\n%s", format, out)
		}
		for _, b := range escapeBytes {
			if strings.Contains(out, b) {
				t.Errorf("%s: output holds %q:\n%q", format, b, out)
			}
		}
	}
}

// Issue 11, item 5: the replay of a crafted recording draws no escape
// sequence either: header (the recorded cloud), panes, timeline, and the
// summary printed on stderr when it ends.
func TestReplayOfHostileRecordingHasNoEscapes(t *testing.T) {
	path := writeHostileRecording(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sess := newReplaySession(ctx, path, state.DefaultConfig(), 0, false)
	if err := sess.seek(time.Time{}); err != nil {
		t.Fatal(err)
	}
	var m tea.Model = ui.New(sess.uiOptions(true))
	m, _ = m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	st := firstFrom(t, sess.status, "the end", func(st ui.ReplayStatus) bool { return st.Ended })
	snap := firstFrom(t, sess.out, "the last batch", func(s *state.Snapshot) bool { return s.Seq == 5 })
	m, _ = m.Update(ui.SnapshotMsg{Snapshot: snap})
	m, _ = m.Update(ui.ReplayMsg{Status: st})
	var screens []string
	for _, k := range []rune{'1', '2', '3', '4', 'v'} {
		m, _ = m.Update(tea.KeyPressMsg{Code: k, Text: string(k)})
		screens = append(screens, m.(ui.Model).Render())
	}
	var stderr bytes.Buffer
	printSafe(&stderr, sess.summary(), nil)
	all := strings.Join(screens, "\n") + stderr.String()
	if !strings.Contains(screens[0], "cloud␛") || !strings.Contains(stderr.String(), "line 8") {
		t.Errorf("the recorded cloud or the skipped line are not shown:\n%s\n%s", screens[0], stderr.String())
	}
	for _, b := range escapeBytes {
		if strings.Contains(all, b) {
			t.Errorf("the replay draws %q", b)
		}
	}
}
