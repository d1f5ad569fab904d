package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/secretfile"
	"github.com/stacktop/stacktop/sources"
)

// clearOS empties the OS_* variables Nova reads from the process's
// environment, so that the machine's own openrc plays no part.
func clearOS(t *testing.T) {
	for _, k := range []string{"OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_TOKEN", "OS_USER_DOMAIN_NAME", "OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME"} {
		t.Setenv(k, "")
	}
}

// runConfig runs stacktop with the config file yaml (mode 0600) and env,
// where no source can be built, and returns the exit status and stderr.
func runConfig(t *testing.T, yaml string, env map[string]string) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"--config", path}, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stderr.String()
}

// Issue 11, item 3: a password in a URL that is wrong (no scheme, no '@',
// credentials where none belong), in every key and variable that takes a
// URL, and a value under the wrong key, never reaches stderr.
func TestConfigErrorsHideSecrets(t *testing.T) {
	const secret = "S3cr3t"
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(clouds, []byte("clouds:\n  c:\n    auth:\n      auth_url: admin:"+secret+"@keystone:5000/v3\n      username: admin\n      password: pw\n      user_domain_name: Default\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		osEnv map[string]string // read by Nova from the process
	}{
		{name: "STACKTOP_RABBITMQ_URL without scheme", env: map[string]string{"STACKTOP_RABBITMQ_URL": "stacktop:" + secret + "@host:15672"}},
		{name: "STACKTOP_RABBITMQ_URL with credentials", env: map[string]string{"STACKTOP_RABBITMQ_URL": "http://stacktop:" + secret + "@host:15672"}},
		{name: "rabbitmq.url without '@'", yaml: "rabbitmq: {url: 'http://stacktop:" + secret + "/api'}"},
		{name: "prometheus_urls without scheme", yaml: "rabbitmq: {url: 'http://h:15672', prometheus_urls: ['stacktop:" + secret + "@host:15692']}"},
		{name: "STACKTOP_AMQP_URL without scheme", env: map[string]string{"STACKTOP_AMQP_URL": "stacktop:" + secret + "@host:5672"}},
		{name: "STACKTOP_AMQP_URL with credentials", env: map[string]string{"STACKTOP_AMQP_URL": "amqp://stacktop:" + secret + "@host:5672/"}},
		{name: "STACKTOP_TRANSPORT_URL without '@'", env: map[string]string{"STACKTOP_TRANSPORT_URL": "rabbit://nova:" + secret + "/nova"}},
		{name: "STACKTOP_TRANSPORT_URL multi-host, bad second host", env: map[string]string{"STACKTOP_TRANSPORT_URL": "rabbit://nova:" + secret + "@mq1:5672,nova:" + secret + "@mq2:x/nova"}},
		{name: "OS_AUTH_URL without scheme", osEnv: map[string]string{"OS_AUTH_URL": "admin:" + secret + "@keystone:5000/v3", "OS_USERNAME": "admin", "OS_PASSWORD": "pw", "OS_USER_DOMAIN_NAME": "Default"}},
		{name: "clouds.yaml auth_url without scheme", yaml: "nova: {cloud: c}", osEnv: map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}},
		{name: "a password where a section belongs", yaml: "rabbitmq: " + secret + "\n"},
		{name: "a password where text belongs", yaml: "rabbitmq: {user: [" + secret + "]}\n"},
		{name: "a password where true/false belongs", yaml: "rabbitmq: {insecure_skip_verify: " + secret + "}\n"},
		{name: "a password as a duration", yaml: "rabbitmq: {password: " + secret + "}\nnova: {interval: " + secret + "}\n"},
		{name: "a password as a mode", yaml: "rabbitmq: {password: " + secret + ", mode: " + secret + "}\n"},
		{name: "STACKTOP_RABBITMQ_PASSWORD in a bad mode", yaml: "rabbitmq: {mode: x" + secret + "}\n", env: map[string]string{"STACKTOP_RABBITMQ_PASSWORD": secret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOS(t)
			for k, v := range tt.osEnv {
				t.Setenv(k, v)
			}
			code, stderr := runConfig(t, tt.yaml, tt.env)
			if code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", code, stderr)
			}
			if stderr == "" || strings.Contains(stderr, secret) || strings.Contains(stderr, "stacktop:S") || strings.Contains(stderr, "admin:") {
				t.Errorf("stderr shows the secret, or nothing:\n%s", stderr)
			}
		})
	}
}

