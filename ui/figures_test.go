package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
)

// movingClockModel is a model over snap whose clock the test moves.
func movingClockModel(snap *state.Snapshot, now *time.Time, opts Options) Model {
	opts.Initial, opts.Now, opts.NoColor, opts.Cloud = snap, func() time.Time { return *now }, true, "prod-east"
	return update(New(opts), tea.WindowSizeMsg{Width: 200, Height: 30})
}

func headerText(m Model) string { return strings.Join(strings.Fields(ansi.Strip(m.header())), " ") }

// TestHeaderFiguresTurnUnknown: every figure the header shows reads as
// current while its source polls and as unknown, with its age, once the
// source's data is stale; none keeps its reassuring value.
func TestHeaderFiguresTurnUnknown(t *testing.T) {
	now := fixedNow
	m := movingClockModel(freshBroker(), &now, Options{})
	fresh := headerText(m)
	now = fixedNow.Add(2 * time.Minute)
	m = tickTo(m, now)
	stale := headerText(m)
	for _, tt := range []struct {
		figure          string
		current, frozen string // as shown with fresh data, and two minutes on
	}{
		{"alarms", "ALARMS 1 memory rabbit@ctl-1 (management)", "ALARMS 1? · partitions ? · canary ? (stale ≥2m05s)"},
		{"partitions", "partitions 0", "partitions ? ·"},
		{"canary", "canary TIMEOUT 5.0s (4/39 failed)", "canary ? (stale ≥2m05s)"},
		{"rabbitmq", "rabbitmq ok 5s", "rabbitmq STALE 2m05s"},
		{"nova", "nova ok 4s", "nova STALE 2m04s"},
		{"heartbeat", "heartbeat ok 1s", "heartbeat STALE 2m01s"},
	} {
		if !strings.Contains(fresh, tt.current) {
			t.Errorf("%s: fresh header lacks %q:\n%s", tt.figure, tt.current, fresh)
		}
		if !strings.Contains(stale, tt.frozen) || strings.Contains(stale, tt.current) {
			t.Errorf("%s: stale header lacks %q or still says %q:\n%s", tt.figure, tt.frozen, tt.current, stale)
		}
	}
	if strings.Contains(stale, "alarms 0") || strings.Contains(stale, "partitions 0") {
		t.Errorf("stale header reassures:\n%s", stale)
	}
	// The panes below say their figures are stale too.
	for key, want := range map[string]string{"1": "STALE 2m04s: states as of 03:11:56", "2": "STALE 2m05s: counts as of 03:11:55", "4": "STALE 2m05s: figures as of 03:11:55"} {
		if got := ansi.Strip(press(m, key).Render()); !strings.Contains(got, want) {
			t.Errorf("pane %s lacks %q:\n%s", key, want, got)
		}
	}
}

// TestPauseFreezesWithoutStaling: p freezes the view, ages with it: the
// sources do not turn STALE while the user reads; unpaused, ages are true.
func TestPauseFreezesWithoutStaling(t *testing.T) {
	now := fixedNow
	m := press(movingClockModel(freshBroker(), &now, Options{}), "p")
	before := headerText(m)
	now = fixedNow.Add(5 * time.Minute)
	m = tickTo(m, now)
	if got := headerText(m); got != before || strings.Contains(got, "STALE") {
		t.Errorf("paused, five minutes on:\n%s\nwant unchanged:\n%s", got, before)
	}
	m = press(m, "p")
	if got := headerText(m); !strings.Contains(got, "rabbitmq STALE 5m05s") {
		t.Errorf("unpaused: ages not true:\n%s", got)
	}
}

