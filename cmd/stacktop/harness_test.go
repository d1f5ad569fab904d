package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/heartbeat"
	"github.com/stacktop/stacktop/sources/nova"
	"github.com/stacktop/stacktop/sources/rabbitmq"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui"
)

var recordHarness = flag.Bool("record-harness", false, "record "+harnessRecording+" and "+computeKillRecording+" anew from the dev cloud (scripts/dev-openstack, scripts/dev-rabbitmq): a broker stop_app/start_app and one compute killed; about 4 min")

// harnessRecording was taken on the loopback dev cloud (Keystone, Nova with
// two fake computes, RabbitMQ 3.10) while the broker was stopped with
// rabbitmqctl stop_app and started again; TestRecordHarnessBrokerStop makes it.
const harnessRecording = "testdata/harness-broker-stop.jsonl.gz"

// computeKillRecording was taken on the same dev cloud, with a heartbeat
// agent per host, while compute-2's nova-compute was killed and started
// again; TestRecordHarnessComputeKill makes it.
const computeKillRecording = "testdata/harness-compute-kill.jsonl.gz"

// schedulerStopRecording is nova-scheduler stopped on the dev cloud (the
// scenario matrix's scheduler-stop, session 8, 15:43:00–15:45:50 of its
// recording): it answered an RPC ping just before it went, so that ping
// predates Nova's "down"; the next one timed out 0.2 s after Nova's poll.
const schedulerStopRecording = "testdata/harness-scheduler-stop.jsonl.gz"