// Issue 10: a bad value names its key, an unknown key names the key and
// the file without Go type names, both exit 2.
func TestConfigErrorsNameTheKey(t *testing.T) {
	_, topKeys := yamlFields(reflect.TypeFor[config]())
	tests := []struct {
		yaml string
		env  map[string]string
		want []string
	}{
		{yaml: "nova: {interval: 5 minutes}", want: []string{`nova.interval: "5 minutes" is not a duration (e.g. 10s, 1m)`}},
		{yaml: "nova: {interval: 10}", want: []string{"nova.interval: a number without a unit is not a duration (e.g. 10s, 1m)"}},
		{yaml: "nova: {clud: x}", want: []string{"nova.clud: unknown key (nova takes cloud, interval, timeout)"}},
		{yaml: "novaa: {}", want: []string{"novaa: unknown key (the file takes " + strings.Join(topKeys, ", ") + ")"}},
		{yaml: "rabbitmq: {url: 'http://h:15672', prometheus_urls: [[x]]}", want: []string{"rabbitmq.prometheus_urls[0]: want text, got a list"}},
		{yaml: "rabbitmq: {insecure_skip_verify: sometimes}", want: []string{"rabbitmq.insecure_skip_verify: want true or false, got text"}},
		{yaml: "rpc: {concurrency: many}", want: []string{"rpc.concurrency: want a whole number, got text"}},
		{yaml: "nova: {cloud: a}\nnova: {cloud: b}", want: []string{"nova: set twice"}},
		{yaml: "\"\\e]0;pwned\\a\": 1", want: []string{`"\x1b]0;pwned\a": unknown key`}},
		{env: map[string]string{"STACKTOP_RABBITMQ_URL": "mq1:15672"}, want: []string{"rabbitmq.url (from STACKTOP_RABBITMQ_URL): want http(s)://host:port"}},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			clearOS(t)
			code, stderr := runConfig(t, tt.yaml, tt.env)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q\nwant it to say %q", stderr, w)
				}
			}
			if !strings.Contains(stderr, "config.yaml") {
				t.Errorf("stderr %q does not name the file", stderr)
			}
			for _, goName := range []string{"main.", "novaConfig", "time.Duration", "!!", "\x1b"} {
				if strings.Contains(stderr, goName) {
					t.Errorf("stderr %q holds %q", stderr, goName)
				}
			}
		})
	}
}

