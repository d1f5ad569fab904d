package harness

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// SettleTimeout bounds how long a Disrupt test's release waits for the dev
// cloud's RPC servers to subscribe again.
const SettleTimeout = 2 * time.Minute

// RPCServerQueues lists the per-server RPC queues the dev cloud's Nova
// services consume from (oslo.messaging's "topic.host"): the conductor and
// scheduler on this machine's host name, each compute on its own.
func RPCServerQueues(env Env) ([]string, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	qs := []string{"conductor." + host, "scheduler." + host}
	for _, c := range strings.Split(env.Get("STACKTOP_TEST_NOVA_COMPUTES"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			qs = append(qs, "compute."+c)
		}
	}
	return qs, nil
}

// Unsubscribed returns those of queues, in the vhost of the dev cloud's
// transport URL (oslo.messaging's rabbit://, one host), that are missing or
// have no consumer: passive declares, so nothing is created or changed.
func Unsubscribed(transport string, queues []string) ([]string, error) {
	if rest, ok := strings.CutPrefix(transport, "rabbit://"); ok {
		transport = "amqp://" + rest
	}
	conn, err := amqp.DialConfig(transport, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return nil, fmt.Errorf("harness: dial the dev cloud's broker: %w", err)
	}
	defer conn.Close()
	var missing []string
	for _, q := range queues {
		ch, err := conn.Channel()
		if err != nil {
			return nil, fmt.Errorf("harness: open a channel: %w", err)
		}
		info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		var ae *amqp.Error
		switch {
		case errors.As(err, &ae) && ae.Code == amqp.NotFound:
			missing = append(missing, q+" (no queue)")
			continue // the broker closed the channel
		case err != nil:
			return nil, fmt.Errorf("harness: declare %s passively: %w", q, err)
		case info.Consumers == 0:
			missing = append(missing, q+" (no consumer)")
		}
		_ = ch.Close()
	}
	return missing, nil
}

// settle waits, when the OpenStack harness is up, until every Nova RPC
// server consumes its queue again. A test that restarts the broker leaves
// the services reconnecting on oslo.messaging's backoff; the next test to
// take the lock must find the cloud as a healthy one is, not mid-recovery.
func settle(t testing.TB) {
	t.Helper()
	env, err := Load("openstack")
	if err != nil || env.Get("STACKTOP_TEST_TRANSPORT_URL") == "" {
		return // no dev cloud: nothing to settle
	}
	queues, err := RPCServerQueues(env)
	if err != nil {
		t.Error(err)
		return
	}
	start := time.Now()
	var missing []string
	for {
		missing, err = Unsubscribed(env.Get("STACKTOP_TEST_TRANSPORT_URL"), queues)
		if err == nil && len(missing) == 0 {
			if waited := time.Since(start); waited > time.Second {
				t.Logf("harness: the dev cloud's RPC servers resubscribed %s after this test", waited.Round(100*time.Millisecond))
			}
			return
		}
		if time.Since(start) > SettleTimeout {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("harness: after this test the dev cloud did not settle within %s: %v", SettleTimeout, err)
		return
	}
	t.Errorf("harness: after this test the dev cloud's RPC servers did not resubscribe within %s: %s", SettleTimeout, strings.Join(missing, ", "))
}
