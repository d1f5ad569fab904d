package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/harness"
	"github.com/stacktop/stacktop/sources/heartbeat"
	"github.com/stacktop/stacktop/sources/nova"
	"github.com/stacktop/stacktop/sources/rabbitmq"
	"github.com/stacktop/stacktop/sources/recording"
	"github.com/stacktop/stacktop/state"
)

var recordHarness = flag.Bool("record-harness", false, "record "+harnessRecording+" anew from the dev cloud (scripts/dev-openstack, scripts/dev-rabbitmq) during a broker stop_app/start_app; about 90 s")

// harnessRecording was taken on the loopback dev cloud (Keystone, Nova with
// two fake computes, RabbitMQ 3.10) while the broker was stopped with
// rabbitmqctl stop_app and started again; TestRecordHarnessBrokerStop makes it.
const harnessRecording = "testdata/harness-broker-stop.jsonl.gz"

// TestRecordHarnessBrokerStop records the dev cloud through stacktop's real
// Nova, RabbitMQ and heartbeat (canary) sources while it stops the broker
// application, waits for Nova to call every compute down, starts it again
// and waits for every service to be up. It holds the integration lock
// exclusively (harness.Disrupt), so no other package's integration test
// sees the broker stopped. Only with -record-harness: the recording is
// checked in and TestTimelineOfHarnessRecording reads it.
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
	if err := os.WriteFile(harnessRecording, data, 0o644); err != nil {
		t.Fatal(err)
	}
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

func TestTimelineOfHarnessRecording(t *testing.T) {
	if _, err := os.Stat(harnessRecording); errors.Is(err, os.ErrNotExist) {
		t.Skip("no " + harnessRecording + ": make it with go test -run TestRecordHarnessBrokerStop -record-harness")
	}
	md, stderr := timelineOf(t, harnessRecording)
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	golden(t, "harness-broker-stop.md", withoutVerdicts(md))
	for _, want := range []string{
		"] Nova lists ",
		"] rabbitmq polls failing — ",
		"] rabbitmq polls recovered — ",
		"] heartbeat polls failing — ",
		"] nova-compute down on 2 hosts: compute-1, compute-2",
		"] nova-compute up on 2 hosts: compute-1, compute-2",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
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
