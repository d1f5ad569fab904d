package nova

import (
	"testing"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources/internal/rsstest"
)

// maxHostileRSS is the peak RSS the process polling Nova (here the test
// binary, its fake cloud included) stays under whatever Nova sends;
// README "Limits" states it.
const maxHostileRSS = 256 << 20

// TestPeakRSSUnderHostileResponses runs hostile cases of
// TestResponseSizeLimited at the real limit, each in a process of its own,
// and checks the peak RSS the kernel measured for it:
//
//	go test ./sources/nova -run TestPeakRSS -v
func TestPeakRSSUnderHostileResponses(t *testing.T) {
	if rsstest.Race {
		t.Skip("the race detector multiplies memory use; run without -race to measure")
	}
	for _, c := range []struct{ name, run string }{
		{"baseline: one normal poll", "^TestPollNegotiatesAndLists$"},
		{"1 MB gzip inflating to 1 GiB", "^TestResponseSizeLimited$/^os-services_gzip_bomb$"},
		{"300 MB host name", "^TestResponseSizeLimited$/^300_MB_host_name$"},
	} {
		rss := rsstest.Child(t, c.run, fullLimitEnv+"=1")
		t.Logf("%s: peak RSS %s", c.name, format.Bytes(rss))
		if rss > maxHostileRSS {
			t.Errorf("%s: peak RSS %d MiB, over the %d MiB bound", c.name, rss>>20, maxHostileRSS>>20)
		}
	}
}
