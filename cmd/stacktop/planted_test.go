package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/sources/demo"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui"
)

// Issue 11, Show: passwords and tokens planted in a configuration run
// against fakes (the demo cloud's Keystone, Nova and management API on
// loopback; an AMQP port nobody listens on) appear nowhere: not on stdout or
// stderr, not in the recording's bytes, not on any screen of its replay.
// The Keystone and RabbitMQ passwords are right (data flows, and the
// RabbitMQ one travels in every request's basic auth); the transport URL's
// and the AMQP ones are tried and fail, so their errors are shown.
func TestPlantedSecretsNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("records the fake cloud for 6 s")
	}
	clearOS(t)
	const (
		keystonePw  = "Pl4nted-Keystone-Pw"
		rabbitPw    = "Pl4nted-Rabbit-Pw"
		transportPw = "Pl4nted-Transport-Pw"
		amqpPw      = "Pl4nted-Amqp-Pw"
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dc := demo.DefaultConfig()
	dc.Password, dc.RabbitPassword = keystonePw, rabbitPw
	cloud, err := demo.Start(ctx, dc)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	cr := cloud.Credentials()
	dir := t.TempDir()
	clouds := filepath.Join(dir, "clouds.yaml")
	must(t, os.WriteFile(clouds, []byte("clouds:\n  planted:\n    auth:\n      auth_url: "+cr.AuthURL+"\n      username: "+cr.Username+
		"\n      password: "+keystonePw+"\n      user_domain_name: "+cr.UserDomainName+"\n      project_name: "+cr.ProjectName+
		"\n      project_domain_name: "+cr.ProjectDomainName+"\n    region_name: "+cr.Region+"\n"), 0o600))
	t.Setenv("OS_CLIENT_CONFIG_FILE", clouds)
	config := filepath.Join(dir, "config.yaml")
	must(t, os.WriteFile(config, []byte("nova: {cloud: planted, interval: 1s, timeout: 800ms}\n"+
		"rabbitmq: {url: '"+cr.RabbitURL+"', user: "+cr.RabbitUser+", password: "+rabbitPw+", interval: 1s, mode: management}\n"+
		"rpc: {transport_url: 'rabbit://nova:"+transportPw+"@127.0.0.1:1/nova', interval: 1s, timeout: 500ms}\n"+
		"heartbeat: {url: 'amqp://127.0.0.1:1/', user: dash, password: "+amqpPw+", canary_interval: 1s, canary_timeout: 500ms}\n"), 0o600))

	// Readable by the group and others: each said once, on stderr, before the run.
	must(t, os.Chmod(clouds, 0o640))
	must(t, os.Chmod(config, 0o644))

	rec := filepath.Join(dir, "planted.jsonl")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"record", rec, "--config", config, "--duration", "6s"}, &stdout, &stderr, noEnv); code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{clouds, config} {
		if n := strings.Count(stderr.String(), f+" holds a secret and is readable by others"); n != 1 {
			t.Errorf("stderr warns %d times of %s, want once:\n%s", n, f, stderr.String())
		}
	}
	raw, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}

	// Replay it into the screen; every pane and the verdict's evidence.
	sess := newReplaySession(ctx, rec, state.DefaultConfig(), 0, false)
	if err := sess.seek(time.Time{}); err != nil {
		t.Fatal(err)
	}
	firstFrom(t, sess.status, "the end", func(st ui.ReplayStatus) bool { return st.Ended })
	var snap *state.Snapshot
	for snap == nil || len(snap.Sources) < 4 {
		snap = firstFrom(t, sess.out, "a snapshot with every source", func(*state.Snapshot) bool { return true })
	}
	var m tea.Model = ui.New(sess.uiOptions(true))
	m, _ = m.Update(tea.WindowSizeMsg{Width: 250, Height: 70})
	m, _ = m.Update(ui.SnapshotMsg{Snapshot: snap})
	var screens strings.Builder
	for _, k := range []rune{'1', '2', '3', '4', 'v'} {
		m, _ = m.Update(tea.KeyPressMsg{Code: k, Text: string(k)})
		screens.WriteString(m.(ui.Model).Render())
	}

	out := map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "recording": string(raw), "screens": screens.String()}
	if !strings.Contains(out["recording"], "127.0.0.1:1") || !strings.Contains(out["screens"], "nova-compute") {
		t.Fatalf("the run saw too little to prove anything:\n%s", out["screens"])
	}
	for _, secret := range []string{keystonePw, rabbitPw, transportPw, amqpPw,
		base64.StdEncoding.EncodeToString([]byte(cr.RabbitUser + ":" + rabbitPw)), "Pl4nted"} {
		for where, text := range out {
			if n := strings.Count(text, secret); n > 0 {
				t.Errorf("%s holds %q %d times", where, secret, n)
			}
		}
	}
}