// TestRecordHarnessBrokerStop records the dev cloud through stacktop's real
// Nova, RabbitMQ and heartbeat (canary) sources while it stops the broker
// application, waits for Nova to call every compute down, starts it again
// and waits for every service to be up. It holds the integration lock
// exclusively (harness.Disrupt), so no other package's integration test
// sees the broker stopped. Only with -record-harness: the recording is
// checked in and TestTimelineOfHarnessRecordings reads it.
func TestRecordHarnessBrokerStop(t *testing.T) {
	if !*recordHarness {
		t.Skip("run with -record-harness to record " + harnessRecording + " anew from the dev cloud")
	}
	harness.Disrupt(t) // first: a test elsewhere may have the broker stopped right now
	ost := harness.Require(t, "openstack", "STACKTOP_TEST_KEYSTONE_URL")
	mq := harness.Require(t, "rabbitmq", "STACKTOP_TEST_RABBITMQ_URL")
	ctl := mq.Get("STACKTOP_TEST_RABBITMQCTL")
	if ctl == "" {
		t.Fatal("the rabbitmq harness env has no STACKTOP_TEST_RABBITMQCTL")
	}
	secrets := harnessSecrets(t, ost, mq)

	n, err := nova.New(nova.Config{CloudsFile: ost.Get("STACKTOP_TEST_CLOUDS_YAML"), Cloud: ost.Get("STACKTOP_TEST_OS_CLOUD"),
		Interval: 2 * time.Second, Timeout: 1900 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := rabbitmq.New(rabbitmq.Config{URL: mq.Get("STACKTOP_TEST_RABBITMQ_URL"), User: mq.Get("STACKTOP_TEST_RABBITMQ_MONITOR_USER"),
		Password: mq.Get("STACKTOP_TEST_RABBITMQ_MONITOR_PASSWORD"), VHost: mq.Get("STACKTOP_TEST_RABBITMQ_VHOST"), Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	amqp, err := url.Parse(mq.Get("STACKTOP_TEST_AMQP_URL"))
	if err != nil || amqp.User == nil {
		t.Fatalf("STACKTOP_TEST_AMQP_URL: %v", err)
	}
	pw, _ := amqp.User.Password()
	user := amqp.User.Username()
	amqp.User = nil
	vhost := mq.Get("STACKTOP_TEST_RABBITMQ_VHOST")
	hb, err := heartbeat.NewSource(heartbeat.SourceConfig{
		Conn:           heartbeat.ConnConfig{URL: amqp.String(), VHost: vhost, User: user, Password: pw},
		CanaryVHost:    vhost,
		CanaryInterval: 2 * time.Second, CanaryTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}

	tmp := filepath.Join(t.TempDir(), "harness.jsonl.gz")
	rec, err := startRecording(tmp)
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(state.NewStore(state.DefaultConfig()), []sources.Source{n, r, hb})
	p.tap = rec.tap
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var latest *state.Snapshot
	ran := make(chan struct{})
	go func() { p.Run(ctx); close(ran) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-p.Snapshots():
				mu.Lock()
				latest = s
				mu.Unlock()
			}
		}
	}()
	waitFor := func(what string, limit time.Duration, ok func(*state.Snapshot) bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for time.Now().Before(deadline) {
			mu.Lock()
			s := latest
			mu.Unlock()
			if s != nil && ok(s) {
				t.Logf("%s", what)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("not within %s: %s", limit, what)
	}
	computes := func(s *state.Snapshot, cond state.Condition) bool {
		n := 0
		for _, sv := range s.Services {
			if sv.Key.Binary == "nova-compute" {
				if sv.Cond != cond {
					return false
				}
				n++
			}
		}
		return n > 0
	}
	allUp := func(s *state.Snapshot) bool {
		for _, sv := range s.Services {
			if sv.Cond != state.CondUp {
				return false
			}
		}
		return len(s.Services) > 0
	}

	waitFor("every service up", time.Minute, allUp)
	time.Sleep(10 * time.Second)
	t.Cleanup(func() { _ = runCtl(ctl, "start_app") })
	if err := runCtl(ctl, "stop_app"); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop_app at %s", time.Now().UTC().Format("15:04:05"))
	waitFor("every nova-compute down", 90*time.Second, func(s *state.Snapshot) bool { return computes(s, state.CondDown) })
	time.Sleep(5 * time.Second)
	if err := runCtl(ctl, "start_app"); err != nil {
		t.Fatal(err)
	}
	t.Logf("start_app at %s", time.Now().UTC().Format("15:04:05"))
	waitFor("every service up again", 2*time.Minute, allUp)
	time.Sleep(8 * time.Second)
	cancel()
	<-ran
	summary, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary)

	saveRecording(t, tmp, harnessRecording, secrets)
}

// saveRecording copies the recording at tmp to dst (testdata), after
// checking it holds none of the dev cloud's credentials.
func saveRecording(t *testing.T, tmp, dst string, secrets []string) {
	t.Helper()
	raw := recordingText(t, tmp)
	for _, s := range secrets {
		if strings.Contains(raw, s) {
			t.Fatalf("the recording holds a credential (%d characters); not saved", len(s))
		}
	}
	data, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s (%d bytes)", dst, len(data))
}

// TestRecordHarnessComputeKill records the dev cloud as stacktop sees it
// (the dashboard's four sources built from a config, a heartbeat agent per
// host) while compute-2's nova-compute is killed: its agent keeps beating,
// Nova calls it down after service_down_time, its RPC ping times out. The
// scenario waits for the verdict the rules should reach, starts the compute
// again and waits for the verdict to clear. Only with -record-harness.
func TestRecordHarnessComputeKill(t *testing.T) {
	if !*recordHarness {
		t.Skip("run with -record-harness to record " + computeKillRecording + " anew from the dev cloud")
	}
	harness.Disrupt(t)
	ost := harness.Require(t, "openstack", "STACKTOP_TEST_KEYSTONE_URL")
	mq := harness.Require(t, "rabbitmq", "STACKTOP_TEST_AMQP_URL")
	script := ost.Get("STACKTOP_TEST_DEV_OPENSTACK")
	if script == "" {
		t.Fatal("the openstack harness env has no STACKTOP_TEST_DEV_OPENSTACK")
	}
	const victim = "compute-2"
	secrets := harnessSecrets(t, ost, mq)

	tmp := filepath.Join(t.TempDir(), "compute-kill.jsonl.gz")
	rec, err := startRecording(tmp)
	if err != nil {
		t.Fatal(err)
	}
	d := startVerdictDashboard(t, ost, mq, itNovaInterval, rec.tap)
	hosts := d.waitHosts(t)
	for _, h := range hosts {
		d.startAgent(t, h)
	}
	d.baseline(t, hosts)
	time.Sleep(10 * time.Second) // a stretch of healthy cloud before it
	t.Cleanup(func() { d.restore(t, script, "start-compute", victim) })
	sc := d.disrupt(t, script, "kill-compute", victim)
	want := "service process problem: nova-compute on " + victim
	c := sc.await(t, want, hostVerdictMax, func(v state.Verdict) bool { return v.Cause == state.CauseProcess && v.Summary == want })
	t.Logf("kill-compute → %q after %s", c.v.Summary, sc.took(c))
	time.Sleep(10 * time.Second) // the verdict holding, as an engineer would see it
	d.restoreAndClear(t, sc, script, "start-compute", victim)
	time.Sleep(4 * time.Second)
	summary, err := rec.Close() // later batches are dropped (recording.ErrClosed)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary)
	sc.never(t, state.CauseBroker)
	saveRecording(t, tmp, computeKillRecording, secrets)
}

func runCtl(ctl string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ctl, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// harnessSecrets are the dev cloud's passwords: from clouds.yaml, the broker's env file and its URLs.
func harnessSecrets(t *testing.T, ost, mq harness.Env) []string {
	t.Helper()
	var out []string
	add := func(s string) {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	raw, err := os.ReadFile(ost.Get("STACKTOP_TEST_CLOUDS_YAML"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)(?:password|secret)\w*:\s*['"]?([^'"\s]+)`).FindAllStringSubmatch(string(raw), -1) {
		add(m[1])
	}
	for _, env := range []harness.Env{ost, mq} {
		for k, v := range env {
			if strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET") {
				add(v)
			}
			if u, err := url.Parse(v); err == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok {
					add(pw)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no passwords to look for: the check would prove nothing")
	}
	return out
}

// recordingText is everything a recording holds, decompressed.
func recordingText(t *testing.T, path string) string {
	t.Helper()
	lines := decompressedFile(t, path)
	return strings.Join(lines, "")
}

// TestVerdictOnHarnessRecording runs the rule set on the recording of a real
// broker stop/start on the dev cloud: the broker is named, and neither host
// nor process is blamed for the computes that went down with it.
func TestVerdictOnHarnessRecording(t *testing.T) {
	rd, err := recording.Open("testdata/harness-broker-stop.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	store := state.NewStore(state.DefaultConfig())
	var firstBroker, firstFull time.Time
	var stopped time.Time // the first failed poll: the broker went away
	for {
		b, err := rd.Next()
		if err != nil {
			break
		}
		if !b.Health.OK && stopped.IsZero() {
			stopped = b.At
		}
		v := store.Apply(b).Verdict
		switch v.Cause {
		case state.CauseBroker:
			if firstBroker.IsZero() {
				firstBroker = b.At
				t.Logf("%s after the broker went away: %s", b.At.Sub(stopped).Round(time.Second), v.Summary)
			}
			if !v.Thin && firstFull.IsZero() {
				firstFull = b.At
				t.Logf("%s after the broker went away: %s", b.At.Sub(stopped).Round(time.Second), v.Summary)
			}
		case state.CauseNone:
		default:
			t.Errorf("at %s the verdict blames %s: %s", b.At.Format(time.TimeOnly), v.Cause, v.Summary)
		}
	}
	if len(rd.Errors()) > 0 {
		t.Fatalf("recording unreadable: %v", rd.Errors())
	}
	if firstBroker.IsZero() {
		t.Fatal("the broker stop never produced a broker verdict")
	}
	if firstFull.IsZero() {
		t.Fatal("the broker was only ever named on thin evidence")
	}
	if d := firstFull.Sub(stopped); d > 30*time.Second {
		t.Errorf("broker named on full evidence %s after it went away, want ≤ 30s", d)
	}
}

// TestTimelineOfHarnessRecordings exports each real recording as an
// incident report's timeline and checks it against its golden file and
// for the changes it must show: the broker stop/start (polls failing and
// recovering, both computes down and up), and the compute killed
// (compute-2's service down and up, its RPC pings, the verdict naming its
// process and clearing, and nothing blamed on the broker or another host).
func TestTimelineOfHarnessRecordings(t *testing.T) {
	for _, tc := range []struct {
		file, golden string
		want         []string
		never        []string // after "] verdict: " or "] nova-compute "
		nowhere      []string // anywhere in the timeline
	}{
		{harnessRecording, "harness-broker-stop.md", []string{
			"] Nova lists ",
			"] rabbitmq polls failing — ",
			"] rabbitmq polls recovered — ",
			"] heartbeat polls failing — ",
			"] nova-compute down on 2 hosts: compute-1, compute-2",
			"] nova-compute up on 2 hosts: compute-1, compute-2",
		}, nil, nil},
		{computeKillRecording, "harness-compute-kill.md", []string{
			"] nova-compute down on compute-2",
			"] nova-compute up on compute-2",
			"] nova-compute RPC ping failing on compute-2 — timeout after 2s",
			"] nova-compute answering RPC again on compute-2 — round trip ",
			"] verdict: service process problem: nova-compute on compute-2 — ",
			"] verdict cleared",
		}, []string{"broker", "compute-1 down", "host down"}, nil},
		{schedulerStopRecording, "harness-scheduler-stop.md", []string{
			"] nova-scheduler down on vm",
			"] verdict: service process problem: nova-scheduler on vm — ",
			"] verdict cleared",
		}, []string{"broker", "host down", "conductor"}, []string{"answers RPC", "conductor or database"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			md, stderr := timelineOf(t, tc.file)
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			golden(t, tc.golden, md)
			for _, want := range tc.want {
				if !strings.Contains(md, want) {
					t.Errorf("timeline lacks %q", want)
				}
			}
			for _, never := range tc.never {
				if strings.Contains(md, "] verdict: "+never) || strings.Contains(md, "] nova-compute "+never) {
					t.Errorf("timeline says %q", never)
				}
			}
			for _, nowhere := range tc.nowhere {
				if strings.Contains(md, nowhere) {
					t.Errorf("timeline says %q", nowhere)
				}
			}
		})
	}
}

// TestVerdictOnComputeKillRecording runs the rule set on the recording of
// one compute killed on the dev cloud while its host's agent kept beating:
// the verdict names that compute's process, on full evidence, within
// hostVerdictMax of its first timed-out RPC ping; it never blames the
// broker or a host, and it clears once the compute is back.
//
// The recording holds a real blip besides: 12 s before the kill, the
// loaded 2-core machine's nova-scheduler reported late and Nova listed it
// down for 3 s while it answered its RPC pings. The rules must call that
// what it is, a thin "service down, cause unclear" on the scheduler alone.
func TestVerdictOnComputeKillRecording(t *testing.T) {
	rd, err := recording.Open(computeKillRecording)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	store := state.NewStore(state.DefaultConfig())
	const want = "service process problem: nova-compute on compute-2"
	var firstTimeout, named, cleared time.Time
	var last state.Verdict
	for {
		b, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue // listed by rd.Errors below
		}
		for _, p := range b.Probes {
			if p.Kind == sources.ProbeRPC && p.Host == "compute-2" && p.Result == sources.ProbeTimeout && firstTimeout.IsZero() {
				firstTimeout = b.At
			}
		}
		v := store.Apply(b).Verdict
		switch v.Cause {
		case state.CauseProcess:
			// After recovery it is told in the past tense until it clears.
			// Recovered or held, Was is the rule's own text.
			if v.Was() != want || v.Thin {
				t.Errorf("at %s: %q (thin %v), want %q on full evidence", b.At.Format(time.TimeOnly), v.Summary, v.Thin, want)
			}
			if named.IsZero() {
				named = b.At
				t.Logf("named %s after compute-2's first timed-out ping: %s\n\t%s", b.At.Sub(firstTimeout).Round(time.Second), v.Summary, strings.Join(v.Evidence, "\n\t"))
				all := strings.Join(v.Evidence, "\n")
				for _, ev := range []string{"RPC ping of nova-compute timeout", "compute-2"} {
					if !strings.Contains(all, ev) {
						t.Errorf("evidence lacks %q:\n%s", ev, all)
					}
				}
			}
		case state.CauseNone:
			if last.Cause != state.CauseNone {
				cleared = b.At
			}
		case state.CauseServiceDown:
			if !v.Thin || !strings.HasSuffix(v.Was(), ": nova-scheduler on vm") || !named.IsZero() {
				t.Errorf("at %s: %q (thin %v): only the scheduler's late report before the kill may be 'cause unclear', and only thinly", b.At.Format(time.TimeOnly), v.Summary, v.Thin)
			}
		default:
			t.Errorf("at %s the verdict blames %s: %s", b.At.Format(time.TimeOnly), v.Cause, v.Summary)
		}
		last = v
	}
	if len(rd.Errors()) > 0 {
		t.Fatalf("recording unreadable: %v", rd.Errors())
	}
	switch {
	case firstTimeout.IsZero():
		t.Fatal("the recording holds no timed-out RPC ping of compute-2")
	case named.IsZero():
		t.Fatalf("the killed compute was never named: want %q", want)
	case named.Sub(firstTimeout) > hostVerdictMax:
		t.Errorf("named %s after the first timed-out ping, want ≤ %s", named.Sub(firstTimeout), hostVerdictMax)
	}
	if last.Cause != state.CauseNone || cleared.Before(named) {
		t.Errorf("the verdict did not clear after the compute came back: last %q", last.Summary)
	}
}

// TestReplayHarnessRecordingInTheTUI plays the recording of the real broker
// stop/start through `stacktop replay`'s session into its screen (ui.Model
// with the session's options, no colour, 160x48). The model is driven by
// hand with each message the program would deliver, so every check reads
// the whole screen of a known snapshot (a terminal renderer repaints only
// what changed, and the fold passes through intermediate states).
//
// At max speed the header ends on "END OF RECORDING" at the last batch's
// time with the broker verdict still held (the recording ends 8 s after
// recovery, inside the verdict's 30 s hold); v lists the refused
// connections as evidence; the timeline pane shows the computes going down
// and up and the verdict. Stepped and sought to 04:33:20 with t, the screen
// shows the outage as it stood then, and nothing of the recovery.
func TestReplayHarnessRecordingInTheTUI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type screen struct {
		sess *replaySession
		m    tea.Model
	}
	open := func(step bool) *screen {
		t.Helper()
		sess := newReplaySession(ctx, harnessRecording, state.DefaultConfig(), 0, step)
		if err := sess.seek(time.Time{}); err != nil {
			t.Fatal(err)
		}
		sc := &screen{sess: sess, m: ui.New(sess.uiOptions(true))}
		sc.m, _ = sc.m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		return sc
	}
	// deliver hands the model the status and the snapshot of the replay
	// once it has played batches (and ended, or not; the store is fresh at every seek, so the
	// snapshot's Seq counts them) and the recording has been measured (the
	// status's Total comes from a count that runs beside the replay: on a
	// loaded machine it can finish after the batches are played), as the
	// program would.
	deliver := func(sc *screen, batches int, ended bool) {
		t.Helper()
		st := firstFrom(t, sc.sess.status, fmt.Sprintf("with %d batches played, ended %v, the recording measured", batches, ended), func(st ui.ReplayStatus) bool {
			return st.Played == batches && st.Ended == ended && st.Total > 0
		})
		snap := firstFrom(t, sc.sess.out, fmt.Sprintf("of batch %d", batches), func(s *state.Snapshot) bool { return s.Seq == uint64(batches) })
		sc.m, _ = sc.m.Update(ui.SnapshotMsg{Snapshot: snap})
		sc.m, _ = sc.m.Update(ui.ReplayMsg{Status: st})
	}
	// press delivers keys; after enter it runs the command (the seek), as the program would.
	press := func(sc *screen, keys ...tea.KeyPressMsg) {
		t.Helper()
		for _, k := range keys {
			var cmd tea.Cmd
			sc.m, cmd = sc.m.Update(k)
			if k.Code == tea.KeyEnter && cmd != nil {
				cmd()
			}
		}
	}
	char := func(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }
	shows := func(sc *screen, what string, want ...string) string {
		t.Helper()
		text := sc.m.(ui.Model).Render()
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the screen lacks %q:\n%s", what, w, text)
			}
		}
		return text
	}

	played := open(false)
	deliver(played, 62, true)
	shows(played, "the end of the recording", "END OF RECORDING  04:33:39", "broker problem: 2 services on 2 hosts · since 04:33:13 · recovered 04:33:36")
	press(played, char('v'))
	shows(played, "the verdict detail", "connect: connection refused", "management API failing")
	press(played, tea.KeyPressMsg{Code: tea.KeyEscape}, char('3'))
	shows(played, "the timeline", "nova-compute down ×2", "nova-compute up ×2", "broker problem, services not affected yet", "rabbitmq polls")

	stepped := open(true)
	deliver(stepped, 1, false)
	press(stepped, char('t'))
	for _, r := range "04:33:20" {
		press(stepped, char(r))
	}
	press(stepped, tea.KeyPressMsg{Code: tea.KeyEnter})
	deliver(stepped, 33, false)
	final := shows(stepped, "after seeking to 04:33:20", "REPLAY STEP 33/62  04:33:20", "broker problem: 2 services on 2 hosts · since 04:33:13")
	if n := strings.Count(final, "✖ DOWN"); n != 2 || strings.Contains(final, "END OF RECORDING") {
		t.Errorf("after seeking back to 04:33:20: %d services DOWN, want both computes; end of recording shown: %v\n%s", n, strings.Contains(final, "END OF RECORDING"), final)
	}
}
