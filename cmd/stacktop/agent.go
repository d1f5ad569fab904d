package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stacktop/stacktop/secretfile"
	"github.com/stacktop/stacktop/sources/heartbeat"
)

const agentUsage = `NAME
    stacktop agent - publish this node's heartbeat to RabbitMQ for stacktop

SYNOPSIS
    stacktop agent [--config FILE] [--url URL] [--user USER] [--password-file FILE]
                   [--ca-file FILE] [--host NAME | --nova-conf FILE] [--interval DUR]
    stacktop agent --print [--host NAME | --nova-conf FILE]

DESCRIPTION
    Runs on every compute and controller node. Every interval (2 s) it
    publishes a small JSON heartbeat to the topic exchange stacktop.heartbeat
    with the host name as routing key: host, boot id, uptime, sequence
    number, send time, and the nova-* and neutron-* processes with their pid
    and start time. The dashboard shows each host's heartbeat age beside its
    Nova services, and restarted processes and rebooted hosts in its
    restarts timeline.

    Messages are transient, expire after three intervals and are published
    with publisher confirms. The agent reconnects by itself, with backoff and
    jitter; while the broker is away or blocks publishers (a resource alarm)
    heartbeats are dropped and counted, never queued.

OPTIONS
    --config FILE        YAML file with the keys url, vhost, user, password_file,
                         ca_file, insecure_skip_verify, host, nova_conf, interval
                         (default: $STACKTOP_AGENT_CONFIG, then /etc/stacktop/agent.yaml
                         when it exists)
    --url URL            amqp://host:5672/vhost or amqps://host:5671/vhost, no credentials
    --vhost VHOST        the vhost, when not in the URL
    --user USER          broker user (least privilege: see README, section Agent)
    --password-file FILE file holding the password (or STACKTOP_AMQP_PASSWORD)
    --ca-file FILE       CA bundle verifying an amqps:// broker (default: system roots)
    --host NAME          name to publish as; must equal Nova's host option
                         (default: the nova_conf's [DEFAULT] host, then the machine's name)
    --nova-conf FILE     read the host name from this nova.conf
    --interval DUR       publish interval (default 2s)
    --print              print one heartbeat as JSON and exit (no broker needed)

ENVIRONMENT
    STACKTOP_AMQP_URL, STACKTOP_AMQP_USER, STACKTOP_AMQP_PASSWORD,
    STACKTOP_AMQP_PASSWORD_FILE, STACKTOP_AMQP_CA_FILE, STACKTOP_AGENT_HOST,
    STACKTOP_AGENT_INTERVAL, STACKTOP_AGENT_CONFIG
                         flags win over the environment, which wins over the file.
                         A password is never accepted on the command line.
`

// agentConfig is the agent's file (and, merged, its whole configuration).
type agentConfig struct {
	URL          string   `yaml:"url"`
	VHost        string   `yaml:"vhost"`
	User         string   `yaml:"user"`
	Password     string   `yaml:"-"`
	PasswordFile string   `yaml:"password_file"`
	CAFile       string   `yaml:"ca_file"`
	Insecure     bool     `yaml:"insecure_skip_verify"`
	Host         string   `yaml:"host"`
	NovaConf     string   `yaml:"nova_conf"`
	Interval     duration `yaml:"interval"`

	warnings []string // files holding a secret that others can read; "" for none
}

// agentConfigDefault is read when it exists and no other file is named.
var agentConfigDefault = "/etc/stacktop/agent.yaml"

