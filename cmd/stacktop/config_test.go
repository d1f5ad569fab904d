package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantErr string // substring; "" means success
		check   func(*testing.T, *config)
	}{
		{name: "full example", yaml: `
retention: 2h
nova: {cloud: prod, interval: 5s}
rabbitmq:
  url: https://mq1.example:15672
  user: stacktop
  password: s3cret
  vhost: nova
  queues: '^(compute|conductor|reply_)'
  mode: auto
`, check: func(t *testing.T, c *config) {
			if time.Duration(c.Retention) != 2*time.Hour || c.Nova.Cloud != "prod" || time.Duration(c.Nova.Interval) != 5*time.Second ||
				c.RabbitMQ.Password != "s3cret" || c.RabbitMQ.VHost != "nova" {
				t.Errorf("parsed %+v", c)
			}
		}},
		{name: "environment overrides the file", yaml: "rabbitmq: {url: 'http://a:15672', password: file}",
			env: map[string]string{"STACKTOP_RABBITMQ_URL": "http://b:15672", "STACKTOP_RABBITMQ_PASSWORD": "env"},
			check: func(t *testing.T, c *config) {
				if c.RabbitMQ.URL != "http://b:15672" || c.RabbitMQ.Password != "env" {
					t.Errorf("env not applied: %+v", c.RabbitMQ)
				}
			}},
		{name: "unknown key named", yaml: "rabbitmq: {passwrd: x}", wantErr: "passwrd"},
		{name: "bad duration named", yaml: "nova: {interval: soon}", wantErr: `"soon" is not a duration`},
		{name: "interval out of range", yaml: "nova: {interval: 1ms}", wantErr: "nova.interval"},
		{name: "nova interval under a second", yaml: "nova: {interval: 500ms}", wantErr: "nova.interval: 500ms is outside 1s..10s"},
		{name: "nova interval too long to name an outage in time", yaml: "nova: {interval: 30s}", wantErr: "nova.interval: 30s is outside 1s..10s"},
		{name: "nova interval at the maximum", yaml: "nova: {interval: 10s}", check: func(t *testing.T, c *config) {
			if time.Duration(c.Nova.Interval) != 10*time.Second {
				t.Errorf("nova.interval %v", time.Duration(c.Nova.Interval))
			}
		}},
		{name: "retention out of range", yaml: "retention: 10s", wantErr: "retention"},
		{name: "url without scheme", yaml: "rabbitmq: {url: 'mq1:15672'}", wantErr: "rabbitmq.url"},
		{name: "credentials in url refused and redacted", yaml: "rabbitmq: {url: 'http://u:hunter2@mq1:15672'}", wantErr: "rabbitmq.url"},
		{name: "bad queue regexp", yaml: "rabbitmq: {queues: '('}", wantErr: "rabbitmq.queues"},
		{name: "bad mode", yaml: "rabbitmq: {mode: fast}", wantErr: "rabbitmq.mode"},
		{name: "both password sources", yaml: "rabbitmq: {password: a, password_file: /x}", wantErr: "both set"},
		{name: "not yaml", yaml: "rabbitmq: [", wantErr: "config "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tt.env[k] }
			c, err := loadConfig(path, true, getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("err = %v does not name the file", err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("err = %v leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := loadConfig(missing, false, func(string) string { return "" }); err != nil {
		t.Errorf("a missing default config file must be fine, got %v", err)
	}
	if _, err := loadConfig(missing, true, func(string) string { return "" }); err == nil {
		t.Error("a missing file named with --config must be an error")
	}
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("rabbitmq: {password_file: "+pw+"}"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(path, true, func(string) string { return "" })
	if err != nil || c.RabbitMQ.Password != "from-file" {
		t.Fatalf("password_file: got %q, %v", c.RabbitMQ.Password, err)
	}
}
