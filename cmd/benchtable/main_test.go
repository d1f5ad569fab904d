package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkView/services/5k/160x48-2         	    1000	   1200000 ns/op	  5000 B/op	  40 allocs/op
BenchmarkView/services/5k/160x48-2         	    1000	   1400000 ns/op	  5000 B/op	  40 allocs/op
BenchmarkView/services/5k/160x48-2         	    1000	   1300000 ns/op	  5000 B/op	  40 allocs/op
BenchmarkView/queues/5k/200x60-2           	     500	   2500000 ns/op	  5000 B/op	  40 allocs/op
BenchmarkView/queues/50k/200x60-2          	     100	   9000000 ns/op	  5000 B/op	  40 allocs/op
BenchmarkView/detail/5k/200x60-2           	     500	   2000000 ns/op	  5000 B/op	  40 allocs/op
BenchmarkView/detail/50k/200x60-2          	     100	   8000000 ns/op	  5000 B/op	  100 allocs/op
BenchmarkReceiveAndFold-2   	       3	 400000000 ns/op	    120000 heartbeats/s	 100 B/op	 2 allocs/op
BenchmarkReceiveAndFold-2   	       3	 400000000 ns/op	     40000 heartbeats/s	 100 B/op	 2 allocs/op
BenchmarkDecodeFoldQueues20000-2   	10	 60000000 ns/op	 100.0 cpu-ms/op
BenchmarkDecodeFoldPrometheusQueues20000-2   	10	 70000000 ns/op	 80.0 cpu-ms/op
BenchmarkDecodeFoldPrometheusNovaQueues20000-2   	10	 70000000 ns/op	 120.0 cpu-ms/op
BenchmarkBroken-2   	--- FAIL: BenchmarkBroken
BenchmarkTermFirstFrame/management/160x48 	1	0.180 s-nova	0.750 s-broker
PASS
`

func TestEvaluate(t *testing.T) {
	rs := results{}
	if err := parse(strings.NewReader(sample), rs); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		t       target
		found   bool
		value   float64
		bench   string
		verdict string
	}{
		// the worst of the scale model's views, the 10× one left out; the median of three runs
		{target{Top: "BenchmarkView", Sub: scaleModel, Unit: "ns/op", Limit: 4e6, AtMost: true}, true, 2.5e6, "BenchmarkView/queues/5k/200x60", "met"},
		{target{Top: "BenchmarkView", Sub: `/services/`, Unit: "ns/op", Limit: 1.25e6, AtMost: true}, true, 1.3e6, "BenchmarkView/services/5k/160x48", "**not met**"},
		{target{Top: "BenchmarkView", Sub: tenfold, Unit: "ns/op", Limit: 4e6, AtMost: true}, true, 9e6, "BenchmarkView/queues/50k/200x60", "**not met**"},
		// at least: the median of two runs, 80,000
		{target{Top: "BenchmarkReceiveAndFold", Unit: "heartbeats/s", Limit: 50000}, true, 80000, "BenchmarkReceiveAndFold", "met"},
		{target{Top: "BenchmarkReceiveAndFold", Unit: "heartbeats/s", Limit: 90000}, true, 80000, "BenchmarkReceiveAndFold", "**not met**"},
		{target{Top: "BenchmarkTermFirstFrame", Sub: "/management/", Unit: "s-broker", Limit: 0.2, AtMost: true}, true, 0.75, "BenchmarkTermFirstFrame/management/160x48", "**not met**"},
		{target{Top: "BenchmarkTermFirstFrame", Sub: "/prometheus/", Unit: "s-broker", Limit: 0.2, AtMost: true}, false, 0, "", "not measured"},
		{target{Top: "BenchmarkSnapshot", Unit: "ns/op", Limit: 1, AtMost: true}, false, 0, "", "not measured"},
		{target{Top: "BenchmarkBroken", Unit: "ns/op", Limit: 1, AtMost: true}, false, 0, "", "not measured"},
		// against another benchmark's figure: the worse prometheus one is over the management path's 100
		{target{Top: "BenchmarkDecodeFoldPrometheus(Nova)?Queues20000", Unit: "cpu-ms/op", Than: "BenchmarkDecodeFoldQueues20000", AtMost: true}, true, 120, "BenchmarkDecodeFoldPrometheusNovaQueues20000", "**not met**"},
		{target{Top: "BenchmarkDecodeFoldPrometheusQueues20000", Unit: "cpu-ms/op", Than: "BenchmarkDecodeFoldQueues20000", AtMost: true}, true, 80, "BenchmarkDecodeFoldPrometheusQueues20000", "met"},
		{target{Top: "BenchmarkDecodeFoldPrometheusQueues20000", Unit: "cpu-ms/op", Than: "BenchmarkMissing", AtMost: true}, false, 0, "", "not measured"},
		// 10×'s allocations against the model's, per view: detail's grow 2.5×, queues' stay the same
		{target{Top: "BenchmarkView", Sub: tenfold, Unit: "allocs/op", Ratio: [2]string{"/50k", "/5k"}, Limit: 1.1, AtMost: true}, true, 2.5, "BenchmarkView/detail/50k/200x60", "**not met**"},
		{target{Top: "BenchmarkView", Sub: `/queues/`, Unit: "allocs/op", Ratio: [2]string{"/50k", "/5k"}, Limit: 1.1, AtMost: true}, true, 1, "BenchmarkView/queues/50k/200x60", "met"},
		// no limit: a figure, no verdict
		{target{Top: "BenchmarkReceiveAndFold", Unit: "B/op"}, true, 100, "BenchmarkReceiveAndFold", "—"},
	}
	for _, c := range cases {
		r := evaluate(c.t, rs)
		if r.found != c.found || r.value != c.value || r.bench != c.bench || verdict(r) != c.verdict {
			t.Errorf("%s %s %s: got found=%v %v %q %q, want %v %v %q %q", c.t.Top, c.t.Sub, c.t.Unit, r.found, r.value, r.bench, verdict(r), c.found, c.value, c.bench, c.verdict)
		}
	}
}

// Every target's regexps compile and name a unit.
func TestTargets(t *testing.T) {
	for _, tg := range targets {
		if tg.Unit == "" || tg.Top == "" || (tg.Pkg == "" && tg.How == "") {
			t.Errorf("%q: Unit, Top and (Pkg or How) are required", tg.What)
		}
		evaluate(tg, results{}) // panics on a bad regexp
	}
}

// A | in a cell would split the markdown table's row.
func TestTableEscapesBars(t *testing.T) {
	var b strings.Builder
	table(&b, []row{{t: target{What: "a|b", Top: "X|Y", Pkg: "./p/", Unit: "ns/op"}}})
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 5 {
			t.Errorf("%d cell separators in %q, want 5", n, line)
		}
	}
}

func TestFigure(t *testing.T) {
	cases := []struct {
		v    float64
		unit string
		want string
	}{
		{2.5e6, "ns/op", "2.5 ms"},
		{1.5e9, "ns/op", "1.50 s"},
		{4200, "ns/op", "4 µs"},
		{0.734, "s-broker", "734 ms"},
		{125000, "heartbeats/s", "125,000 heartbeats/s"},
		{150, "peak-heap-MiB", "150 MiB (157 MB)"},
	}
	for _, c := range cases {
		if got := figure(c.v, c.unit); got != c.want {
			t.Errorf("figure(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
