package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/demo"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
)

var (
	update     = flag.Bool("update", false, "rewrite the golden files in testdata")
	recordDemo = flag.Bool("record-demo", false, "record testdata/demo-incident.jsonl.gz anew from the demo (takes about 45 s)")
)

// demoRecording is a recording of the demo's incident, compressed into a
// 60 s loop on 6 computes, from just before the broker degrades to after
// it recovered; TestRecordDemo makes it.
const demoRecording = "testdata/demo-incident.jsonl.gz"

// TestRecordDemo records the demo's scenario through the real Nova and
// RabbitMQ sources and the pipeline's tap, as stacktop --record does. It
// only runs with -record-demo: the file is checked in, so that the tests
// that read it are fast and deterministic.
func TestRecordDemo(t *testing.T) {
	if !*recordDemo {
		t.Skip("run with -record-demo to record " + demoRecording + " anew")
	}
	const loop = 60 * time.Second
	start := time.Now()
	cfg := demo.Config{Computes: 6, Loop: loop, Epoch: start.Add(-8 * time.Second),
		ServiceDownTime: 6 * time.Second, ReportInterval: 2 * time.Second, SlowAPIs: true}
	ctx, cancel := context.WithTimeout(context.Background(), 44*time.Second)
	defer cancel()
	cloud, err := demo.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	srcs, _, err := demoSources(cloud)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := startRecording(demoRecording)
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(state.NewStore(state.DefaultConfig()), srcs)
	p.tap = rec.tap
	p.Run(ctx)
	summary, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary)
}

func TestRecordCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 3 s")
	}
	path := filepath.Join(t.TempDir(), "demo.jsonl.gz")
	var stdout, stderr bytes.Buffer
	code := run([]string{"record", path, "--demo", "--duration", "3s"}, &stdout, &stderr, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if s := stdout.String(); !strings.HasPrefix(s, "stacktop: recorded ") || !strings.Contains(s, " to "+path) ||
		!strings.Contains(s, "heartbeat ") || !strings.Contains(s, "nova ") || strings.Count(s, "\n") != 1 {
		t.Errorf("summary %q", s)
	}
	rd, err := recording.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if h := rd.Header(); h.Format != recording.Version || h.Version != versionString() || time.Since(h.Started) > time.Minute {
		t.Errorf("header %+v", h)
	}
	seen := map[string]int{}
	for {
		b, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[b.Source]++
	}
	if seen[sources.NameNova] == 0 || seen[sources.NameRabbitMQ] == 0 || seen[sources.NameHeartbeat] == 0 || len(rd.Errors()) > 0 {
		t.Errorf("batches per source %v, errors %v", seen, rd.Errors())
	}
	if _, ok := rd.End(); !ok {
		t.Error("no end record: the recording was not closed")
	}
	noSecrets(t, path)
}

// noSecrets fails when a recording holds one of the demo's credentials.
func noSecrets(t *testing.T, path string) {
	t.Helper()
	rd, err := recording.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var all bytes.Buffer
	for {
		b, err := rd.Next()
		if err != nil {
			break
		}
		all.WriteString(b.Health.Target + " " + b.Health.Err + " " + b.Health.Detail + "\n")
	}
	raw := all.String()
	for _, secret := range []string{demo.DefaultPassword, demo.DefaultAppCredSecret, "guest:guest", "password", "stacktop-secret"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%s holds %q", path, secret)
		}
	}
}

func TestRecordingFlagUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, cmd := range []string{"record", "replay", "timeline"} {
		stdout.Reset()
		if code := run([]string{cmd, "--help"}, &stdout, &stderr, func(string) string { return "" }); code != 0 || !strings.Contains(stdout.String(), "stacktop "+cmd+" - ") {
			t.Errorf("%s --help: exit %d, %q", cmd, code, stdout.String())
		}
		stderr.Reset()
		if code := run([]string{cmd}, &stdout, &stderr, func(string) string { return "" }); code != 2 || !strings.Contains(stderr.String(), "which FILE?") {
			t.Errorf("%s without FILE: exit %d, %q", cmd, code, stderr.String())
		}
	}
	stderr.Reset()
	if code := run([]string{"record", filepath.Join(t.TempDir(), "x"), "--duration", "-1s"}, &stdout, &stderr, func(string) string { return "" }); code != 2 {
		t.Errorf("negative duration: exit %d, %q", code, stderr.String())
	}
	if _, err := os.Stat("x"); err == nil {
		t.Error("a file x appeared")
	}
}
