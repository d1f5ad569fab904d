// Command scalegen loads a dev broker with queues for scripts/rabbitmq-scale,
// and times stacktop's own polls of it.
//
//	scalegen declare -amqp URL -n 20000 [-prefix scale] [-every 10] [-workers 8]
//	    declares n queues over AMQP in the URL's vhost (names as Nova's:
//	    compute.<host>, reply_<hex>, conductor/scheduler fanouts) and publishes
//	    one message to every -every'th queue, so depths are not all zero.
//	scalegen poll -url URL -user U -password-env VAR -vhost V -mode M -runs R [-prometheus URL]
//	    times R polls of the rabbitmq source (Source.Poll: requests, decoding,
//	    sorting) and prints one line per poll.
package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stacktop/stacktop/sources/rabbitmq"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scalegen declare|poll [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "declare":
		err = declare(os.Args[2:])
	case "poll":
		err = pollCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalegen:", err)
		os.Exit(1)
	}
}

// queueName is the i-th queue's name: mostly reply queues and compute
// queues, as in a Nova deployment with many hosts.
func queueName(prefix string, i int) string {
	switch i % 4 {
	case 0:
		return fmt.Sprintf("%s.compute.host-%05d", prefix, i)
	case 1:
		return fmt.Sprintf("%s.compute_fanout_%05d", prefix, i)
	default:
		h := sha1.Sum(fmt.Appendf(nil, "%d", i))
		return fmt.Sprintf("%s.reply_%s", prefix, hex.EncodeToString(h[:16]))
	}
}

func declare(args []string) error {
	fs := flag.NewFlagSet("declare", flag.ExitOnError)
	url := fs.String("amqp", "", "AMQP URL with the vhost")
	n := fs.Int("n", 20000, "queues to declare")
	prefix := fs.String("prefix", "scale", "queue name prefix")
	every := fs.Int("every", 10, "publish one message to every n-th queue (0: none)")
	workers := fs.Int("workers", 8, "channels declaring in parallel")
	_ = fs.Parse(args)
	if *url == "" {
		return fmt.Errorf("declare: -amqp is required")
	}
	conn, err := amqp.Dial(*url)
	if err != nil {
		return fmt.Errorf("AMQP: %w", err)
	}
	defer conn.Close()

	start := time.Now()
	var next, done atomic.Int64
	errs := make(chan error, *workers)
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			ch, err := conn.Channel()
			if err != nil {
				errs <- err
				return
			}
			defer ch.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				name := queueName(*prefix, i)
				if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
					errs <- fmt.Errorf("declare %s: %w", name, err)
					return
				}
				if *every > 0 && i%*every == 0 {
					if err := ch.PublishWithContext(context.Background(), "", name, false, false, amqp.Publishing{Body: []byte("scale")}); err != nil {
						errs <- err
						return
					}
				}
				if d := done.Add(1); d%5000 == 0 {
					fmt.Fprintf(os.Stderr, "scalegen: %d queues in %v\n", d, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "scalegen: declared %d queues in %v\n", done.Load(), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func pollCmd(args []string) error {
	fs := flag.NewFlagSet("poll", flag.ExitOnError)
	url := fs.String("url", "", "management URL")
	user := fs.String("user", "", "user (monitoring tag)")
	passEnv := fs.String("password-env", "", "environment variable holding the password")
	vhost := fs.String("vhost", "", "only this vhost's queues")
	mode := fs.String("mode", "auto", "auto, management or prometheus")
	prom := fs.String("prometheus", "", "prometheus URL")
	runs := fs.Int("runs", 3, "polls")
	_ = fs.Parse(args)
	cfg := rabbitmq.Config{URL: *url, User: *user, Password: os.Getenv(*passEnv), VHost: *vhost, Mode: rabbitmq.Mode(*mode), Timeout: 30 * time.Second}
	if *prom != "" {
		cfg.PrometheusURLs = []string{*prom}
	}
	s, err := rabbitmq.New(cfg)
	if err != nil {
		return err
	}
	for range *runs {
		start := time.Now()
		b, err := s.Poll(context.Background())
		if err != nil {
			return err
		}
		fmt.Printf("%.3f %d %d %s\n", time.Since(start).Seconds(), len(b.Queues), b.Health.Requests, b.Health.Detail)
	}
	return nil
}
