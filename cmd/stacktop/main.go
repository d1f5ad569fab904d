// Command stacktop shows the live state of an OpenStack cloud's compute
// services and of the RabbitMQ that carries their RPC, for the on-call
// engineer; see usage below or run stacktop --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/redact"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/sources/demo"
	"github.com/stacktop/stacktop/sources/nova"
	"github.com/stacktop/stacktop/sources/rabbitmq"
	"github.com/stacktop/stacktop/sources/rpcping"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// Stamped at release time by goreleaser (-ldflags -X).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

const usage = `NAME
    stacktop - live state of an OpenStack cloud and its RabbitMQ, for on-call

SYNOPSIS
    stacktop [--os-cloud NAME] [--config FILE] [--retention DURATION] [--utc] [--no-color]
    stacktop --demo [--utc] [--config FILE] [--no-color]
    stacktop record FILE [--demo | --os-cloud NAME | --config FILE] [--duration DUR] [--force]
    stacktop replay FILE [--speed 1|2|10|max] [--step] [--from T] [--utc] [--config FILE]
    stacktop timeline FILE [--since T] [--until T] [--format markdown|text|json] [--utc] [--config FILE]
    stacktop agent [--config FILE] [--url URL] [--user USER] [--password-file FILE] ...
    stacktop --version | --help

    Each subcommand has its own --help: stacktop record --help.

COMMANDS
    (none)      the live screen
    record      record what stacktop observes to a file, without the screen
    replay      play a recording in the screen
    timeline    an incident timeline (markdown, text or json) from a recording
    agent       run on every node: publish its heartbeat to RabbitMQ

DESCRIPTION
    Polls Nova's compute services (os-services) and the RabbitMQ management
    API and shows, in one terminal: every nova-* service per host (up, down,
    disabled, forced down, flapping), queue backlogs and their growth, and a
    timeline of restarts. Enter on any row drills down to its history; ? in
    the program lists every key. stacktop only reads: it sends GET requests
    (and Keystone's token request), never a change.

OPTIONS
    --demo              run against the built-in simulated cloud: ~40 computes
                        replaying a broker incident in a loop; no setup, no network
                        (of the config file it reads only utc)
    --os-cloud NAME     the clouds.yaml entry to use (default: $OS_CLOUD, then
                        the nova.cloud key of the config file, then OS_* variables)
    --config FILE       config file (default: $STACKTOP_CONFIG, then
                        ~/.config/stacktop/config.yaml)
    --retention DUR     how much history to keep, e.g. 30m or 2h (default 1h)
    --no-color          no colour at all (also: NO_COLOR set to anything)
    --utc               show times in UTC (also: utc: true in the config file,
                        which --demo, replay and timeline read too); by default they
                        are in the local zone (TZ). The header names the
                        zone; typed times are read in it
    --record FILE       also record every observation to FILE, as stacktop
                        record does (see stacktop record --help); an existing
                        FILE is refused unless --force is given
    --force             with --record: replace FILE if it exists
    --version           print the version and exit
    --help              print this text and exit

ENVIRONMENT
    The environment overrides the config file; a password is never taken
    from the command line, where ps shows it.
    OS_CLOUD, OS_CLIENT_CONFIG_FILE, OS_AUTH_URL, OS_USERNAME, OS_PASSWORD,
    OS_TOKEN, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_REGION_NAME, ...
                        Keystone and Nova, as for the openstack CLI
    STACKTOP_RABBITMQ_URL, STACKTOP_RABBITMQ_USER, STACKTOP_RABBITMQ_PASSWORD
                        the management API and its credentials (rabbitmq.url,
                        rabbitmq.user, rabbitmq.password)
    STACKTOP_AMQP_URL, STACKTOP_AMQP_USER, STACKTOP_AMQP_PASSWORD
                        where the agents' heartbeats are read and the canary
                        runs: amqp(s)://host:port/vhost, no credentials in it
                        (heartbeat.url, heartbeat.user, heartbeat.password)
    STACKTOP_TRANSPORT_URL
                        Nova's transport_url (rabbit://user:password@host:5672/nova):
                        stacktop then pings every nova-compute, -conductor and
                        -scheduler over RPC (oslo_rpc_server_ping) through it
                        (rpc.transport_url)
    STACKTOP_AMQP_PASSWORD_FILE, STACKTOP_AMQP_CA_FILE, STACKTOP_AGENT_HOST,
    STACKTOP_AGENT_INTERVAL, STACKTOP_AGENT_CONFIG
                        stacktop agent only: see stacktop agent --help
    STACKTOP_CONFIG     config file path
    NO_COLOR            disable colour
    GOGC, GOMEMLIMIT    the Go collector's settings; with neither set,
                        stacktop runs it at GOGC=25 (the heap grows a
                        quarter over what is live, not twice; README.md)

CONFIGURATION
    The config file is YAML; every key is optional (README.md, section
    Configuration, has an example and what each key means):
    retention, utc
    nova:      cloud, interval, timeout
    rabbitmq:  url, user, password, password_file, ca_file,
               insecure_skip_verify, vhost, queues, interval, timeout, mode,
               prometheus_urls
    rpc:       transport_url, transport_url_file, exchange, interval,
               timeout, concurrency, ca_file
    heartbeat: url, vhost, user, password, password_file, ca_file,
               insecure_skip_verify, canary_vhost, canary_interval,
               canary_timeout
    Durations are written 10s, 1m, 2h. A file holding a secret (the config,
    a password_file, transport_url_file, clouds.yaml, secure.yaml) is
    refused when others than its owner can write it, and warned of when
    they can read it (chmod 600).

FILES
    ~/.config/stacktop/config.yaml   see README.md, section Configuration
    clouds.yaml, secure.yaml         the openstack CLI's search path

EXIT STATUS
    0   the screen was quit, or a subcommand finished
    1   a failure while running (a recording could not be written, the
        terminal failed)
    2   a usage or configuration error: a bad flag, argument, config key or
        value, environment variable, or a file refused for its permissions
`

