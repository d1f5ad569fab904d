// Command benchtable prints issue 12's targets as a markdown table: each
// target, the figure measured, met or not, and the benchmark behind it.
//
//	go run ./cmd/benchtable [-count N] [-only REGEX] [-in FILE]... [-raw FILE]
//
// It runs the repository's benchmarks that the targets name (go test -run
// '^$' -bench … -benchmem, one package at a time), reads their output
// (ns/op, B/op, allocs/op and every b.ReportMetric unit), takes the median
// of the -count runs of each benchmark and, where a target covers several
// benchmarks (every View, every key), the worst of them. -in adds output
// read from files instead (go test -bench output, or scripts/termbench's
// lines, which are in the same format); with -in and -no-run nothing is run.
// scripts/bench --table is the short way to call it.
//
// The mapping from targets to benchmarks is the targets table below: keep
// it in step with the benchmarks' names.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// A target is one line of issue 12's targets and the benchmarks measuring it.
type target struct {
	What   string // the target, as issue 12 states it
	Pkg    string // the Go package of its benchmarks; "" if only from -in (scripts)
	Top    string // the top-level benchmark function(s), a regexp alternative, e.g. "BenchmarkView"
	Sub    string // a regexp the full benchmark name (no -GOMAXPROCS suffix) must match; "" = all of Top
	Unit   string // the unit compared: ns/op, cpu-ms/op, heartbeats/s, …
	Limit  float64
	AtMost bool      // true: met when the worst figure ≤ Limit; false: met when ≥ Limit
	Than   string    // if set, Limit is this benchmark's (same package, same Unit) median instead
	Ratio  [2]string // if set, each benchmark's figure is divided by that of the name with Ratio[0] replaced by Ratio[1]
	How    string    // how to measure it when no benchmark output covers it
}

// Sub-benchmark names of the ui benchmarks at the scale model (5,000
// services, 20,000 queues: "5k", or the counts) and at ten times it.
const (
	scaleModel = `/(5k|5000|20000)(/|$)`
	tenfold    = `/(50k|50000|200000)(/|$)`
)

