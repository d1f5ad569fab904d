package harness

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestLoadParsesEnvFile(t *testing.T) {
	base := t.TempDir()
	t.Setenv("STACKTOP_RUN_BASE", base)
	if err := os.MkdirAll(filepath.Join(base, "rabbitmq"), 0o755); err != nil {
		t.Fatal(err)
	}
	content := "# comment\nSTACKTOP_TEST_RABBITMQ_URL=http://127.0.0.1:1\n\nA=b=c\n"
	if err := os.WriteFile(filepath.Join(base, "rabbitmq", "env"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := Load("rabbitmq")
	if err != nil {
		t.Fatal(err)
	}
	if env.Get("STACKTOP_TEST_RABBITMQ_URL") != "http://127.0.0.1:1" || env.Get("A") != "b=c" || len(env) != 2 {
		t.Errorf("Load = %v", env)
	}
	if _, err := Load("openstack"); err == nil || !strings.Contains(err.Error(), "scripts/dev-openstack up") {
		t.Errorf("missing harness error = %v, want a hint to start it", err)
	}
}

func TestProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	tests := []struct {
		url     string
		wantErr string
	}{
		{"http://" + l.Addr().String(), ""},
		{"amqp://u:secret@" + l.Addr().String() + "/", ""},
		{"http://" + closedAddr, "does not answer"},
		{"", "has no"},
		{"::nope", "not a URL"},
	}
	for _, tt := range tests {
		err := probe(tt.url, "KEY")
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("probe(%q) = %v, want %q", tt.url, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("probe error leaks a password: %v", err)
		}
	}
}

func TestDisruptExcludesShare(t *testing.T) {
	base := t.TempDir()
	t.Setenv("STACKTOP_RUN_BASE", base)
	t.Run("holder", func(t *testing.T) {
		Disrupt(t)
		f, err := os.OpenFile(filepath.Join(base, "integration.lock"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
			t.Error("a shared lock was granted while Disrupt held the environment")
		}
	})
	// After the subtest's cleanup the lock is free again.
	f, err := os.OpenFile(filepath.Join(base, "integration.lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("lock still held after the test ended: %v", err)
	}
}

func TestRequireWaitsForADisruptionToEnd(t *testing.T) {
	base := t.TempDir()
	t.Setenv("STACKTOP_RUN_BASE", base)
	t.Setenv(RequireEnv, "1") // a probe that does not wait fails the test instead of skipping it
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // the service is "stopped" by a disrupting test elsewhere
	if err := os.MkdirAll(filepath.Join(base, "svc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "svc", "env"), []byte("URL=http://"+addr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another process holds the environment exclusively while the service is down.
	f, err := os.OpenFile(filepath.Join(base, "integration.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	restarted := make(chan net.Listener, 1)
	go func() {
		// The disrupting test works a while, restores the service, then
		// releases the lock (always, or Require would wait forever).
		time.Sleep(300 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			l = nil
		}
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		restarted <- l
	}()
	env := Require(t, "svc", "URL") // must wait, not skip
	if l := <-restarted; l != nil {
		l.Close()
	} else {
		t.Skip("could not listen on the same port again")
	}
	if env.Get("URL") == "" {
		t.Error("Require returned no environment")
	}
}

func TestIntegrationRPCServersSubscribed(t *testing.T) {
	Share(t)
	env := Require(t, "openstack", "STACKTOP_TEST_TRANSPORT_URL")
	queues, err := RPCServerQueues(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(queues) < 4 {
		t.Fatalf("queues %v: want the conductor, the scheduler and two computes", queues)
	}
	transport := env.Get("STACKTOP_TEST_TRANSPORT_URL")
	conn, err := amqp.Dial(strings.Replace(transport, "rabbit://", "amqp://", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	idle := "stacktop-harness-test-" + strconv.Itoa(os.Getpid())
	if _, err := ch.QueueDeclare(idle, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = ch.QueueDelete(idle, false, false, false) }()

	missing, err := Unsubscribed(transport, append(slices.Clone(queues), idle, "compute.no-such-host"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{idle + " (no consumer)", "compute.no-such-host (no queue)"}
	if !slices.Equal(missing, want) {
		t.Errorf("Unsubscribed = %q, want %q: every dev cloud RPC server subscribed, the idle and absent queues reported", missing, want)
	}
}
