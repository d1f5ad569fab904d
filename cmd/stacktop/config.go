package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v2"

	"github.com/stacktop/stacktop/sources/heartbeat"
)

// config is the file at ~/.config/stacktop/config.yaml (or --config),
// overlaid by the environment. Every key is optional.
type config struct {
	path string // where it was read from, "" when no file exists

	Retention duration        `yaml:"retention"`
	UTC       bool            `yaml:"utc"` // times in UTC, not the local zone (as --utc)
	Nova      novaConfig      `yaml:"nova"`
	RabbitMQ  rabbitmqConfig  `yaml:"rabbitmq"`
	RPC       rpcConfig       `yaml:"rpc"` // RPC pings of the Nova services (rpcping.go)
	Heartbeat heartbeatConfig `yaml:"heartbeat"`
}

type novaConfig struct {
	Cloud    string   `yaml:"cloud"` // entry of clouds.yaml; OS_CLOUD and --os-cloud override it
	Interval duration `yaml:"interval"`
	Timeout  duration `yaml:"timeout"`
}

type rabbitmqConfig struct {
	URL          string   `yaml:"url"` // management API, e.g. https://mq1.example:15672
	User         string   `yaml:"user"`
	Password     string   `yaml:"password"`
	PasswordFile string   `yaml:"password_file"`
	CAFile       string   `yaml:"ca_file"`
	Insecure     bool     `yaml:"insecure_skip_verify"`
	VHost        string   `yaml:"vhost"`
	Queues       string   `yaml:"queues"` // RE2 regular expression over queue names
	Interval     duration `yaml:"interval"`
	Timeout      duration `yaml:"timeout"`
	Mode         string   `yaml:"mode"` // auto, management or prometheus
	Prometheus   []string `yaml:"prometheus_urls"`
}

// heartbeatConfig is the AMQP side: the agents' heartbeats and the canary.
type heartbeatConfig struct {
	URL            string   `yaml:"url"` // amqp(s)://host:port/vhost where the agents publish; no credentials
	VHost          string   `yaml:"vhost"`
	User           string   `yaml:"user"`
	Password       string   `yaml:"password"`
	PasswordFile   string   `yaml:"password_file"`
	CAFile         string   `yaml:"ca_file"`
	Insecure       bool     `yaml:"insecure_skip_verify"`
	CanaryVHost    string   `yaml:"canary_vhost"` // Nova's vhost; default the heartbeat vhost
	CanaryInterval duration `yaml:"canary_interval"`
	CanaryTimeout  duration `yaml:"canary_timeout"`
}

// duration is a time.Duration written as "10s" or "1h" in YAML.
type duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 10s or 1h", s)
	}
	*d = duration(v)
	return nil
}

// defaultConfigPath is where the config file lives unless --config or STACKTOP_CONFIG says otherwise.
func defaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "stacktop", "config.yaml")
}

// loadConfig reads path (a missing file is fine unless explicit), overlays
// the environment and validates. Errors name the file and the key.
func loadConfig(path string, explicit bool, getenv func(string) string) (*config, error) {
	c := &config{}
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !explicit:
		case err != nil:
			return nil, fmt.Errorf("config: %w", err)
		default:
			c.path = path
			if err := yaml.UnmarshalStrict(b, c); err != nil {
				return nil, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
			}
		}
	}
	if v := getenv("STACKTOP_RABBITMQ_URL"); v != "" {
		c.RabbitMQ.URL = v
	}
	if v := getenv("STACKTOP_RABBITMQ_USER"); v != "" {
		c.RabbitMQ.User = v
	}
	if v := getenv("STACKTOP_RABBITMQ_PASSWORD"); v != "" {
		c.RabbitMQ.Password = v
	}
	if err := c.RPC.load(getenv); err != nil {
		return nil, fmt.Errorf("config %s: %w", c.source(), err)
	}
	if v := getenv("STACKTOP_AMQP_URL"); v != "" {
		c.Heartbeat.URL = v
	}
	if v := getenv("STACKTOP_AMQP_USER"); v != "" {
		c.Heartbeat.User = v
	}
	if v := getenv("STACKTOP_AMQP_PASSWORD"); v != "" {
		c.Heartbeat.Password = v
	}
	if err := c.validate(); err != nil {
		where := c.path
		if where == "" {
			where = "environment"
		}
		return nil, fmt.Errorf("config %s: %w", where, err)
	}
	if c.RabbitMQ.PasswordFile != "" && c.RabbitMQ.Password == "" {
		b, err := os.ReadFile(c.RabbitMQ.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("config %s: rabbitmq.password_file: %w", c.path, err)
		}
		c.RabbitMQ.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.Heartbeat.PasswordFile != "" && c.Heartbeat.Password == "" {
		b, err := os.ReadFile(c.Heartbeat.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("config %s: heartbeat.password_file: %w", c.path, err)
		}
		c.Heartbeat.Password = strings.TrimRight(string(b), "\r\n")
	}
	return c, nil
}