// Issue 11, item 4: a config or password file holding a secret that others
// can write is refused; one others can read is accepted with a warning.
func TestConfigFilePermissions(t *testing.T) {
	tests := []struct {
		configMode, pwMode os.FileMode
		wantErr            bool
		warnings           int
	}{
		{0o600, 0o600, false, 0},
		{0o640, 0o600, false, 1},
		{0o644, 0o600, false, 1},
		{0o600, 0o644, false, 1},
		{0o644, 0o640, false, 2},
		{0o666, 0o600, true, 0},
		{0o600, 0o666, true, 0},
		{0o620, 0o600, true, 0},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		pw := filepath.Join(dir, "pw")
		path := filepath.Join(dir, "config.yaml")
		must(t, os.WriteFile(pw, []byte("Fr0mF1le\n"), 0o600))
		must(t, os.WriteFile(path, []byte("rabbitmq: {url: 'http://h:15672', user: u, password: S3cr3t}\nheartbeat: {url: 'amqp://h/', password_file: "+pw+"}\n"), 0o600))
		must(t, os.Chmod(path, tt.configMode))
		must(t, os.Chmod(pw, tt.pwMode))
		c, err := loadConfig(path, true, func(string) string { return "" })
		if (err != nil) != tt.wantErr {
			t.Errorf("config %04o, password_file %04o: err = %v, want one: %v", tt.configMode, tt.pwMode, err, tt.wantErr)
			continue
		}
		if err != nil {
			if exitStatus(err) != 2 || !strings.Contains(err.Error(), "writable by others") || strings.Contains(err.Error(), "S3cr3t") {
				t.Errorf("err = %v (exit %d)", err, exitStatus(err))
			}
			continue
		}
		if len(c.warnings) != tt.warnings {
			t.Errorf("config %04o, password_file %04o: warnings %q, want %d", tt.configMode, tt.pwMode, c.warnings, tt.warnings)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// goQuoted is a value quoted with %q.
var goQuoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// FuzzConfigFile: whatever a config file holds, decoding and validating it
// never panics; an error names keys, never a Go type, never quotes a value
// the way yaml.v2 does (`…`), and shows none of the file's secrets.
func FuzzConfigFile(f *testing.F) {
	readme, _ := os.ReadFile("../../README.md")
	if _, ex, ok := strings.Cut(string(readme), "```yaml\n"); ok {
		ex, _, _ = strings.Cut(ex, "```")
		f.Add(ex)
	}
	for _, s := range []string{
		"nova: {interval: 5 minutes}", "nova: {clud: x}", "rabbitmq: S3cr3tPass", "rabbitmq: {user: [S3cr3tPass]}",
		"rabbitmq: {password: S3cr3tPass, mode: fastS3cr3tPass}", "rabbitmq: {url: 'stacktop:S3cr3tPass@host:15672'}",
		"rabbitmq: {url: 'http://h:15672', prometheus_urls: ['stacktop:S3cr3tPass@h:15692']}",
		"heartbeat: {url: 'stacktop:S3cr3tPass@host:5672'}", "rpc: {transport_url: 'rabbit://nova:S3cr3tPass/nova'}",
		"rpc: {transport_url: 'rabbit://nova:S3cr3tPass@mq1,nova:S3cr3tPass@mq2:x/nova'}",
		"nova: {cloud: a}\nnova: {cloud: b}", "? [a]\n: b", "retention: !!binary aGVsbG8=", "&a [*a]", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) > 1<<16 {
			return
		}
		c := &config{secrets: redact.NewSecrets(secretfile.YAMLSecrets([]byte(doc))...), fromEnv: map[string]string{}}
		err := decodeYAML([]byte(doc), c)
		if err == nil {
			if err = c.RPC.load(noEnv); err == nil {
				err = c.validate()
			}
		}
		if err == nil {
			return
		}
		msg := c.secrets.Scrub(err.Error())
		unquoted := goQuoted.ReplaceAllString(msg, `""`) // a duration's value is quoted on purpose
		for _, bad := range []string{"main.", "`", "!!"} {
			if strings.Contains(unquoted, bad) {
				t.Fatalf("error %q holds %q", msg, bad)
			}
		}
		for _, s := range secretfile.YAMLSecrets([]byte(doc)) {
			if len(s) >= redact.MinSubstring && strings.Contains(msg, s) && !strings.Contains(redact.Placeholder, s) {
				t.Fatalf("error %q shows the secret %q", msg, s)
			}
		}
	})
}

// The pipeline scrubs the configuration's secrets and URL userinfo from
// every batch's error texts, whatever source forgot to, before the
// recording and the store see them; the source's own probes are not changed.
func TestPipelineScrubsBatches(t *testing.T) {
	probes := []sources.Probe{{Detail: "fine"}, {Detail: "refused for S3cr3tPw"}}
	b := sources.Batch{Health: sources.Health{Err: "dial amqp://u:S3cr3tPw@mq:5672: refused", Detail: "pw S3cr3tPw", Target: "http://u:x@h/"}, Probes: probes}
	got := scrubBatch(b, redact.NewSecrets("S3cr3tPw"))
	all := got.Health.Err + got.Health.Detail + got.Health.Target + got.Probes[0].Detail + got.Probes[1].Detail
	if strings.Contains(all, "S3cr3tPw") || strings.Contains(all, "u:") || got.Probes[1].Detail != "refused for REDACTED" {
		t.Errorf("scrubbed batch %+v", got)
	}
	if probes[1].Detail != "refused for S3cr3tPw" {
		t.Error("the source's probes were changed in place")
	}
	if nb := scrubBatch(sources.Batch{Health: sources.Health{Err: "memory alarm on rabbit@mq-1"}}, nil); nb.Health.Err != "memory alarm on rabbit@mq-1" {
		t.Errorf("a node name was taken for userinfo: %q", nb.Health.Err)
	}
}
