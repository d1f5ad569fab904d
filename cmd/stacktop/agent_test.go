package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/sources/heartbeat"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAgentRefusesPasswordFlag(t *testing.T) {
	for _, arg := range []string{"--password=hunter2", "-password", "--password"} {
		var out, errb bytes.Buffer
		code := run([]string{"agent", arg, "hunter2"}, &out, &errb, func(string) string { return "" })
		if code != 2 || !strings.Contains(errb.String(), "never taken from the command line") || strings.Contains(errb.String(), "hunter2") {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errb.String())
		}
	}
}

func TestAgentHelpAndBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"agent", "--help"}, &out, &errb, func(string) string { return "" }); code != 0 || !strings.Contains(out.String(), "stacktop agent") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
	for _, args := range [][]string{{"agent", "--interval", "soon"}, {"agent", "--bogus"}, {"agent", "extra"}} {
		out.Reset()
		errb.Reset()
		if code := run(args, &out, &errb, func(string) string { return "" }); code != 2 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
	// No URL anywhere: a clear error, not a dial.
	errb.Reset()
	noAgentFile(t)
	if code := run([]string{"agent"}, &out, &errb, func(string) string { return "" }); code == 0 || !strings.Contains(errb.String(), "URL") {
		t.Errorf("no URL: exit %d, stderr %q", code, errb.String())
	}
}

func TestAgentPrint(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	noAgentFile(t)
	var out, errb bytes.Buffer
	code := run([]string{"agent", "--print", "--host", "compute-07", "--interval", "3s"}, &out, &errb, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m heartbeat.Message
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if m.Host != "compute-07" || m.IntervalMS != 3000 || m.Seq != 1 || m.BootID == "" || m.UptimeSec <= 0 || m.V != heartbeat.Version {
		t.Errorf("printed %+v", m)
	}
}

// noAgentFile points the default agent config at a file that does not
// exist, as on a node without /etc/stacktop/agent.yaml.
func noAgentFile(t *testing.T) {
	old := agentConfigDefault
	agentConfigDefault = filepath.Join(t.TempDir(), "absent.yaml")
	t.Cleanup(func() { agentConfigDefault = old })
}

func TestLoadAgentConfig(t *testing.T) {
	pw := writeFile(t, "pw", "from-file\n")
	nova := writeFile(t, "nova.conf", "[DEFAULT]\n# host = commented\nmy_ip = 10.0.0.7\nhost = compute-07.nova\n[libvirt]\nhost = no\n")
	file := writeFile(t, "agent.yaml", "url: amqps://mq1:5671/nova\nuser: agent\npassword_file: "+pw+"\ninterval: 5s\nhost: from-file\n")
	tests := []struct {
		name    string
		flags   agentConfig
		env     map[string]string
		path    string
		wantErr string
		check   func(*testing.T, agentConfig)
	}{
		{name: "file", path: file, check: func(t *testing.T, c agentConfig) {
			if c.URL != "amqps://mq1:5671/nova" || c.User != "agent" || c.Password != "from-file" || c.Host != "from-file" ||
				time.Duration(c.Interval) != 5*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{name: "env over file, flags over env", path: file,
			env:   map[string]string{"STACKTOP_AMQP_URL": "amqp://env:5672/", "STACKTOP_AMQP_PASSWORD": "from-env", "STACKTOP_AGENT_HOST": "env-host", "STACKTOP_AGENT_INTERVAL": "3s"},
			flags: agentConfig{Host: "flag-host", Interval: duration(time.Second)},
			check: func(t *testing.T, c agentConfig) {
				if c.URL != "amqp://env:5672/" || c.Password != "from-env" || c.Host != "flag-host" || time.Duration(c.Interval) != time.Second {
					t.Errorf("%+v", c)
				}
			}},
		{name: "host from nova.conf", flags: agentConfig{URL: "amqp://mq:5672/", NovaConf: nova},
			check: func(t *testing.T, c agentConfig) {
				if c.Host != "compute-07.nova" {
					t.Errorf("host %q", c.Host)
				}
			}},
		{name: "explicit missing file", env: map[string]string{"STACKTOP_AGENT_CONFIG": "/nonexistent.yaml"}, wantErr: "no such file"},
		{name: "unknown key", path: writeFile(t, "bad.yaml", "pasword: x\n"), wantErr: "pasword"},
		{name: "password key refused in the agent file", path: writeFile(t, "pw.yaml", "password: x\n"), wantErr: "password"},
		{name: "credentials in the url", flags: agentConfig{URL: "amqp://u:hunter2@mq:5672/"}, wantErr: "credentials do not belong"},
		{name: "http url", flags: agentConfig{URL: "http://mq:15672"}, wantErr: "amqp(s)://"},
		{name: "ca file needs amqps", flags: agentConfig{URL: "amqp://mq:5672/", CAFile: "/x.pem"}, wantErr: "amqps"},
		{name: "interval out of range", flags: agentConfig{Interval: duration(time.Millisecond)}, wantErr: "interval"},
		{name: "missing password file", flags: agentConfig{PasswordFile: "/nonexistent/pw"}, wantErr: "password_file"},
	}
	noAgentFile(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadAgentConfig(tt.path, tt.flags, func(k string) string { return tt.env[k] })
			checkAgentConfig(t, c, err, tt.wantErr, tt.check)
		})
	}
	_, err := loadAgentConfig("", agentConfig{URL: "amqp://u:hunter2@mq:5672/"}, func(string) string { return "" })
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v: want one, without the password", err)
	}
}