func runAgent(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	for _, a := range args {
		if n := strings.TrimLeft(a, "-"); a != n && (n == "password" || strings.HasPrefix(n, "password=")) {
			fmt.Fprintln(stderr, "stacktop agent: a password is never taken from the command line, where ps shows it; use --password-file or STACKTOP_AMQP_PASSWORD")
			return 2
		}
	}
	fs := flag.NewFlagSet("stacktop agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var flagCfg agentConfig
	var configPath, interval string
	var printOnly bool
	fs.StringVar(&configPath, "config", "", "")
	fs.StringVar(&flagCfg.URL, "url", "", "")
	fs.StringVar(&flagCfg.VHost, "vhost", "", "")
	fs.StringVar(&flagCfg.User, "user", "", "")
	fs.StringVar(&flagCfg.PasswordFile, "password-file", "", "")
	fs.StringVar(&flagCfg.CAFile, "ca-file", "", "")
	fs.BoolVar(&flagCfg.Insecure, "insecure-skip-verify", false, "")
	fs.StringVar(&flagCfg.Host, "host", "", "")
	fs.StringVar(&flagCfg.NovaConf, "nova-conf", "", "")
	fs.StringVar(&interval, "interval", "", "")
	fs.BoolVar(&printOnly, "print", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, agentUsage)
			return 0
		}
		fmt.Fprintf(stderr, "stacktop agent: %v\nRun stacktop agent --help for usage.\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stacktop agent: unexpected argument %q\nRun stacktop agent --help for usage.\n", fs.Arg(0))
		return 2
	}
	if interval != "" {
		d, err := time.ParseDuration(interval)
		if err != nil {
			fmt.Fprintf(stderr, "stacktop agent: --interval %q is not a duration such as 2s\n", interval)
			return 2
		}
		flagCfg.Interval = duration(d)
	}
	cfg, err := loadAgentConfig(configPath, flagCfg, getenv)
	if err != nil {
		printSafe(stderr, "stacktop agent: "+err.Error(), envSecrets(getenv))
		return 2
	}
	for _, w := range cfg.warnings {
		if w != "" {
			printSafe(stderr, "stacktop agent: warning: "+w, nil)
		}
	}
	ac := heartbeat.AgentConfig{
		Conn: heartbeat.ConnConfig{
			URL: cfg.URL, VHost: cfg.VHost, User: cfg.User, Password: cfg.Password,
			CAFile: cfg.CAFile, Insecure: cfg.Insecure,
		},
		Host:     cfg.Host,
		Interval: time.Duration(cfg.Interval),
		Version:  version,
	}
	if printOnly {
		if ac.Conn.URL == "" {
			ac.Conn.URL = "amqp://localhost/" // not dialled
		}
		a, err := heartbeat.NewAgent(ac)
		if err != nil {
			fmt.Fprintf(stderr, "stacktop %v\n", err)
			return 1
		}
		b, _ := json.MarshalIndent(a.Message(), "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	logger := log.New(stderr, "stacktop agent: ", 0)
	if getenv("INVOCATION_ID") == "" { // not under systemd, whose journal stamps lines itself
		logger.SetFlags(log.LstdFlags)
	}
	ac.Logf = logger.Printf
	a, err := heartbeat.NewAgent(ac)
	if err != nil {
		fmt.Fprintf(stderr, "stacktop %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	logger.Printf("%s: heartbeat of %s every %s to %s", versionString(), a.Host(), a.Interval(), ac.Conn.Target())
	if err := a.Run(ctx); err != nil {
		logger.Printf("%v", err)
		return 1
	}
	st := a.Stats()
	logger.Printf("stopped: %d heartbeats built, %d published, %d confirmed, %d unconfirmed, %d dropped (%d while blocked), %d connections",
		st.Built, st.Published, st.Confirmed, st.Nacked, st.Dropped, st.Blocked, st.Connects)
	return 0
}

// loadAgentConfig merges the file, the environment and the flags (in
// rising precedence), reads the password and the host name, and validates.
func loadAgentConfig(path string, flags agentConfig, getenv func(string) string) (agentConfig, error) {
	explicit := path != ""
	if path == "" {
		path, explicit = getenv("STACKTOP_AGENT_CONFIG"), getenv("STACKTOP_AGENT_CONFIG") != ""
	}
	if path == "" {
		path = agentConfigDefault
	}
	var c agentConfig
	where := "agent config"
	secrets := envSecrets(getenv)
	b, warning, err := secretfile.Read(path, func(b []byte) bool {
		found := secretfile.YAMLSecrets(b)
		secrets.Add(found...)
		return len(found) > 0
	})
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	case err != nil:
		return c, fmt.Errorf("config: %w", err)
	default:
		where = "config " + path
		c.warnings = append(c.warnings, warning)
		if err := decodeYAML(b, &c); err != nil {
			return c, secrets.Error(fmt.Errorf("%s: %w", where, err))
		}
	}
	for _, e := range []struct {
		key string
		dst *string
	}{
		{"STACKTOP_AMQP_URL", &c.URL}, {"STACKTOP_AMQP_USER", &c.User},
		{"STACKTOP_AMQP_PASSWORD_FILE", &c.PasswordFile}, {"STACKTOP_AMQP_CA_FILE", &c.CAFile},
		{"STACKTOP_AGENT_HOST", &c.Host},
	} {
		if v := getenv(e.key); v != "" {
			*e.dst = v
		}
	}
	if v := getenv("STACKTOP_AGENT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("STACKTOP_AGENT_INTERVAL: %q is not a duration such as 2s", v)
		}
		c.Interval = duration(d)
	}
	for _, f := range []struct{ src, dst *string }{
		{&flags.URL, &c.URL}, {&flags.VHost, &c.VHost}, {&flags.User, &c.User},
		{&flags.PasswordFile, &c.PasswordFile}, {&flags.CAFile, &c.CAFile},
		{&flags.Host, &c.Host}, {&flags.NovaConf, &c.NovaConf},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	if flags.Insecure {
		c.Insecure = true
	}
	if flags.Interval != 0 {
		c.Interval = flags.Interval
	}
	if iv := time.Duration(c.Interval); iv != 0 && (iv < 100*time.Millisecond || iv > time.Hour) {
		return c, fmt.Errorf("%s: interval: %s is outside 100ms..1h", where, iv)
	}
	if c.URL != "" {
		if err := (heartbeat.ConnConfig{URL: c.URL, CAFile: c.CAFile}).Validate(); err != nil {
			return c, fmt.Errorf("%s: url: %v", where, err)
		}
	}
	c.Password = getenv("STACKTOP_AMQP_PASSWORD")
	if c.Password == "" && c.PasswordFile != "" {
		b, warning, err := secretfile.Read(c.PasswordFile, nil)
		if err != nil {
			return c, fmt.Errorf("%s: password_file: %w", where, err)
		}
		c.warnings = append(c.warnings, warning)
		c.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.Host == "" && c.NovaConf != "" {
		h, err := novaConfHost(c.NovaConf)
		if err != nil {
			return c, fmt.Errorf("%s: nova_conf: %w", where, err)
		}
		c.Host = h
	}
	return c, nil
}

// novaConfHost returns the host option of nova.conf's [DEFAULT] section,
// "" when unset (Nova then uses the machine's name, as the agent does).
func novaConfHost(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	section := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.TrimSpace(strings.Trim(line, "[]"))
		case section == "DEFAULT":
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.TrimSpace(k) == "host" {
				return strings.TrimSpace(v), nil
			}
		}
	}
	return "", sc.Err()
}

// newHeartbeatSource is the dashboard's heartbeat consumer and canary for the config's heartbeat section.
func newHeartbeatSource(h heartbeatConfig) (*heartbeat.Source, error) {
	return heartbeat.NewSource(heartbeat.SourceConfig{
		Conn: heartbeat.ConnConfig{URL: h.URL, VHost: h.VHost, User: h.User, Password: h.Password,
			CAFile: h.CAFile, Insecure: h.Insecure},
		CanaryVHost:    h.CanaryVHost,
		CanaryInterval: time.Duration(h.CanaryInterval),
		CanaryTimeout:  time.Duration(h.CanaryTimeout),
	})
}
