package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// TestMain shows times in UTC, so that expectations and golden files do
// not depend on the machine's zone; tests of the zone set their own.
func TestMain(m *testing.M) {
	format.SetZone(time.UTC)
	localZone = time.UTC // what the subcommands use without --utc
	// The default config file is found through the real environment, not
	// the tests' getenv: point it at an empty directory, so that a config
	// file of whoever runs the tests is never read.
	dir, err := os.MkdirTemp("", "stacktop-test-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func tokyo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no zone database: %v", err)
	}
	return loc
}

// inTokyo makes Asia/Tokyo the machine's zone for the test.
func inTokyo(t *testing.T) {
	loc := tokyo(t)
	localZone = loc
	format.SetZone(loc)
	t.Cleanup(func() { localZone = time.UTC; format.SetZone(time.UTC) })
}

// TestTimelineZone: stacktop timeline shows times in the local zone and
// names it, or in UTC with --utc; --since and --until are read in the zone
// shown.
func TestTimelineZone(t *testing.T) {
	inTokyo(t)
	local, _ := timelineOf(t, demoRecording, "--format", "text")
	if !strings.HasPrefix(local, "All times JST (UTC+09:00). Observed 2026-11-25 13:27:23–13:28:06") || !strings.Contains(local, "\n13:27:") {
		t.Errorf("local (Tokyo) timeline:\n%s", local)
	}
	utc, _ := timelineOf(t, demoRecording, "--format", "text", "--utc")
	if !strings.HasPrefix(utc, "All times UTC. Observed 2026-11-25 04:27:23–04:28:06") || !strings.Contains(utc, "\n04:27:") {
		t.Errorf("--utc timeline:\n%s", utc)
	}
	// 13:27:50 in Tokyo is 04:27:50 UTC: the same period either way.
	sinceLocal, _ := timelineOf(t, demoRecording, "--format", "text", "--since", "13:27:50", "--until", "13:28:00")
	sinceUTC, _ := timelineOf(t, demoRecording, "--format", "text", "--utc", "--since", "04:27:50", "--until", "04:28:00")
	if !strings.Contains(sinceLocal, "Showing 2026-11-25 13:27:50 to 2026-11-25 13:28:00.") {
		t.Errorf("--since/--until in Tokyo:\n%s", sinceLocal)
	}
	count := func(s string) int { return strings.Count(s, "\n") }
	if count(sinceLocal) != count(sinceUTC) || count(sinceLocal) < 3 {
		t.Errorf("the same period typed in two zones gives %d and %d lines", count(sinceLocal), count(sinceUTC))
	}
}

// TestParseWhenInZone: a replay's --from typed in the local zone.
func TestParseWhenInZone(t *testing.T) {
	inTokyo(t)
	start := time.Date(2026, 8, 12, 23, 30, 15, 0, time.UTC) // 08:30:15 on the 13th in Tokyo
	got, err := parseWhen("08:45", start)
	if want := time.Date(2026, 8, 12, 23, 45, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("08:45 JST = %v %v, want %v", got, err, want)
	}
	if _, err := parseWhen("noon", start); err == nil || !strings.Contains(err.Error(), "in JST") {
		t.Errorf("error does not name the zone: %v", err)
	}
}