// The targets of issue 12 ("Targets" and the figures under "Meets"), in the
// issue's order. Limits are in Unit.
var targets = []target{
	// Resident memory. The benchmark measures the Go heap, not the process's
	// RSS: BENCHMARKS.md's replay of the scale model measures the RSS.
	{What: "scale model, one hour of history: heap ≤ 150 MB at its peak, the collector at GOGC=25 as stacktop sets it (RSS: see BENCHMARKS.md, replay)", Pkg: "./state/", Top: "BenchmarkStoreHour", Sub: "/all$",
		Unit: "peak-heap-MiB", Limit: 150e6 / (1 << 20), AtMost: true},
	{What: "scale model: store bytes per queue ≤ 2,700 (TestMemoryPerItem's bound)", Pkg: "./state/", Top: "BenchmarkStoreHour", Sub: "/queues$",
		Unit: "B/queue", Limit: 2700, AtMost: true},

	// 10× the model.
	{What: "10× model: every key ≤ 16 ms through Update+View", Pkg: "./ui/", Top: "BenchmarkKeypress", Sub: tenfold,
		Unit: "ns/op", Limit: 16e6, AtMost: true, How: "no case at 50,000 services / 200,000 queues yet"},
	{What: "10× model: a snapshot's cost on the UI goroutine ≤ 16 ms", Pkg: "./ui/", Top: "BenchmarkSnapshot|BenchmarkApplySnapshot", Sub: tenfold,
		Unit: "ns/op", Limit: 16e6, AtMost: true, How: "no case at 10× yet"},
	{What: "10× model: every View ≤ 4 ms", Pkg: "./ui/", Top: "BenchmarkView", Sub: tenfold,
		Unit: "ns/op", Limit: 4e6, AtMost: true, How: "no case at 10× yet"},
	{What: "10× model: every View's allocations independent of N (at most 1.1× the same View's at the scale model)", Pkg: "./ui/", Top: "BenchmarkView", Sub: tenfold,
		Unit: "allocs/op", Ratio: [2]string{"/50k", "/5k"}, Limit: 1.1, AtMost: true, How: "no case at 10× yet"},
	{What: "10× model: prometheus 200,000-queue decode+fold ≤ 1 s", Pkg: "./sources/rabbitmq/", Top: "BenchmarkDecodeFoldPrometheusQueues200000",
		Unit: "ns/op", Limit: 1e9, AtMost: true},

	// The prometheus path.
	{What: "prometheus path, 20,000 queues: decode+fold ≤ 50 ms", Pkg: "./sources/rabbitmq/", Top: "BenchmarkDecodeFoldPrometheus(Nova)?Queues(Churn)?20000",
		Unit: "ns/op", Limit: 50e6, AtMost: true},
	{What: "prometheus path no dearer than management: decode+fold CPU at 20,000 queues ≤ the management path's", Pkg: "./sources/rabbitmq/", Top: "BenchmarkDecodeFoldPrometheus(Nova)?Queues(Churn)?20000",
		Unit: "cpu-ms/op", Than: "BenchmarkDecodeFoldQueues20000", AtMost: true},
	{What: "first frame with broker data ≤ 200 ms, management path (real binary, demo at 5,000 computes)", Top: "BenchmarkTermFirstFrame", Sub: "/management/",
		Unit: "s-broker", Limit: 0.2, AtMost: true, How: "scripts/termbench (the real binary in tmux, not go test)"},
	{What: "first frame with broker data ≤ 200 ms, prometheus path (real binary, demo at 5,000 computes)", Top: "BenchmarkTermFirstFrame", Sub: "/prometheus/",
		Unit: "s-broker", Limit: 0.2, AtMost: true, How: "scripts/termbench (the real binary in tmux, not go test)"},
	{What: "first frame with broker data ≤ 200 ms, management path: stacktop's share (sources to View, in process, demo at 5,000 computes)", Pkg: "./cmd/stacktop/", Top: "BenchmarkFirstFrame", Sub: "/management$",
		Unit: "ms-broker", Limit: 200, AtMost: true},
	{What: "first frame with broker data ≤ 200 ms, prometheus path: stacktop's share (sources to View, in process, demo at 5,000 computes)", Pkg: "./cmd/stacktop/", Top: "BenchmarkFirstFrame", Sub: "/prometheus$",
		Unit: "ms-broker", Limit: 200, AtMost: true},
	{What: "first poll and fold of 20,000 queues (the broker's share of the first frame) ≤ 200 ms", Pkg: "./sources/rabbitmq/", Top: "BenchmarkFirstPollFold20000",
		Unit: "ns/op", Limit: 200e6, AtMost: true},

	// The figures issue 12 lists as met, kept so.
	{What: "scale model: every View ≤ 4 ms", Pkg: "./ui/", Top: "BenchmarkView", Sub: scaleModel,
		Unit: "ns/op", Limit: 4e6, AtMost: true},
	{What: "scale model: every key (Update+View) ≤ 16 ms", Pkg: "./ui/", Top: "BenchmarkKeypress", Sub: scaleModel,
		Unit: "ns/op", Limit: 16e6, AtMost: true},
	{What: "Nova 5,000 services decode+fold ≤ 30 ms", Pkg: "./sources/nova/", Top: "BenchmarkDecodeAndFold5000",
		Unit: "ns/op", Limit: 30e6, AtMost: true},
	{What: "management 20,000-queue decode+fold ≤ 100 ms", Pkg: "./sources/rabbitmq/", Top: "BenchmarkDecodeFoldQueues20000",
		Unit: "ns/op", Limit: 100e6, AtMost: true},
	{What: "heartbeats ≥ 50,000/s received and folded", Pkg: "./sources/heartbeat/", Top: "BenchmarkReceiveAndFold",
		Unit: "heartbeats/s", Limit: 50000, AtMost: false},
	{What: "first frame with Nova data (real binary, demo at 5,000 computes; no target, issue 12 measured 52 ms)", Top: "BenchmarkTermFirstFrame",
		Unit: "s-nova", AtMost: true, How: "scripts/termbench (the real binary in tmux, not go test)"},
	{What: "first frame with Nova data, stacktop's share (sources to View, in process, demo at 5,000 computes; no target)", Pkg: "./cmd/stacktop/", Top: "BenchmarkFirstFrame",
		Unit: "ms-nova", AtMost: true},
	{What: "bytes written to the terminal in steady state, 160x48 (no target: the cost over ssh)", Top: "BenchmarkTermBytes", Sub: "/160x48$",
		Unit: "B/s", How: "scripts/termbench (the real binary in tmux, not go test)"},
	{What: "bytes written to the terminal in steady state, 200x60 (no target)", Top: "BenchmarkTermBytes", Sub: "/200x60$",
		Unit: "B/s", How: "scripts/termbench (the real binary in tmux, not go test)"},
}

