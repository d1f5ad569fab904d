package rabbitmq

import (
	"os"
	"testing"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources/internal/rsstest"
)

// maxHostileRSS is the peak RSS the process polling the broker (here the
// test binary, its fake broker included) stays under whatever the broker
// sends, and with 200,000 queues; README "Limits" states it.
const maxHostileRSS = 512 << 20

// TestPeakRSSUnderHostileResponses runs cases of TestHostileResponses,
// each in a process of its own, and checks the peak RSS the kernel
// measured for it:
//
//	go test ./sources/rabbitmq -run TestPeakRSS -v
//	STACKTOP_RABBITMQ_SCALE=1 go test ./sources/rabbitmq -run TestPeakRSS -v   # and 200,000 queues
func TestPeakRSSUnderHostileResponses(t *testing.T) {
	if rsstest.Race {
		t.Skip("the race detector multiplies memory use; run without -race to measure")
	}
	cases := []struct{ name, run string }{
		{"300 MB queue name", "^TestHostileResponses$/^300_MB_queue_name$"},
		{"300 MB cluster name", "^TestHostileResponses$/^300_MB_cluster_name$"},
		{"1 GiB gzip bomb", "^TestHostileResponses$/^gzip_bomb_is_never_inflated$"},
	}
	if os.Getenv(scaleEnv) != "" { // half a minute of CPU: on demand only
		cases = append(cases, struct{ name, run string }{"200,000 queues from /metrics/detailed (110 MB)", "^TestHostileResponses$/^200,000_queues_from_prometheus$"},
			struct{ name, run string }{"/metrics/detailed at every limit (250 MB)", "^TestHostileResponses$/^detailed_metrics_at_every_limit$"},
			struct{ name, run string }{"/api/queues at every limit (255 MB)", "^TestHostileResponses$/^queue_list_at_every_limit$"})
	}
	for _, c := range cases {
		rss := rsstest.Child(t, c.run, scaleEnv+"=1")
		t.Logf("%s: peak RSS %s", c.name, format.Bytes(rss))
		if rss > maxHostileRSS {
			t.Errorf("%s: peak RSS %d MiB, over the %d MiB bound", c.name, rss>>20, maxHostileRSS>>20)
		}
	}
}
