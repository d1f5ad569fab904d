package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The files written describe endpoints that answer, and the simulator stops
// with its context.
func TestRunWritesEndpoints(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, 3, 0, dir) }()
	ready := filepath.Join(dir, "ready")
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if i == 1000 {
			t.Fatal("no ready file after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(env)), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			t.Fatalf("env line %q is not export KEY=value", line)
		}
		vars[k] = v
	}
	for _, k := range []string{"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "STACKTOP_RABBITMQ_URL", "STACKTOP_RABBITMQ_USER", "STACKTOP_RABBITMQ_PASSWORD"} {
		if vars[k] == "" {
			t.Errorf("env has no %s", k)
		}
	}
	req, _ := http.NewRequest("GET", vars["STACKTOP_RABBITMQ_URL"]+"/api/overview", nil)
	req.SetBasicAuth(vars["STACKTOP_RABBITMQ_USER"], vars["STACKTOP_RABBITMQ_PASSWORD"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("management API overview: %d", resp.StatusCode)
	}
	prom, err := os.ReadFile(filepath.Join(dir, "prometheus.yaml"))
	if err != nil || !strings.Contains(string(prom), "mode: prometheus") || !strings.Contains(string(prom), "prometheus_urls: [http://127.0.0.1:") {
		t.Errorf("prometheus.yaml: %q, %v", prom, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}