// TestUnconfiguredAndRecording: a source left out of the configuration
// says so and how to configure it, not "no broker nodes yet" as if data
// were coming; a recording live run says it records.
func TestUnconfiguredAndRecording(t *testing.T) {
	now := fixedNow
	snap := &state.Snapshot{At: fixedNow, Sources: []state.SourceHealth{
		{Name: "nova", Target: "mycloud", Interval: 10 * time.Second, LastAttempt: fixedNow, LastSuccess: fixedNow, Polls: 1}}}
	m := movingClockModel(snap, &now, Options{Cloud: "mycloud", Recording: "incident.jsonl.gz", Unconfigured: []Unconfigured{
		{Source: "rabbitmq", What: "broker", How: "set rabbitmq.url or STACKTOP_RABBITMQ_URL"}}})
	head := headerText(m)
	for _, want := range []string{"● REC incident.jsonl.gz", "prod-east ⇄ no broker", "broker: not configured (set rabbitmq.url or STACKTOP_RABBITMQ_URL)"} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "alarms") || strings.Contains(head, "⇄ —") {
		t.Errorf("header shows broker figures of no broker:\n%s", head)
	}
	pane := ansi.Strip(press(m, "4").Render())
	if !strings.Contains(pane, "broker: not configured (set rabbitmq.url or STACKTOP_RABBITMQ_URL)") || strings.Contains(pane, "yet") {
		t.Errorf("broker pane:\n%s", pane)
	}
}

// TestUnconfiguredPingsAndHeartbeats: without a transport URL (or a
// heartbeat URL) the header says the RPC pings (heartbeats) are not
// configured and how to set them, and the service's drill-down and the
// rules' inputs read them as unknown, not as "none yet" or zero failures.
func TestUnconfiguredPingsAndHeartbeats(t *testing.T) {
	snap := incident()
	snap.Sources = slices.DeleteFunc(slices.Clone(snap.Sources), func(h state.SourceHealth) bool { return h.Name == sources.NameHeartbeat })
	for i := range snap.Services {
		snap.Services[i].RPC, snap.Services[i].RPCHistory = nil, nil
	}
	snap.Hosts = nil
	now := fixedNow
	m := movingClockModel(snap, &now, Options{Unconfigured: []Unconfigured{
		{Source: sources.NameHeartbeat, What: "heartbeats", How: "set heartbeat.url or STACKTOP_AMQP_URL"},
		{Source: sources.NameRPCPing, What: "rpc pings", How: "set rpc.transport_url_file or STACKTOP_TRANSPORT_URL"}}})
	// How to set each shows where the header has room for it; the drill-down below always says it.
	if head := headerText(m); !strings.Contains(head, "rpc pings: not configured") || !strings.Contains(head, "heartbeats: not configured") {
		t.Errorf("header:\n%s", head)
	}
	detail := ansi.Strip(press(m, "1", "enter").Render())
	for _, want := range []string{
		"rpc ping not configured (set rpc.transport_url_file or STACKTOP_TRANSPORT_URL): unknown",
		"heartbeat not configured (set heartbeat.url or STACKTOP_AMQP_URL): unknown",
	} {
		if !strings.Contains(detail, want) {
			t.Errorf("service drill-down lacks %q:\n%s", want, detail)
		}
	}
	if strings.Contains(detail, "none yet") || strings.Contains(detail, "no agent heard from") {
		t.Errorf("service drill-down reads an unconfigured source as data to come:\n%s", detail)
	}
	inputs := ansi.Strip(press(m, "v").Render())
	for _, want := range []string{
		"rpc pings  not configured (set rpc.transport_url_file or STACKTOP_TRANSPORT_URL): unknown to the rules",
		"heartbeats not configured (set heartbeat.url or STACKTOP_AMQP_URL): unknown to the rules",
	} {
		if !strings.Contains(inputs, want) {
			t.Errorf("verdict inputs lack %q:\n%s", want, inputs)
		}
	}
	if strings.Contains(inputs, "pinged, on") || strings.Contains(inputs, "source healthy") {
		t.Errorf("verdict inputs show figures of unconfigured sources:\n%s", inputs)
	}
}