func (c *config) validate() error {
	if c.Retention != 0 && (time.Duration(c.Retention) < time.Minute || time.Duration(c.Retention) > 7*24*time.Hour) {
		return fmt.Errorf("retention: %s is outside 1m..168h", time.Duration(c.Retention))
	}
	for _, d := range []struct {
		key string
		v   duration
	}{
		{"nova.interval", c.Nova.Interval}, {"nova.timeout", c.Nova.Timeout},
		{"rabbitmq.interval", c.RabbitMQ.Interval}, {"rabbitmq.timeout", c.RabbitMQ.Timeout},
		{"heartbeat.canary_interval", c.Heartbeat.CanaryInterval}, {"heartbeat.canary_timeout", c.Heartbeat.CanaryTimeout},
	} {
		if d.v != 0 && (time.Duration(d.v) < 100*time.Millisecond || time.Duration(d.v) > time.Hour) {
			return fmt.Errorf("%s: %s is outside 100ms..1h", d.key, time.Duration(d.v))
		}
	}
	r := c.RabbitMQ
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("rabbitmq.url: want http(s)://host:port of the management API, got %q", redactURL(r.URL))
		}
		if u.User != nil {
			return errors.New("rabbitmq.url: credentials do not belong in the URL; use rabbitmq.user and rabbitmq.password_file")
		}
	}
	if r.Password != "" && r.PasswordFile != "" {
		return errors.New("rabbitmq.password and rabbitmq.password_file are both set; keep one")
	}
	if r.Queues != "" {
		if _, err := regexp.Compile(r.Queues); err != nil {
			return fmt.Errorf("rabbitmq.queues: %v", err)
		}
	}
	switch r.Mode {
	case "", "auto", "management", "prometheus":
	default:
		return fmt.Errorf("rabbitmq.mode: %q is not one of auto, management, prometheus", r.Mode)
	}
	for i, p := range r.Prometheus {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("rabbitmq.prometheus_urls[%d]: want http(s)://host:15692, got %q", i, redactURL(p))
		}
	}
	return c.Heartbeat.validate()
}

func (h heartbeatConfig) validate() error {
	if h.URL == "" {
		return nil
	}
	if err := (heartbeat.ConnConfig{URL: h.URL, CAFile: h.CAFile}).Validate(); err != nil {
		return fmt.Errorf("heartbeat.url: %w", err)
	}
	if h.Password != "" && h.PasswordFile != "" {
		return errors.New("heartbeat.password and heartbeat.password_file are both set; keep one")
	}
	if h.CanaryTimeout != 0 && h.CanaryInterval != 0 && h.CanaryTimeout > h.CanaryInterval {
		return fmt.Errorf("heartbeat.canary_timeout: %s is longer than canary_interval %s", time.Duration(h.CanaryTimeout), time.Duration(h.CanaryInterval))
	}
	return nil
}

// redactURL drops any userinfo from a URL-ish string before it is shown.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "…@" + s[i+1:]
		}
		return s
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}