// A result is one benchmark's figures from one run, by unit.
type result map[string]float64

// results are every run of every benchmark, by name without the -N suffix.
type results map[string][]result

var suffix = regexp.MustCompile(`-\d+$`)

// parse reads go test -bench output and adds its benchmark lines to rs.
// Other lines are ignored.
func parse(r io.Reader, rs results) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := fmt.Sscan(f[1], new(int64)); err != nil {
			continue // "BenchmarkX  --- FAIL" and the like
		}
		res := result{}
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err != nil {
				res = nil
				break
			}
			res[f[i+1]] = v
		}
		if res != nil {
			name := suffix.ReplaceAllString(f[0], "")
			rs[name] = append(rs[name], res)
		}
	}
	return sc.Err()
}

// median is the median of the runs' figures in unit, and how many runs had it.
func median(runs []result, unit string) (float64, int) {
	var v []float64
	for _, r := range runs {
		if x, ok := r[unit]; ok {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], len(v)
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, len(v)
}

// A row is a target with what was measured for it.
type row struct {
	t      target
	found  bool
	value  float64 // the worst median among the benchmarks it covers
	bench  string  // that benchmark
	n      int     // its runs
	covers int     // how many benchmarks the target covers
}

// evaluate measures t from rs: the worst median among the matching benchmarks.
func evaluate(t target, rs results) row {
	top := regexp.MustCompile(`^(` + t.Top + `)(/|$)`)
	var sub *regexp.Regexp
	if t.Sub != "" {
		sub = regexp.MustCompile(t.Sub)
	}
	r := row{t: t}
	if t.Than != "" {
		v, n := median(rs[t.Than], t.Unit)
		if n == 0 {
			return r // nothing to compare with: not measured
		}
		r.t.Limit = v
	}
	names := make([]string, 0, len(rs))
	for name := range rs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !top.MatchString(name) || (sub != nil && !sub.MatchString(name)) {
			continue
		}
		v, n := median(rs[name], t.Unit)
		if n == 0 {
			continue
		}
		if t.Ratio[0] != "" {
			base, bn := median(rs[strings.Replace(name, t.Ratio[0], t.Ratio[1], 1)], t.Unit)
			if bn == 0 || base == 0 {
				continue
			}
			v /= base
		}
		r.covers++
		worse := v > r.value
		if !t.AtMost {
			worse = v < r.value
		}
		if !r.found || worse {
			r.found, r.value, r.bench, r.n = true, v, name, n
		}
	}
	return r
}

// figure writes v in unit the way a person reads it: times in ms or s.
func figure(v float64, unit string) string {
	switch unit {
	case "ns/op":
		if v >= 1e9 {
			return fmt.Sprintf("%.2f s", v/1e9)
		}
		if v >= 1e5 {
			return fmt.Sprintf("%.1f ms", v/1e6)
		}
		return fmt.Sprintf("%.0f µs", v/1e3)
	case "s-nova", "s-broker", "s-any":
		return fmt.Sprintf("%.0f ms", v*1000)
	case "ms-nova", "ms-broker":
		return fmt.Sprintf("%.0f ms", v)
	case "cpu-ms/op":
		return fmt.Sprintf("%.1f cpu-ms", v)
	case "heartbeats/s", "B/s":
		return fmt.Sprintf("%s %s", thousands(v), unit)
	case "peak-heap-MiB", "heap-MiB":
		return fmt.Sprintf("%.0f MiB (%.0f MB)", v, v*(1<<20)/1e6)
	}
	return fmt.Sprintf("%s %s", thousands(v), unit)
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[0] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// verdict says whether r meets its target.
func verdict(r row) string {
	switch {
	case !r.found:
		return "not measured"
	case r.t.Limit == 0 && r.t.Than == "":
		return "—"
	case r.t.AtMost == (r.value <= r.t.Limit):
		return "met"
	default:
		return "**not met**"
	}
}

// table writes the rows as a markdown table.
func table(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| target | measured (median; worst of the benchmarks it covers) | met | benchmark |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		got, bench := "—", "`"+r.t.Top+"`"
		if r.t.Pkg != "" {
			bench += " " + r.t.Pkg
		}
		if r.t.Than != "" {
			bench += ", against `" + r.t.Than + "`"
		}
		if r.t.How != "" {
			bench += ": " + r.t.How
		}
		if r.found {
			got = figure(r.value, r.t.Unit)
			if r.t.Ratio[0] != "" {
				got = fmt.Sprintf("%.2f× (%s)", r.value, r.t.Unit)
			}
			if r.n > 1 {
				got += fmt.Sprintf(" (%d runs)", r.n)
			}
			bench = "`" + r.bench + "`"
			if r.covers > 1 {
				bench += fmt.Sprintf(" (worst of %d)", r.covers)
			}
			if r.t.Pkg != "" {
				bench += " " + r.t.Pkg
			}
			if r.t.Than != "" {
				got += " against " + figure(r.t.Limit, r.t.Unit)
				bench += ", against `" + r.t.Than + "`"
			}
		}
		cell := strings.NewReplacer("|", `\|`)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell.Replace(r.t.What), got, verdict(r), cell.Replace(bench))
	}
}

