package recording

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/recording/recordingtest"
)

var t0 = time.Date(2026, 8, 12, 22, 30, 0, 0, time.UTC)

// testBatches are a few batches of every kind, with times t0, t0+2s, ...
func testBatches() []sources.Batch {
	return []sources.Batch{
		{Source: sources.NameNova, At: t0, Health: sources.Health{OK: true, Latency: 120 * time.Millisecond, Interval: 10 * time.Second, Target: "cloud1"},
			Services: []sources.Service{{ID: "1", Binary: "nova-compute", Host: "c1", Status: sources.StatusEnabled, State: sources.StateUp, UpdatedAt: t0.Add(-3 * time.Second)}}},
		{Source: sources.NameRabbitMQ, At: t0.Add(2 * time.Second), Health: sources.Health{OK: true, Target: "http://mq:15672"},
			Overview: &sources.Overview{ClusterName: "rabbit@mq"},
			Nodes:    []sources.Node{{Name: "rabbit@mq", Running: true, MemAlarm: true, Uptime: time.Hour, Partitions: []string{"rabbit@mq2"}}},
			Queues:   []sources.Queue{{VHost: "/", Name: "conductor", Messages: 12, Consumers: 2, Rates: &sources.QueueRates{Publish: 1.5}}}},
		{Source: sources.NameHeartbeat, At: t0.Add(4 * time.Second), Health: sources.Health{OK: true},
			Heartbeats: []sources.Heartbeat{{Host: "c1", BootID: "b", Seq: 7, SentAt: t0, ReceivedAt: t0.Add(time.Second),
				Processes: []sources.Process{{Name: "nova-compute", PID: 42, StartedAt: t0.Add(-time.Hour)}}}},
			Probes: []sources.Probe{{Kind: sources.ProbeCanary, At: t0, RTT: 5 * time.Second, Result: sources.ProbeTimeout}}},
		{Source: sources.NameNova, At: t0.Add(6 * time.Second), Health: sources.Health{Err: "nova: 503 Service Unavailable"}},
	}
}

// readAll reads every batch of r.
func readAll(t *testing.T, r *Reader) []sources.Batch {
	t.Helper()
	var out []sources.Batch
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, b)
	}
}

