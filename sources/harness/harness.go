// Package harness connects integration tests to the project's dev harnesses
// (scripts/dev-rabbitmq, scripts/dev-openstack): it reads the environment a
// harness wrote, skips a test whose harness is absent (or fails it when
// STACKTOP_REQUIRE_INTEGRATION=1), and serialises tests that disrupt a
// harness against every other test that uses it, across packages: go test
// runs packages in parallel, and a broker stopped by one package's test must
// not fail another's.
package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stacktop/stacktop/redact"
)

// RequireEnv is the variable that turns a skipped integration test into a failure.
const RequireEnv = "STACKTOP_REQUIRE_INTEGRATION"

// Env is the KEY=value environment a harness wrote to .run/NAME/env.
type Env map[string]string

// Get returns the value of key, or "" when it is absent.
func (e Env) Get(key string) string { return e[key] }

// Required reports whether integration tests must run rather than skip.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Root finds the repository root by walking up to go.mod from the working directory.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: no go.mod above the working directory")
		}
		dir = parent
	}
}

// RunBase is where harnesses keep their state: $STACKTOP_RUN_BASE or <root>/.run.
func RunBase() (string, error) {
	if b := os.Getenv("STACKTOP_RUN_BASE"); b != "" {
		return b, nil
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".run"), nil
}

// Load reads the env file of harness name (.run/NAME/env).
func Load(name string) (Env, error) {
	base, err := RunBase()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(base, name, "env")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("harness %s: %w (start it with scripts/dev-%s up, or run scripts/test)", name, err, name)
	}
	defer f.Close()
	return parse(f, path)
}

func parse(f *os.File, path string) (Env, error) {
	env := Env{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("harness: %s:%d: not KEY=value", path, n)
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("harness: read %s: %w", path, err)
	}
	return env, nil
}

// Require returns harness name's environment after checking that the
// service behind the URL in probeKey accepts connections. When the harness
// is absent the test is skipped with the reason, or failed when
// STACKTOP_REQUIRE_INTEGRATION=1.
func Require(t testing.TB, name, probeKey string) Env {
	t.Helper()
	env, err := Load(name)
	if err == nil {
		// Probe under a shared lock, so that a test elsewhere that has the
		// harness stopped right now is waited for rather than taken for an
		// absent harness (which fails the run under STACKTOP_REQUIRE_INTEGRATION).
		release := probeLock(t)
		err = probe(env[probeKey], probeKey)
		release()
	}
	if err != nil {
		Absent(t, fmt.Sprintf("harness %s absent: %v", name, err))
	}
	return env
}

// Absent skips the test with why, or fails it when integration tests are required.
func Absent(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (%s=1: integration tests must run)", why, RequireEnv)
	}
	t.Skip(why)
}

func probe(raw, key string) error {
	if raw == "" {
		return fmt.Errorf("its env file has no %s", key)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s is not a URL", key)
	}
	host := u.Host
	if u.Port() == "" {
		port := map[string]string{"http": "80", "https": "443", "amqp": "5672", "amqps": "5671"}[u.Scheme]
		host = net.JoinHostPort(u.Hostname(), port)
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		return fmt.Errorf("%s (%s) does not answer: %v", key, redact.URL(raw), err)
	}
	return c.Close()
}

// Share holds a shared lock on the integration environment for the rest of
// the test: it waits while a Disrupt test runs anywhere on the machine.
func Share(t testing.TB) { lock(t, syscall.LOCK_SH) }

// Disrupt holds the integration environment exclusively for the rest of the
// test, for tests that stop, block or reconfigure a harness; call it instead
// of Share, never after it. Before releasing, it waits until the dev cloud's
// RPC servers are subscribed again (see settle).
func Disrupt(t testing.TB) { lock(t, syscall.LOCK_EX) }

// held counts the locks this test process holds: flock locks taken through
// separate opens conflict even within one process, so a probe made while
// this process already holds one must not lock again.
var held struct {
	sync.Mutex
	n int
}

func lock(t testing.TB, how int) {
	t.Helper()
	unlock, err := acquire(how)
	if err != nil {
		t.Fatal(err)
	}
	if unlock.waited > time.Second {
		t.Logf("harness: waited %s for other integration tests", unlock.waited.Round(time.Millisecond))
	}
	if how != syscall.LOCK_EX {
		t.Cleanup(unlock.release)
		return
	}
	// Registered first, this cleanup runs last: after the test has put
	// what it stopped back, and before anyone else may use the harness.
	t.Cleanup(func() {
		defer unlock.release()
		settle(t)
	})
}

// probeLock takes a shared lock for the length of a probe, unless this
// process already holds one; it returns the function that releases it.
func probeLock(t testing.TB) func() {
	t.Helper()
	held.Lock()
	n := held.n
	held.Unlock()
	if n > 0 {
		return func() {}
	}
	unlock, err := acquire(syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	return unlock.release
}

type unlocker struct {
	waited  time.Duration
	release func()
}

func acquire(how int) (unlocker, error) {
	base, err := RunBase()
	if err != nil {
		return unlocker{}, err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return unlocker{}, fmt.Errorf("harness: %w", err)
	}
	path := filepath.Join(base, "integration.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return unlocker{}, fmt.Errorf("harness: %w", err)
	}
	start := time.Now()
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return unlocker{}, fmt.Errorf("harness: lock %s: %w", path, err)
	}
	held.Lock()
	held.n++
	held.Unlock()
	var once sync.Once
	return unlocker{waited: time.Since(start), release: func() {
		once.Do(func() {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
			held.Lock()
			held.n--
			held.Unlock()
		})
	}}, nil
}