// pkgEnv is the environment a package's benchmarks run with, unless the
// caller's environment sets the variable: the state store's memory is
// measured with the collector as cmd/stacktop sets it (memory.go:
// defaultGCPercent).
var pkgEnv = map[string][]string{"./state/": {"GOGC=25"}}

// run runs the benchmarks of the targets in pkg and parses their output.
func run(pkg string, tops []string, count int, raw io.Writer, rs results) error {
	args := []string{"test", "-run", "^$", "-bench", "^(" + strings.Join(tops, "|") + ")$", "-benchmem", fmt.Sprintf("-count=%d", count), "-timeout=60m", pkg}
	fmt.Fprintf(os.Stderr, "benchtable: go %s\n", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Env = os.Environ()
	for _, kv := range pkgEnv[pkg] {
		if k, _, _ := strings.Cut(kv, "="); os.Getenv(k) == "" {
			cmd.Env = append(cmd.Env, kv)
			fmt.Fprintf(os.Stderr, "benchtable: %s for %s\n", kv, pkg)
		}
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("go test %s: %w", pkg, err)
	}
	perr := parse(io.TeeReader(out, raw), rs)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go test %s: %w", pkg, err)
	}
	return perr
}

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	count := flag.Int("count", 1, "runs of each benchmark (the table shows the median)")
	only := flag.String("only", "", "run only the benchmark functions matching this regexp")
	noRun := flag.Bool("no-run", false, "run nothing: only read the -in files")
	rawPath := flag.String("raw", "", "also write go test's raw output to this file (benchstat reads it)")
	var in files
	flag.Var(&in, "in", "read benchmark output from this file too (repeatable)")
	flag.Parse()
	if err := mainErr(*count, *only, *noRun, *rawPath, in); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func mainErr(count int, only string, noRun bool, rawPath string, in []string) error {
	rs := results{}
	for _, p := range in {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = parse(f, rs)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	var onlyRE *regexp.Regexp
	if only != "" {
		var err error
		if onlyRE, err = regexp.Compile(only); err != nil {
			return fmt.Errorf("-only: %w", err)
		}
	}
	raw := io.Discard
	if rawPath != "" {
		f, err := os.Create(rawPath)
		if err != nil {
			return err
		}
		defer f.Close()
		raw = f
	}
	var failed []string
	if !noRun {
		var pkgs []string
		tops := map[string][]string{}
		for _, t := range targets {
			if t.Pkg == "" || (onlyRE != nil && !onlyRE.MatchString(t.Top)) || slices.Contains(tops[t.Pkg], t.Top) {
				continue
			}
			if tops[t.Pkg] == nil {
				pkgs = append(pkgs, t.Pkg)
			}
			tops[t.Pkg] = append(tops[t.Pkg], t.Top)
		}
		for _, pkg := range pkgs {
			// A failing package leaves its rows not measured; the others still count.
			if err := run(pkg, tops[pkg], count, raw, rs); err != nil {
				failed = append(failed, err.Error())
			}
		}
	}
	rows := make([]row, len(targets))
	for i, t := range targets {
		rows[i] = evaluate(t, rs)
	}
	table(os.Stdout, rows)
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
}