func checkAgentConfig(t *testing.T, c agentConfig, err error, wantErr string, check func(*testing.T, agentConfig)) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if check != nil {
		check(t, c)
	}
}

func TestLoadConfigHeartbeat(t *testing.T) {
	pw := writeFile(t, "pw", "amqp-secret\n")
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantErr string
		check   func(*testing.T, *config)
	}{
		{name: "section", yaml: "heartbeat:\n  url: amqps://mq1:5671/stacktop\n  user: dash\n  password_file: " + pw +
			"\n  canary_vhost: nova\n  canary_interval: 10s\n  canary_timeout: 4s\n",
			check: func(t *testing.T, c *config) {
				h := c.Heartbeat
				if h.URL != "amqps://mq1:5671/stacktop" || h.User != "dash" || h.Password != "amqp-secret" || h.CanaryVHost != "nova" ||
					time.Duration(h.CanaryInterval) != 10*time.Second || time.Duration(h.CanaryTimeout) != 4*time.Second {
					t.Errorf("%+v", h)
				}
				src, err := newHeartbeatSource(c.Heartbeat)
				if err != nil || src.Name() != "heartbeat" {
					t.Errorf("source %v, %v", src, err)
				}
			}},
		{name: "environment", yaml: "", env: map[string]string{"STACKTOP_AMQP_URL": "amqp://mq:5672/nova", "STACKTOP_AMQP_USER": "u", "STACKTOP_AMQP_PASSWORD": "p"},
			check: func(t *testing.T, c *config) {
				if c.Heartbeat.URL != "amqp://mq:5672/nova" || c.Heartbeat.User != "u" || c.Heartbeat.Password != "p" {
					t.Errorf("%+v", c.Heartbeat)
				}
			}},
		{name: "credentials in url", yaml: "heartbeat: {url: 'amqp://u:hunter2@mq:5672/'}", wantErr: "heartbeat.url"},
		{name: "management url by mistake", yaml: "heartbeat: {url: 'https://mq:15672'}", wantErr: "heartbeat.url"},
		{name: "both passwords", yaml: "heartbeat: {url: 'amqp://mq/', password: a, password_file: /x}", wantErr: "both set"},
		{name: "timeout over interval", yaml: "heartbeat: {url: 'amqp://mq/', canary_interval: 2s, canary_timeout: 3s}", wantErr: "canary_timeout"},
		{name: "interval out of range", yaml: "heartbeat: {canary_interval: 1ms}", wantErr: "heartbeat.canary_interval"},
		{name: "unknown key", yaml: "heartbeat: {urll: x}", wantErr: "urll"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "config.yaml", tt.yaml)
			c, err := loadConfig(path, true, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error %v, want one containing %q (and no password)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
