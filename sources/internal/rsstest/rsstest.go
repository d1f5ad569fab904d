// Package rsstest measures the peak memory of a test run in a process of
// its own, for the tests that hold stacktop's memory bound under hostile input.
package rsstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Child runs the tests matching run (a -test.run pattern) of the current
// test binary in a new process with env added, fails t unless they pass,
// and returns that process's peak RSS in bytes.
func Child(t testing.TB, run string, env ...string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("%s: %v\n%s", run, err, out)
	}
	rss, ok := maxRSS(cmd.ProcessState)
	if !ok {
		t.Skip("peak RSS is measured on Linux only")
	}
	return rss
}
