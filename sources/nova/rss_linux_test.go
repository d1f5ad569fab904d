//go:build linux

package nova

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stacktop/stacktop/sources/httppolicy"
)

// maxHostileRSS is the peak RSS the process polling Nova (here the test
// binary, its fake cloud included) stays under whatever Nova sends; README
// "Limits" states it.
const maxHostileRSS = 256 << 20

// TestPeakRSSUnderHostileResponses runs hostile cases of
// TestResponseSizeLimited, at the real limit, each in a process of its own,
// and checks the peak RSS the kernel measured for it (ru_maxrss):
//
//	go test ./sources/nova -run TestPeakRSS -v
func TestPeakRSSUnderHostileResponses(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector multiplies memory use; run without -race to measure")
	}
	if os.Getenv(fullLimitEnv) != "" {
		t.Skip("in a measured child")
	}
	for _, c := range []struct{ name, run string }{
		{"baseline: one normal poll", "^TestPollNegotiatesAndLists$"},
		{"1 MB gzip inflating to 1 GiB", "^TestResponseSizeLimited$/^os-services_gzip_bomb$"},
		{"300 MB host name", "^TestResponseSizeLimited$/^300_MB_host_name$"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run="+c.run, "-test.v")
		cmd.Env = append(os.Environ(), fullLimitEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
		t.Logf("%s: peak RSS %s", c.name, httppolicy.FormatBytes(rss>>20<<20))
		if rss > maxHostileRSS {
			t.Errorf("%s: peak RSS %d MiB, over the %d MiB bound", c.name, rss>>20, maxHostileRSS>>20)
		}
	}
}