func main() {
	setMemoryPolicy(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// options are the parsed command line.
type options struct {
	demo       bool
	cloud      string
	configPath string
	retention  time.Duration
	noColor    bool
	record     string // --record FILE
	utc        bool   // --utc: times in UTC, not the local zone
	force      bool   // --force: --record (or stacktop record) may replace an existing FILE
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		// Subcommands: each lives in its own file and parses its own flags.
		switch args[0] {
		case "agent":
			return runAgent(args[1:], stdout, stderr, getenv)
		case "record":
			return runRecord(args[1:], stdout, stderr, getenv)
		case "replay":
			return runReplay(args[1:], stdout, stderr, getenv)
		case "timeline":
			return runTimeline(args[1:], stdout, stderr, getenv)
		}
	}
	fs := flag.NewFlagSet("stacktop", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	var showVersion bool
	fs.BoolVar(&o.demo, "demo", false, "")
	fs.StringVar(&o.cloud, "os-cloud", "", "")
	fs.StringVar(&o.configPath, "config", "", "")
	fs.DurationVar(&o.retention, "retention", 0, "")
	fs.BoolVar(&o.noColor, "no-color", false, "")
	fs.StringVar(&o.record, "record", "", "")
	fs.BoolVar(&o.utc, "utc", false, "")
	fs.BoolVar(&o.force, "force", false, "")
	fs.BoolVar(&showVersion, "version", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "stacktop: %v\nRun stacktop --help for usage.\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stacktop: unexpected argument %q\nRun stacktop --help for usage.\n", fs.Arg(0))
		return 2
	}
	if showVersion {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	if getenv("NO_COLOR") != "" {
		o.noColor = true
	}
	if err := runTUI(o, stderr, getenv); err != nil {
		return fail(stderr, "stacktop", err, nil)
	}
	return 0
}

// fail prints err on stderr, scrubbed of secrets (the known ones and any
// URL userinfo) and made safe for the terminal line by line, and returns
// the exit status: 2 for a usage or configuration error, 1 otherwise.
func fail(stderr io.Writer, prefix string, err error, secrets *redact.Secrets) int {
	printSafe(stderr, prefix+": "+err.Error(), secrets)
	return exitStatus(err)
}

// printSafe writes msg to w, scrubbed and sanitised as fail does.
func printSafe(w io.Writer, msg string, secrets *redact.Secrets) {
	for line := range strings.SplitSeq(secrets.Scrub(msg), "\n") {
		fmt.Fprintln(w, sanitize.Line(line, 0))
	}
}

func versionString() string {
	s := "stacktop " + version
	if commit != "" {
		s += " (" + commit
		if date != "" {
			s += ", " + date
		}
		s += ")"
	}
	return s
}

// runTUI builds the sources (from the config, or the demo), runs them into
// the store and shows the UI until the user quits.
func runTUI(o options, stderr io.Writer, getenv func(string) string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	if o.record != "" {
		if err := checkNewFile(o.record, o.force); err != nil {
			return err
		}
	}
	cfg := state.DefaultConfig()
	set, err := buildSources(ctx, o, getenv)
	if err != nil {
		return err
	}
	defer set.close()
	srcs, focus := set.srcs, set.focus
	useZone(o.utc || set.utc)
	var uiOpts ui.Options
	for _, w := range set.warnings {
		printSafe(stderr, "stacktop: warning: "+w, set.secrets) // before the screen opens, once
	}
	uiOpts.Notices = set.warnings
	uiOpts.Cloud, uiOpts.Broker = set.cloud, set.broker
	uiOpts.Unconfigured = set.unconfigured
	uiOpts.Recording = o.record
	if set.retention != 0 {
		cfg.Retention = set.retention
	}
	if o.retention != 0 {
		if o.retention < time.Minute {
			return fmt.Errorf("--retention %s: want at least 1m", o.retention)
		}
		cfg.Retention = o.retention
	}

	p := newPipeline(state.NewStore(cfg), srcs)
	p.secrets = set.secrets
	if o.record != "" {
		rec, err := startRecording(o.record)
		if err != nil {
			return err
		}
		defer func() {
			summary, err := rec.Close()
			fmt.Fprintln(os.Stderr, summary)
			if err != nil {
				fmt.Fprintf(os.Stderr, "stacktop: %v\n", err)
			}
		}()
		p.tap = rec.tap
	}
	go p.Run(ctx)

	uiOpts.Updates = p.Snapshots()
	uiOpts.NoColor = o.noColor
	uiOpts.FocusQueue = focus
	prog := tea.NewProgram(ui.New(uiOpts), tea.WithContext(ctx))
	_, err = prog.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // SIGTERM or SIGHUP: a normal way to end
	}
	return err
}

// sourceSet is what stacktop runs: its sources and what the screen needs to know of them.
type sourceSet struct {
	srcs          []sources.Source
	focus         func(state.QueueKey) // the broker source's drill-down focus; nil without one
	retention     time.Duration        // from the config file; 0 for the default
	cloud, broker string               // header names; "" for the sources' own
	unconfigured  []ui.Unconfigured    // sources left out of the configuration, and how to set them
	utc           bool                 // the config file's utc key
	close         func()               // stops the demo cloud, if any
	warnings      []string             // about the configuration's files, shown before the screen opens and in its header
	secrets       *redact.Secrets      // the configuration's secrets, for scrubbing errors
}

// buildSources builds the sources from the demo or from the configuration,
// for the screen (runTUI) and for recording without it (runRecord) alike.
func buildSources(ctx context.Context, o options, getenv func(string) string) (sourceSet, error) {
	if o.demo {
		// The demo's sources are its own; of the config file it reads
		// only utc, as replay and timeline do.
		path, explicit := configPath(o.configPath, getenv)
		c, err := readConfigFile(path, explicit, getenv)
		if err != nil {
			return sourceSet{}, err
		}
		cloud, err := demo.Start(ctx, demo.DefaultConfig())
		if err != nil {
			return sourceSet{}, fmt.Errorf("demo: %w", err)
		}
		srcs, focus, err := demoSources(cloud)
		if err != nil {
			cloud.Close()
			return sourceSet{}, err
		}
		return sourceSet{srcs: srcs, focus: focus, cloud: "demo", broker: "demo-rabbit", close: func() { cloud.Close() },
			utc: c.UTC, warnings: c.warnings, secrets: c.secrets}, nil
	}
	path, explicit := configPath(o.configPath, getenv)
	c, err := loadConfig(path, explicit, getenv)
	if err != nil {
		return sourceSet{}, err
	}
	srcs, focus, err := configuredSources(c, o.cloud)
	if err != nil {
		// Building a source touches no network: what fails is the configuration.
		return sourceSet{}, usageError{c.secrets.Error(err)}
	}
	return sourceSet{srcs: srcs, focus: focus, retention: time.Duration(c.Retention), close: func() {},
		unconfigured: unconfigured(c), utc: c.UTC, warnings: c.warnings, secrets: c.secrets}, nil
}

// unconfigured lists the sources the configuration leaves out, with the
// key or variable that would set each: the screen says so rather than
// waiting for data that will never come.
func unconfigured(c *config) []ui.Unconfigured {
	var out []ui.Unconfigured
	if c.RabbitMQ.URL == "" {
		out = append(out, ui.Unconfigured{Source: sources.NameRabbitMQ, What: "broker", How: "set rabbitmq.url or STACKTOP_RABBITMQ_URL"})
	}
	if c.Heartbeat.URL == "" {
		out = append(out, ui.Unconfigured{Source: sources.NameHeartbeat, What: "heartbeats", How: "set heartbeat.url or STACKTOP_AMQP_URL"})
	}
	if c.RPC.TransportURL == "" { // loadConfig has read transport_url_file and STACKTOP_TRANSPORT_URL into it
		out = append(out, ui.Unconfigured{Source: sources.NameRPCPing, What: "rpc pings", How: "set rpc.transport_url_file or STACKTOP_TRANSPORT_URL"})
	}
	return out
}

// The demo's RPC pings: every service every 10 s; 16 in flight at most, so
// that a round of its 44 services keeps near its interval while the sick
// broker makes pings wait out their 5 s timeout.
const (
	demoRPCInterval    = 10 * time.Second
	demoRPCConcurrency = 16
)

// demoSources points the real Nova, RabbitMQ and RPC ping sources at the
// simulated cloud; heartbeats and the canary come from the simulator's own
// source.
func demoSources(cloud *demo.Cloud) ([]sources.Source, func(state.QueueKey), error) {
	cr := cloud.Credentials()
	n, err := nova.New(nova.Config{
		Auth: &nova.Auth{URL: cr.AuthURL, Username: cr.Username, Password: cr.Password,
			UserDomainName: cr.UserDomainName, ProjectName: cr.ProjectName, ProjectDomainName: cr.ProjectDomainName},
		Region:   cr.Region,
		Interval: 2 * time.Second,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	// The simulated management API slows down as the broker sickens, as a real
	// one does (about a second a request at worst): 4 s leaves room for three.
	// Node gauges and queues come from the nodes' rabbitmq_prometheus
	// endpoints, as with prometheus_urls set; the header says so.
	r, err := rabbitmq.New(rabbitmq.Config{URL: cr.RabbitURL, User: cr.RabbitUser, Password: cr.RabbitPassword,
		PrometheusURLs: cr.PrometheusURLs, Interval: 4 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	rs := &rpcSource{}
	ping, err := rpcping.New(rpcping.Config{TransportURL: demo.RPCTransportURL, Interval: demoRPCInterval,
		Concurrency: demoRPCConcurrency, Targets: rs.targets, Simulator: cloud.RPCSimulator()})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	rs.Source = ping
	return []sources.Source{n, r, rs, cloud.HeartbeatSource()}, focusFunc(r), nil
}

// configuredSources builds the sources a real cloud's configuration asks for.
func configuredSources(c *config, cloudFlag string) ([]sources.Source, func(state.QueueKey), error) {
	cloud := cloudFlag
	if cloud == "" && c.Nova.Cloud != "" && getenvOSCloudUnset() {
		cloud = c.Nova.Cloud
	}
	n, err := nova.New(nova.Config{Cloud: cloud, Interval: time.Duration(c.Nova.Interval), Timeout: time.Duration(c.Nova.Timeout), Warn: c.warn})
	if err != nil {
		return nil, nil, err
	}
	srcs := []sources.Source{n}
	var focus func(state.QueueKey)
	if c.RabbitMQ.URL != "" {
		r, err := rabbitmq.New(rabbitmq.Config{
			URL: c.RabbitMQ.URL, User: c.RabbitMQ.User, Password: c.RabbitMQ.Password,
			CAFile: c.RabbitMQ.CAFile, Insecure: c.RabbitMQ.Insecure,
			VHost: c.RabbitMQ.VHost, QueueFilter: c.RabbitMQ.Queues,
			Interval: time.Duration(c.RabbitMQ.Interval), Timeout: time.Duration(c.RabbitMQ.Timeout),
			PrometheusURLs: c.RabbitMQ.Prometheus, Mode: rabbitmq.Mode(c.RabbitMQ.Mode),
		})
		if err != nil {
			return nil, nil, err
		}
		srcs = append(srcs, r)
		focus = focusFunc(r)
	}
	if c.RPC.TransportURL != "" {
		r, err := newRPCSource(c.RPC)
		if err != nil {
			return nil, nil, err
		}
		srcs = append(srcs, r)
	}
	if c.Heartbeat.URL != "" {
		hb, err := newHeartbeatSource(c.Heartbeat)
		if err != nil {
			return nil, nil, err
		}
		srcs = append(srcs, hb)
	}
	return srcs, focus, nil
}

func getenvOSCloudUnset() bool { return os.Getenv("OS_CLOUD") == "" }

func focusFunc(r *rabbitmq.Source) func(state.QueueKey) {
	return func(k state.QueueKey) { r.SetFocus(k.VHost, k.Name) }
}