// TestUnconfiguredAllShown: with only a cloud configured, every source
// left out says so at every width, however long the cloud's error: none
// is cut off the status lines (at 160 columns "rpc pings: not
// configured" was, behind the others' how-to-set texts).
func TestUnconfiguredAllShown(t *testing.T) {
	snap := &state.Snapshot{At: fixedNow, Sources: []state.SourceHealth{{Name: "nova", Target: "mycloud", Interval: 10 * time.Second,
		LastAttempt: fixedNow, Failures: 1, LastErr: "nova: authenticate: Post http://127.0.0.1:9/v3/auth/tokens: connect: connection refused"}}}
	missing := []Unconfigured{
		{Source: sources.NameRabbitMQ, What: "broker", How: "set rabbitmq.url or STACKTOP_RABBITMQ_URL"},
		{Source: sources.NameHeartbeat, What: "heartbeats", How: "set heartbeat.url or STACKTOP_AMQP_URL"},
		{Source: sources.NameRPCPing, What: "rpc pings", How: "set rpc.transport_url_file or STACKTOP_TRANSPORT_URL"}}
	for _, w := range []int{60, 80, 120, 160, 200, 250} {
		m := New(Options{Initial: snap, Now: func() time.Time { return fixedNow }, NoColor: true, Cloud: "mycloud", Unconfigured: missing})
		m = update(m, tea.WindowSizeMsg{Width: w, Height: 24})
		head := headerText(m)
		for _, u := range missing {
			if !strings.Contains(head, u.What+": not configured") {
				t.Errorf("at %d columns the header lacks %q:\n%s", w, u.What+": not configured", ansi.Strip(m.header()))
			}
		}
		if got, want := strings.Count(m.header(), "\n"), statusLines(w); got != want {
			t.Errorf("at %d columns the header has %d lines before the verdict, want %d", w, got, want)
		}
	}
}

// tickTo delivers the clock's tick, without waiting for the next one.
func tickTo(m Model, now time.Time) Model {
	next, _ := m.Update(tickMsg(now))
	return next.(Model)
}

// TestZoneShownAndRead: every time on screen is in the display zone, named
// in the header, and a time the user types is read in it.
func TestZoneShownAndRead(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no zone database: %v", err)
	}
	format.SetZone(tokyo)
	t.Cleanup(func() { format.SetZone(time.UTC) })
	m := newTestModel(incident(), 160, 48, true)
	if head := headerText(m); !strings.HasPrefix(head, "12:12:00 JST prod-east") {
		t.Errorf("header in Tokyo at 03:12 UTC:\n%s", head)
	}
	if got := ansi.Strip(press(m, "3", "t").Render()); !strings.Contains(got, "time in JST") {
		t.Errorf("the time prompt does not name the zone:\n%s", got)
	}
	m = press(m, "3", "t", "1", "2", ":", "1", "0", "enter") // 12:10 JST is 03:10 UTC
	out := ansi.Strip(m.Render())
	if !strings.Contains(out, "at or before 12:10:00") || !strings.Contains(out, "12:10:50  1m10s restart") {
		t.Errorf("timeline jumped to 12:10 JST:\n%s", out)
	}
}

// TestSourceHealthDetailShown: what a source counts of its own data (a
// node without a name dropped as invalid, heartbeats dropped) is on a
// screen: v lists each source's health detail, sanitised.
func TestSourceHealthDetailShown(t *testing.T) {
	snap := incident()
	snap.Sources = slices.Clone(snap.Sources)
	snap.Sources[0].Detail = "120 received · 6 invalid dropped (last: not JSON\x1b[31m)"
	snap.Sources[2].Detail = "management API, invalid data: 2 node(s) without a name dropped"
	raw := press(newTestModel(snap, 160, 48, true), "v").Render()
	got := ansi.Strip(raw)
	for _, want := range []string{
		"health     heartbeat: 120 received · 6 invalid dropped (last: not JSON",
		"           rabbitmq: management API, invalid data: 2 node(s) without a name dropped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("v lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(raw, "\x1b[31m") {
		t.Errorf("a source's detail reached the terminal unsanitised")
	}
}
