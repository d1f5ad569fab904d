// Command demosim serves the demo simulator (sources/demo) at a chosen scale
// in its own process, for measuring the real binary and other clients
// against generated endpoints (scripts/termbench, scripts/compare).
//
//	demosim -computes 5000 -dir DIR
//
// It writes into DIR: env (OS_* variables for stacktop and the openstack
// client, STACKTOP_RABBITMQ_* for stacktop), management.yaml and
// prometheus.yaml (stacktop config files choosing the broker path), and
// ready (written last: the endpoints answer). It serves until it gets
// SIGINT or SIGTERM. The credentials are the simulator's fixed demo ones.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stacktop/stacktop/sources/demo"
)

func main() {
	computes := flag.Int("computes", 5000, "compute hosts of the simulated cloud")
	extra := flag.Int("extra-queues", 0, "extra idle reply_/fanout queues")
	dir := flag.String("dir", "", "directory to write env, management.yaml, prometheus.yaml and ready into (required)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "demosim: -dir is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *computes, *extra, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "demosim:", err)
		stop()
		os.Exit(1)
	}
}

// run serves the simulator and writes its files into dir until ctx ends.
func run(ctx context.Context, computes, extra int, dir string) error {
	c, err := demo.Start(ctx, demo.Config{Computes: computes, ExtraQueues: extra})
	if err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	defer c.Close()
	cr := c.Credentials()
	env := []string{
		"OS_AUTH_URL=" + cr.AuthURL,
		"OS_IDENTITY_API_VERSION=3",
		"OS_USERNAME=" + cr.Username,
		"OS_PASSWORD=" + cr.Password,
		"OS_PROJECT_NAME=" + cr.ProjectName,
		"OS_USER_DOMAIN_NAME=" + cr.UserDomainName,
		"OS_PROJECT_DOMAIN_NAME=" + cr.ProjectDomainName,
		"OS_REGION_NAME=" + cr.Region,
		"STACKTOP_RABBITMQ_URL=" + cr.RabbitURL,
		"STACKTOP_RABBITMQ_USER=" + cr.RabbitUser,
		"STACKTOP_RABBITMQ_PASSWORD=" + cr.RabbitPassword,
		"DEMOSIM_VHOST=" + cr.VHost,
		fmt.Sprintf("DEMOSIM_PID=%d", os.Getpid()),
	}
	files := map[string]string{
		"env":             "export " + strings.Join(env, "\nexport ") + "\n",
		"management.yaml": fmt.Sprintf("rabbitmq:\n  mode: management\n  vhost: %s\n", cr.VHost),
		"prometheus.yaml": fmt.Sprintf("rabbitmq:\n  mode: prometheus\n  vhost: %s\n  prometheus_urls: [%s]\n", cr.VHost, strings.Join(cr.PrometheusURLs, ", ")),
		"ready":           "",
	}
	for _, name := range []string{"env", "management.yaml", "prometheus.yaml", "ready"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(files[name]), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	fmt.Fprintf(os.Stderr, "demosim: %d computes serving; %s\n", computes, filepath.Join(dir, "env"))
	<-ctx.Done()
	return nil
}