func sameBatches(t *testing.T, got, want []sources.Batch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("batch %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"rec.jsonl", "rec.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			w, err := Create(path, Header{Started: t0, Version: "stacktop test"})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range testBatches() {
				if err := w.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Write(testBatches()[0]); !errors.Is(err, ErrClosed) {
				t.Errorf("Write after Close: %v, want ErrClosed", err)
			}
			raw, _ := os.ReadFile(path)
			if gz := len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b; gz != strings.HasSuffix(name, ".gz") {
				t.Errorf("gzip magic %v for %s", gz, name)
			}
			if !strings.HasSuffix(name, ".gz") && !strings.HasPrefix(string(raw), `{"stacktop_recording":1,"started":"2026-08-12T22:30:00Z","version":"stacktop test"}`+"\n") {
				t.Errorf("header line: %q", strings.SplitN(string(raw), "\n", 2)[0])
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if h := r.Header(); h.Format != 1 || !h.Started.Equal(t0) || h.Version != "stacktop test" {
				t.Errorf("header %+v", h)
			}
			sameBatches(t, readAll(t, r), testBatches())
			if len(r.Errors()) != 0 {
				t.Errorf("errors: %v", r.Errors())
			}
			end, ok := r.End()
			if !ok || end.Batches != 4 || !end.At.Equal(t0.Add(6*time.Second)) {
				t.Errorf("end %+v %v", end, ok)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "not a stacktop recording: the file is empty"},
		{"\n", "not a stacktop recording"},
		{`{"source":"nova"}` + "\n", "line 1: not a stacktop recording"},
		{"hello\n", "line 1: not a stacktop recording"},
		{`{"stacktop_recording":2,"started":"2030-01-01T00:00:00Z"}` + "\n", "line 1: recording format version 2 is newer than this stacktop reads (1)"},
		{`{"stacktop_record`, "line 1: recording truncated"},
	} {
		_, err := NewReader(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

// encode writes batches to a plain recording in memory.
func encode(t testing.TB, bs []sources.Batch, compress bool, offsets *[]int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Started: t0}, compress)
	if err != nil {
		t.Fatal(err)
	}
	if offsets != nil {
		*offsets = append(*offsets, buf.Len())
	}
	for _, b := range bs {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if offsets != nil {
			*offsets = append(*offsets, buf.Len())
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMalformedLinesAreSkippedWithTheirNumber(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(string(encode(t, testBatches(), false, nil)), "\n"), "\n")
	// lines: 1 header, 2..5 batches, 6 end. Break line 3, add junk after line 4.
	lines[2] = lines[2][:len(lines[2])/2] + "}"
	in := strings.Join(lines[:4], "\n") + "\n" + `{"x":1}` + "\n\n" + strings.Join(lines[4:], "\n") + "\n"
	r, err := NewReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	want := testBatches()
	sameBatches(t, got, []sources.Batch{want[0], want[2], want[3]})
	var msgs []string
	for _, e := range r.Errors() {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{"line 3: malformed JSON", "line 5: neither a batch", "line 6: empty line"} {
		if !strings.Contains(all, w) {
			t.Errorf("errors %q lack %q", all, w)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("%d errors, want 3: %q", len(msgs), all)
	}
	if _, ok := r.End(); !ok {
		t.Error("end record not seen")
	}
}

func TestTruncatedPlainFile(t *testing.T) {
	raw := encode(t, testBatches(), false, nil)
	lines := strings.SplitAfter(string(raw), "\n")
	// Cut in the middle of line 4 (the third batch): a recorder killed mid-write.
	cut := strings.Join(lines[:3], "") + lines[3][:40]
	r, err := NewReader(strings.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	sameBatches(t, readAll(t, r), testBatches()[:2])
	errs := r.Errors()
	if len(errs) != 1 || errs[0].Line != 4 || !errors.Is(errs[0], ErrTruncated) {
		t.Fatalf("errors %v, want one truncation at line 4", errs)
	}
	if !strings.Contains(errs[0].Error(), "line 4: recording truncated: the last line is cut short") {
		t.Errorf("message %q", errs[0])
	}
	if _, ok := r.End(); ok {
		t.Error("a truncated recording has no end record")
	}
}

func TestTruncatedGzipYieldsTheLinesBeforeTheCut(t *testing.T) {
	bs := testBatches()
	var offsets []int // offsets[k]: compressed bytes once k batches are written and flushed
	raw := encode(t, bs, true, &offsets)
	for cut := offsets[0]; cut < len(raw); cut++ {
		r, err := NewReader(bytes.NewReader(raw[:cut]))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		got := readAll(t, r)
		want := 0
		for k, off := range offsets {
			if cut >= off {
				want = k
			}
		}
		if len(got) < want {
			t.Fatalf("cut at %d of %d: %d batches, want at least %d", cut, len(raw), len(got), want)
		}
		sameBatches(t, got, bs[:len(got)])
		if _, ok := r.End(); ok {
			continue // the cut only took the gzip trailer
		}
		errs := r.Errors()
		if len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) || !strings.Contains(errs[0].Error(), fmt.Sprintf("line %d:", len(got)+2)) {
			t.Fatalf("cut at %d: errors %v, want one truncation at line %d", cut, errs, len(got)+2)
		}
	}
}

func TestTooLongLineIsSkipped(t *testing.T) {
	defer func(n int) { maxLine = n }(maxLine)
	maxLine = 200
	in := `{"stacktop_recording":1,"started":"2026-08-12T22:30:00Z"}` + "\n" +
		`{"b":{"source":"nova","at":"2026-08-12T22:30:00Z","health":{"ok":true,"latency":0,"interval":0}}}` + "\n" +
		`{"b":{"source":"` + strings.Repeat("x", 5000) + `"}}` + "\n" +
		`{"b":{"source":"rabbitmq","at":"2026-08-12T22:30:01Z","health":{"ok":true,"latency":0,"interval":0}}}` + "\n"
	r, err := NewReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	if len(got) != 2 || got[0].Source != "nova" || got[1].Source != "rabbitmq" {
		t.Fatalf("got %+v", got)
	}
	if errs := r.Errors(); len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Error(), "longer than") {
		t.Fatalf("errors %v", errs)
	}
}

func TestWriterFlushesEveryLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.jsonl.gz")
	w, err := Create(path, Header{Started: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, b := range testBatches() {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		// Another process reads the file while it is being written.
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r)
		r.Close()
		if len(got) != i+1 {
			t.Fatalf("after %d writes a reader sees %d batches", i+1, len(got))
		}
	}
}

// fakeClock advances only when waited on, and logs every wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func replayOf(t *testing.T, bs []sources.Batch, opts ReplayOptions) (*Replay, *[]sources.Batch, *[]time.Time) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(encode(t, bs, false, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rp := NewReplay(r, opts)
	var got []sources.Batch
	var clocks []time.Time
	return rp, &got, &clocks
}

func TestReplayPacing(t *testing.T) {
	bs := testBatches()                // at t0, +2s, +4s, +6s
	bs[3].At = t0.Add(3 * time.Second) // file order 0s, 2s, 4s, 3s: sources interleave; a late one plays at once
	for _, tc := range []struct {
		speed float64
		from  time.Time
		waits []time.Duration
	}{
		{speed: 1, waits: []time.Duration{2 * time.Second, 2 * time.Second}},
		{speed: 2, waits: []time.Duration{time.Second, time.Second}},
		{speed: 10, waits: []time.Duration{200 * time.Millisecond, 200 * time.Millisecond}},
		{speed: 0, waits: nil},
		{speed: 1, from: t0.Add(time.Second), waits: []time.Duration{time.Second, 2 * time.Second}},
	} {
		t.Run(fmt.Sprintf("speed %v from %v", tc.speed, tc.from.Sub(t0)), func(t *testing.T) {
			clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			rp, got, clocks := replayOf(t, bs, ReplayOptions{Speed: tc.speed, From: tc.from, Clock: clk})
			err := rp.Run(context.Background(), func(b sources.Batch) {
				*got = append(*got, b)
				*clocks = append(*clocks, rp.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
			sameBatches(t, *got, bs)
			if !reflect.DeepEqual(clk.waits, tc.waits) {
				t.Errorf("waits %v, want %v", clk.waits, tc.waits)
			}
			// The replay clock shows recording time: the newest batch played so far.
			for i, c := range *clocks {
				want := bs[i].At
				if i > 0 && (*clocks)[i-1].After(want) {
					want = (*clocks)[i-1]
				}
				if !c.Equal(want) {
					t.Errorf("clock at batch %d: %v, want %v", i, c.Sub(t0), want.Sub(t0))
				}
			}
			<-rp.Done()
			if rp.Played() != len(bs) || !rp.Now().Equal(t0.Add(4*time.Second)) {
				t.Errorf("played %d, clock %v at the end", rp.Played(), rp.Now().Sub(t0))
			}
		})
	}
}

// blockingClock never fires by itself: the test moves it.
type blockingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *blockingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *blockingClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }
func (c *blockingClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestReplayClockAdvancesBetweenBatches(t *testing.T) {
	clk := &blockingClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	rp, _, _ := replayOf(t, testBatches(), ReplayOptions{Speed: 2, Clock: clk})
	emitted := make(chan sources.Batch, 10)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- rp.Run(ctx, func(b sources.Batch) { emitted <- b }) }()
	<-emitted
	// The replay waits for the batch at t0+2s; half a real second is a second of recording at 2×.
	deadline := time.Now().Add(5 * time.Second)
	for rp.Now().Equal(t0) && time.Now().Before(deadline) {
		clk.add(500 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	if got := rp.Now(); got.Sub(t0) < time.Second || got.After(t0.Add(2*time.Second)) {
		t.Errorf("clock %v after t0 while waiting for +2s", got.Sub(t0))
	}
	clk.add(time.Hour)
	if got := rp.Now(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("clock %v: it must not pass the next batch", got.Sub(t0))
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}

func TestReplayStep(t *testing.T) {
	step := make(chan struct{})
	rp, _, _ := replayOf(t, testBatches(), ReplayOptions{Speed: 1, Step: step})
	emitted := make(chan sources.Batch, 10)
	errc := make(chan error, 1)
	go func() { errc <- rp.Run(context.Background(), func(b sources.Batch) { emitted <- b }) }()
	if b := <-emitted; !b.At.Equal(t0) {
		t.Fatalf("first batch at %v", b.At)
	}
	for i := 1; i < 4; i++ {
		select {
		case b := <-emitted:
			t.Fatalf("batch %v emitted without a step", b.At)
		case <-time.After(20 * time.Millisecond):
		}
		if !rp.Now().Equal(testBatches()[i-1].At) {
			t.Errorf("clock %v while stepping, want the last batch's time", rp.Now())
		}
		step <- struct{}{}
		if b := <-emitted; !b.At.Equal(testBatches()[i].At) {
			t.Fatalf("step %d: batch at %v", i, b.At)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestReplayPause(t *testing.T) {
	clk := recordingtest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	rp, _, _ := replayOf(t, testBatches(), ReplayOptions{Speed: 1, Clock: clk}) // at t0, +2s, +4s, +6s

	blocks := make(chan bool, 100) // each time Run is about to block in a wait: paused or not
	rp.waiting = func(paused bool) { blocks <- paused }
	block := func() bool {
		t.Helper()
		select {
		case p := <-blocks:
			return p
		case <-time.After(10 * time.Second):
			t.Fatal("the replay never blocked")
			return false
		}
	}
	emitted := make(chan sources.Batch, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = rp.Run(ctx, func(b sources.Batch) { emitted <- b }) }()
	<-emitted
	if d := clk.NextWait(t, 10*time.Second); d != 2*time.Second {
		t.Fatalf("wait %v for the batch at +2s", d)
	}
	if block() {
		t.Fatal("paused before any pause")
	}
	clk.Advance(500 * time.Millisecond)
	rp.SetPaused(true)
	if !block() {
		t.Fatal("the replay went on waiting for its batch while paused")
	}
	clk.Advance(time.Hour) // an hour paused; the wait that was running comes due, nobody waits on it
	if got := rp.Now(); !got.Equal(t0.Add(500 * time.Millisecond)) {
		t.Errorf("clock %v after an hour paused, want +500ms", got.Sub(t0))
	}
	rp.SetPaused(true) // twice is once
	rp.SetPaused(false)
	if got := rp.Now(); !got.Equal(t0.Add(500 * time.Millisecond)) {
		t.Errorf("clock %v on resuming, want +500ms", got.Sub(t0))
	}
	// What was left of the gap, not a burst: had the pause let the batch go,
	// the next wait would be another.
	if d := clk.NextWait(t, 10*time.Second); d != 1500*time.Millisecond {
		t.Fatalf("wait %v after resuming, want the 1.5s left", d)
	}
	if block() {
		t.Fatal("still paused after resuming")
	}
	select {
	case b := <-emitted:
		t.Fatalf("batch at %v played while paused", b.At.Sub(t0))
	default:
	}
	clk.Advance(time.Second)
	if got := rp.Now(); !got.Equal(t0.Add(1500 * time.Millisecond)) {
		t.Errorf("clock %v a second after resuming, want +1.5s", got.Sub(t0))
	}
	clk.Advance(500 * time.Millisecond)
	if b := <-emitted; !b.At.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("batch at %v after the pause, want +2s", b.At.Sub(t0))
	}
}

func TestReplayPausedStepsAreDropped(t *testing.T) {
	step := make(chan struct{}) // unbuffered: a send returns once Run has taken the step
	rp, _, _ := replayOf(t, testBatches(), ReplayOptions{Speed: 1, Step: step, Paused: true})
	emitted := make(chan sources.Batch, 10)
	go func() { _ = rp.Run(context.Background(), func(b sources.Batch) { emitted <- b }) }()
	if b := <-emitted; !b.At.Equal(t0) {
		t.Fatalf("first batch at %v: a paused replay still starts from its first state", b.At)
	}
	step <- struct{}{} // taken while paused: dropped
	rp.SetPaused(false)
	step <- struct{}{}
	if b := <-emitted; !b.At.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("batch at %v after one step played, want +2s", b.At.Sub(t0))
	}
}

// TestReplaySpeedChange: a new speed plays the rest of the gap from where
// the clock stands, the clock going on from the same time.
func TestReplaySpeedChange(t *testing.T) {
	clk := recordingtest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	rp, _, _ := replayOf(t, testBatches(), ReplayOptions{Speed: 1, Clock: clk}) // at t0, +2s, +4s, +6s
	emitted := make(chan sources.Batch, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = rp.Run(ctx, func(b sources.Batch) { emitted <- b }) }()
	<-emitted
	clock := func(want time.Duration, when string) {
		t.Helper()
		if got := rp.Now(); !got.Equal(t0.Add(want)) {
			t.Errorf("clock %v %s, want %v", got.Sub(t0), when, want)
		}
	}
	if d := clk.NextWait(t, 10*time.Second); d != 2*time.Second {
		t.Fatalf("wait %v for +2s at 1×", d)
	}
	for _, step := range []struct {
		speed   float64
		elapsed time.Duration // of the test's clock before the change
		at      time.Duration // where the replay's clock stands then
		wait    time.Duration // the rest of the gap to +2s at the new speed
	}{
		{speed: 4, elapsed: 500 * time.Millisecond, at: 500 * time.Millisecond, wait: 375 * time.Millisecond},
		{speed: 0.5, elapsed: 125 * time.Millisecond, at: time.Second, wait: 2 * time.Second},
		{speed: 10, elapsed: time.Second, at: 1500 * time.Millisecond, wait: 50 * time.Millisecond},
	} {
		clk.Advance(step.elapsed)
		clock(step.at, fmt.Sprintf("before going %v×", step.speed))
		rp.SetSpeed(step.speed)
		clock(step.at, fmt.Sprintf("on going %v×", step.speed))
		if d := clk.NextWait(t, 10*time.Second); d != step.wait {
			t.Fatalf("%v×: wait %v, want %v", step.speed, d, step.wait)
		}
	}
	clk.Advance(50 * time.Millisecond)
	if b := <-emitted; !b.At.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("batch at %v", b.At.Sub(t0))
	}
	// From max to 1× while paused between batches: the clock does not move.
	if d := clk.NextWait(t, 10*time.Second); d != 200*time.Millisecond {
		t.Fatalf("wait %v for +4s at 10×", d)
	}
	rp.SetPaused(true)
	rp.SetSpeed(0)
	clock(2*time.Second, "paused at max")
	rp.SetSpeed(1)
	clock(2*time.Second, "paused, from max to 1×")
	rp.SetPaused(false)
	if d := clk.NextWait(t, 10*time.Second); d != 2*time.Second {
		t.Fatalf("wait %v for +4s at 1× after max", d)
	}
}
