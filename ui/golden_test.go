package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
)

// updateGolden reports whether -update was given: the flag is registered by
// github.com/charmbracelet/x/exp/golden (linked in through teatest), so this
// package reads it rather than defining a second one.
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestGolden(t *testing.T) {
	noVerdict := func() *state.Snapshot { s := incident(); s.Verdict = state.Verdict{Inputs: s.Verdict.Inputs}; return s }
	views := []struct {
		name string
		keys []string
		snap func() *state.Snapshot // nil: the incident
	}{
		{"services", nil, nil},
		{"services-severity", []string{"s"}, nil},
		{"services-by-binary", []string{"b"}, nil},
		{"services-problems", []string{"f"}, nil},
		{"queues", []string{"2"}, nil},
		{"timeline", []string{"3"}, nil},
		{"timeline-problems", []string{"3", "f"}, nil},
		{"timeline-filter", []string{"3", "/", "r", "e", "s", "t", "a", "r", "t", "enter"}, nil},
		{"detail-service", []string{"j", "j", "j", "j", "j", "j", "enter"}, nil}, // compute-007
		{"detail-sibling", []string{"G", "k", "enter", "j"}, nil},                // ctl-3: conductor, cursor on the scheduler
		{"detail-queue", []string{"2", "enter"}, nil},                            // the reply queue
		{"detail-restart", []string{"3", "j", "j", "enter"}, nil},                // compute-015's nova-compute
		{"filter-typing", []string{"/", "0", "1"}, nil},
		{"help", []string{"?"}, nil},
		{"paused", []string{"p"}, nil},
		{"broker", []string{"4"}, nil},
		{"detail-node", []string{"4", "enter"}, nil},                    // rabbit@ctl-1: memory alarm
		{"detail-node-metrics-off", []string{"4", "G", "enter"}, nil},   // rabbit@ctl-3: gauges unknown
		{"detail-verdict", []string{"v"}, nil},                          // evidence with sources
		{"detail-no-verdict", []string{"v"}, noVerdict},                 // the inputs instead
		{"detail-canary", []string{"c"}, nil},                           // round trips and failures
		{"detail-service-queue", []string{"j", "j", "enter", "j"}, nil}, // compute-003, cursor on its queue
		{"detail-service-queue-open", []string{"j", "j", "enter", "j", "enter"}, nil},
		{"jump-typing", []string{"3", "t", "0", "3", ":", "1", "1"}, nil},
		{"timeline-jumped", []string{"3", "t", "0", "3", ":", "1", "0", "enter"}, nil},
		// Stale and unknown are never shown as healthy: the incident's
		// broker figures are stale (its polls fail); these are fresh, an
		// alarm only the canary sees, and counts the broker did not say.
		{"broker-fresh", []string{"4"}, freshBroker},
		{"broker-canary-alarm", []string{"4"}, canaryAlarm},
		{"queues-unknown-counts", []string{"2"}, unknownCounts},
		{"broker-unknown-counts", []string{"4"}, unknownCounts},
	}
	sizes := [][2]int{{80, 24}, {160, 48}}
	for _, v := range views {
		for _, sz := range sizes {
			name := fmt.Sprintf("%s_%dx%d", v.name, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				snap := incident()
				if v.snap != nil {
					snap = v.snap()
				}
				m := press(newTestModel(snap, sz[0], sz[1], false), v.keys...)
				got := ansi.Strip(m.Render())
				checkGolden(t, name, got)
				checkFrame(t, got, sz[0], sz[1])
			})
		}
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updateGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui/ -run TestGolden -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// checkFrame asserts the screen fits: exactly h lines, none wider than w.
func checkFrame(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := splitLines(s)
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d wide (> %d): %q", i, n, w, l)
		}
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
