package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/secretfile"
	"github.com/stacktop/stacktop/sources/heartbeat"
	"github.com/stacktop/stacktop/sources/nova"
)

// config is the file at ~/.config/stacktop/config.yaml (or --config),
// overlaid by the environment. Every key is optional.
type config struct {
	path     string            // where it was read from, "" when no file exists
	secrets  *redact.Secrets   // every secret the file and the environment hold
	warnings []string          // files holding secrets that others can read, said once before the screen opens
	fromEnv  map[string]string // key → the environment variable that set it

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
		return fmt.Errorf("%q is not a duration (e.g. 10s, 1m)", s)
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

// configPath is the config file to read: --config FILE (flag), else
// STACKTOP_CONFIG, else the default path; explicit when named, so that a
// missing file is an error rather than an empty configuration.
func configPath(flag string, getenv func(string) string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if env := getenv("STACKTOP_CONFIG"); env != "" {
		return env, true
	}
	return defaultConfigPath(), false
}

// readConfigFile reads and decodes path (a missing file is fine unless
// explicit), nothing else: no environment overlay, no validation beyond
// the keys and their kinds, no password file. It is what a subcommand that
// needs only the file's own settings (utc) reads; loadConfig goes on from
// it. Its errors are those of loadConfig.
func readConfigFile(path string, explicit bool, getenv func(string) string) (*config, error) {
	c := &config{secrets: envSecrets(getenv), fromEnv: map[string]string{}}
	if path == "" {
		return c, nil
	}
	b, warning, err := secretfile.Read(path, func(b []byte) bool {
		found := secretfile.YAMLSecrets(b)
		c.secrets.Add(found...)
		return len(found) > 0
	})
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	case err != nil:
		return nil, usageError{c.secrets.Error(fmt.Errorf("config: %w", err))}
	default:
		c.path = path
		c.warn(warning)
		if err := decodeYAML(b, c); err != nil {
			return nil, c.fail(err)
		}
	}
	return c, nil
}

// fail makes err a usage error naming the configuration's source, with no known secret in it.
func (c *config) fail(err error) error {
	return usageError{c.secrets.Error(fmt.Errorf("config %s: %w", c.source(), err))}
}

// loadConfig reads path (a missing file is fine unless explicit), overlays
// the environment, validates and reads the password files. Errors name the
// file (or the environment variable) and the key, hold no known secret, and
// are usage errors (exit status 2). Files holding secrets that others can
// write are refused; those others can read give a warning (c.warnings).
func loadConfig(path string, explicit bool, getenv func(string) string) (*config, error) {
	c, err := readConfigFile(path, explicit, getenv)
	if err != nil {
		return nil, err
	}
	fail := c.fail
	for _, e := range []struct {
		env, key string
		dst      *string
	}{
		{"STACKTOP_RABBITMQ_URL", "rabbitmq.url", &c.RabbitMQ.URL},
		{"STACKTOP_RABBITMQ_USER", "rabbitmq.user", &c.RabbitMQ.User},
		{"STACKTOP_RABBITMQ_PASSWORD", "rabbitmq.password", &c.RabbitMQ.Password},
		{"STACKTOP_AMQP_URL", "heartbeat.url", &c.Heartbeat.URL},
		{"STACKTOP_AMQP_USER", "heartbeat.user", &c.Heartbeat.User},
		{"STACKTOP_AMQP_PASSWORD", "heartbeat.password", &c.Heartbeat.Password},
	} {
		if v := getenv(e.env); v != "" {
			*e.dst = v
			c.fromEnv[e.key] = e.env
		}
	}
	if getenv("STACKTOP_TRANSPORT_URL") != "" {
		c.fromEnv["rpc.transport_url"] = "STACKTOP_TRANSPORT_URL"
	}
	if err := c.RPC.load(getenv); err != nil {
		return nil, fail(c.named(err))
	}
	c.warn(c.RPC.warning)
	urlSecrets(c.RPC.TransportURL, c.secrets)
	if err := c.validate(); err != nil {
		return nil, fail(c.named(err))
	}
	for _, p := range []struct {
		key        string
		file, into *string
	}{
		{"rabbitmq.password_file", &c.RabbitMQ.PasswordFile, &c.RabbitMQ.Password},
		{"heartbeat.password_file", &c.Heartbeat.PasswordFile, &c.Heartbeat.Password},
	} {
		if *p.file == "" || *p.into != "" {
			continue
		}
		b, warning, err := secretfile.Read(*p.file, nil)
		if err != nil {
			return nil, fail(fmt.Errorf("%s: %w", p.key, err))
		}
		c.warn(warning)
		*p.into = strings.TrimRight(string(b), "\r\n")
		c.secrets.Add(*p.into)
	}
	return c, nil
}

// envSecrets are the secrets the environment gives stacktop.
func envSecrets(getenv func(string) string) *redact.Secrets {
	s := redact.NewSecrets(getenv("STACKTOP_RABBITMQ_PASSWORD"), getenv("STACKTOP_AMQP_PASSWORD"),
		getenv("OS_PASSWORD"), getenv("OS_TOKEN"), getenv("OS_APPLICATION_CREDENTIAL_SECRET"))
	urlSecrets(getenv("STACKTOP_TRANSPORT_URL"), s)
	urlSecrets(getenv("STACKTOP_RABBITMQ_URL"), s)
	urlSecrets(getenv("STACKTOP_AMQP_URL"), s)
	return s
}

// warn notes a warning about the configuration once; "" is none.
func (c *config) warn(w string) {
	if w != "" && !slices.Contains(c.warnings, w) {
		c.warnings = append(c.warnings, w)
	}
}

// named says which environment variable a key's value came from, when it
// did: "rabbitmq.url (from STACKTOP_RABBITMQ_URL): ...".
func (c *config) named(err error) error {
	msg := err.Error()
	for key, env := range c.fromEnv {
		if strings.HasPrefix(msg, key+":") {
			return fmt.Errorf("%s (from %s)%s", key, env, strings.TrimPrefix(msg, key))
		}
	}
	return err
}

// maxNovaInterval is the longest Nova poll interval the config accepts.
const maxNovaInterval = 10 * time.Second

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
	// The verdict names a Keystone or Nova outage from a failed Nova poll:
	// polls further apart than maxNovaInterval could not name it within 15 s.
	if v := time.Duration(c.Nova.Interval); v != 0 && (v < nova.MinInterval || v > maxNovaInterval) {
		return fmt.Errorf("nova.interval: %s is outside %s..%s (an outage must show within 15 s: poll Nova at least every %s)", v, nova.MinInterval, maxNovaInterval, maxNovaInterval)
	}
	r := c.RabbitMQ
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("rabbitmq.url: want http(s)://host:port of the management API, got %q", redact.URL(r.URL))
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
			return fmt.Errorf("rabbitmq.prometheus_urls[%d]: want http(s)://host:15692, got %q", i, redact.URL(p))
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