// TestConfigUTCAndUnconfigured: the utc key reaches the source set, and a
// configuration without a broker or heartbeats says how to set them.
func TestConfigUTCAndUnconfigured(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("utc: true\nnova:\n  cloud: mycloud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(path, true, func(string) string { return "" })
	if err != nil || !c.UTC {
		t.Fatalf("utc: true read as %v (%v)", c != nil && c.UTC, err)
	}
	got := unconfigured(c)
	if len(got) != 3 || got[0].How != "set rabbitmq.url or STACKTOP_RABBITMQ_URL" || got[1].How != "set heartbeat.url or STACKTOP_AMQP_URL" ||
		got[2].Source != sources.NameRPCPing || got[2].How != "set rpc.transport_url_file or STACKTOP_TRANSPORT_URL" {
		t.Errorf("unconfigured = %+v", got)
	}
	c.RabbitMQ.URL, c.Heartbeat.URL = "https://mq:15672", "amqps://mq:5671/nova"
	c.RPC.TransportURL = "rabbit://nova:secret@mq:5672/nova"
	if got := unconfigured(c); len(got) != 0 {
		t.Errorf("everything configured, yet %+v", got)
	}
}

// TestSubcommandsReadConfigUTC: replay and timeline take the zone as the
// dashboard does: --utc, or utc: true in the config file, found by
// --config, STACKTOP_CONFIG or the default path.
func TestSubcommandsReadConfigUTC(t *testing.T) {
	inTokyo(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	utcFile := write("utc.yaml", "utc: true\n")
	localFile := write("local.yaml", "utc: false\nnova:\n  cloud: mycloud\n")
	badFile := write("bad.yaml", "utc: yes please\n")
	envOf := func(path string) func(string) string {
		return func(k string) string {
			if k == "STACKTOP_CONFIG" {
				return path
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name   string
		args   []string
		getenv func(string) string
		zone   string // the timeline's heading and the replay's --from error name it
	}{
		{"no config", nil, noEnv, "JST"},
		{"--config utc: true", []string{"--config", utcFile}, noEnv, "UTC"},
		{"STACKTOP_CONFIG utc: true", nil, envOf(utcFile), "UTC"},
		{"--config wins over STACKTOP_CONFIG", []string{"--config", localFile}, envOf(utcFile), "JST"},
		{"utc: false, --utc", []string{"--config", localFile, "--utc"}, noEnv, "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append([]string{"timeline", demoRecording, "--format", "text"}, tc.args...)
			if code := run(args, &out, &errs, tc.getenv); code != 0 {
				t.Fatalf("timeline: exit %d: %s", code, errs.String())
			}
			if want := "All times " + tc.zone; !strings.HasPrefix(out.String(), want) {
				t.Errorf("timeline heading %q, want %q", strings.SplitN(out.String(), "\n", 2)[0], want)
			}
			out.Reset()
			errs.Reset()
			// A --from that is no time fails before the screen opens, naming the zone it is read in.
			args = append([]string{"replay", demoRecording, "--from", "noon"}, tc.args...)
			if code := run(args, &out, &errs, tc.getenv); code != 2 || !strings.Contains(errs.String(), "HH:MM[:SS] in "+tc.zone) {
				t.Errorf("replay --from noon: exit %d, stderr %q, want 2 naming %s", code, errs.String(), tc.zone)
			}
		})
	}
	// A bad config file stops both as it stops the dashboard: exit 2, naming the file and the key.
	for _, cmd := range []string{"timeline", "replay"} {
		var out, errs bytes.Buffer
		code := run([]string{cmd, demoRecording, "--config", badFile}, &out, &errs, noEnv)
		if code != 2 || !strings.Contains(errs.String(), "bad.yaml") || !strings.Contains(errs.String(), "utc") {
			t.Errorf("%s with a bad config: exit %d, stderr %q", cmd, code, errs.String())
		}
	}
}

// TestDemoReadsConfigUTC: the demo shows times as the dashboard would,
// utc: true in the config file included; a bad config file stops it.
func TestDemoReadsConfigUTC(t *testing.T) {
	dir := t.TempDir()
	utcFile := filepath.Join(dir, "utc.yaml")
	badFile := filepath.Join(dir, "bad.yaml")
	for path, body := range map[string]string{utcFile: "utc: true\n", badFile: "utc: yes please\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		config  string
		wantUTC bool
		wantErr bool
	}{
		{"utc: true", utcFile, true, false},
		{"no config file", filepath.Join(dir, "absent.yaml"), false, true}, // named, so it must exist
		{"bad config", badFile, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := buildSources(t.Context(), options{demo: true, configPath: tc.config}, noEnv)
			if err == nil {
				defer set.close()
			}
			if (err != nil) != tc.wantErr || set.utc != tc.wantUTC {
				t.Errorf("buildSources(--demo --config %s): utc %v, err %v; want utc %v, error %v", filepath.Base(tc.config), set.utc, err, tc.wantUTC, tc.wantErr)
			}
		})
	}
	t.Setenv("XDG_CONFIG_HOME", dir) // the default path: no file there
	set, err := buildSources(t.Context(), options{demo: true}, noEnv)
	if err != nil {
		t.Fatalf("--demo with no config file at the default path: %v", err)
	}
	set.close()
}
