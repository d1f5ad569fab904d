// Package scenarios is the scenario matrix of issue 9: real faults on the
// dev cloud (scripts/dev-openstack, scripts/dev-rabbitmq) watched by
// stacktop's real binary, and what its verdict made of each. The cloud
// runner lives in the package's integration test (it holds the harness
// lock, which only a test can); this file holds what is judged and how: a
// run's verdict changes, read from `stacktop timeline --format json`, are
// measured against the scenario's true cause and bounds, and the runs are
// printed as one table.
package scenarios

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ClearBound is how long after recovery a verdict may hold (issue 9).
const ClearBound = 30 * time.Second

// Verdict is one change of the verdict as `stacktop timeline --format json` lists it.
type Verdict struct {
	At       time.Time `json:"at"`
	Cause    string    `json:"cause"` // state.Cause.String(); "none" when it cleared
	Thin     bool      `json:"thin"`
	Summary  string    `json:"summary"`
	Evidence []string  `json:"evidence"`
}

// Event is one entry of the timeline's JSON, as far as the matrix reads it.
type Event struct {
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Level string    `json:"level"`
	What  string    `json:"what"`
}

// Timeline is the JSON document of `stacktop timeline --format json`.
type Timeline struct {
	Version  int       `json:"stacktop_timeline"`
	Events   []Event   `json:"events"`
	Verdicts []Verdict `json:"verdicts"`
}

// Truth is what a scenario's verdict must say: its cause, and words its
// summary must hold (the host or service at fault) and must not.
type Truth struct {
	Cause   string   // "none": no verdict at all
	Names   []string // words the summary must hold, e.g. "compute-2"
	Refuses []string // words it must not, e.g. the other compute
}

// Correct reports whether v names the true cause (of the right target).
func (tr Truth) Correct(v Verdict) bool {
	if v.Cause != tr.Cause {
		return false
	}
	for _, n := range tr.Names {
		if !strings.Contains(v.Summary, n) {
			return false
		}
	}
	for _, n := range tr.Refuses {
		if strings.Contains(v.Summary, n) {
			return false
		}
	}
	return true
}

func (tr Truth) String() string {
	if len(tr.Names) == 0 {
		return tr.Cause
	}
	return tr.Cause + " (" + strings.Join(tr.Names, ", ") + ")"
}

// Times are the moments of one run, by the runner's clock (the recorder's
// batches carry the same machine's clock).
type Times struct {
	Start   time.Time // the cloud healthy, no verdict: the run is watched from here
	Fault   time.Time // the fault's command began; zero for a healthy run
	Restore time.Time // the fault's undoing began
	End     time.Time // the run is watched up to here
}

// Wrong is a verdict that named another cause (or another target) than the truth.
type Wrong struct {
	At      time.Duration // after Start
	For     time.Duration // how long it was shown
	Cause   string
	Summary string
}

// unclear is the cause of a verdict that names none: services down, no data
// to tell why (state.CauseServiceDown).
const unclear = "service-down"

// Result is one run measured against its truth and bounds.
type Result struct {
	Scenario string
	Run      int
	Truth    Truth
	Detect   time.Duration // bound of Correct-Fault; 0 for a healthy run
	// Correct is the time from the fault to the first correct verdict; -1 if none.
	Correct time.Duration
	Wrong   []Wrong
	// Unclear are verdicts that named no cause ("service down, cause
	// unclear") after Nova itself reported a service down: true to the
	// data, so not wrong, but listed (on a loaded machine a service misses
	// its reports with nothing injected).
	Unclear []Wrong
	// Recovered is the time from the restore's start to the last symptom
	// gone (the last recovery the timeline lists after it); Clear is from
	// there to the verdict cleared, -1 if it never cleared in the run.
	Recovered, Clear time.Duration
	Verdicts         int // changes of the verdict within the run
	Err              string
}

// WrongTotal is how long wrong verdicts were shown in all.
func (r Result) WrongTotal() time.Duration {
	var d time.Duration
	for _, w := range r.Wrong {
		d += w.For
	}
	return d
}

// Failures says which bounds the run broke; none when it passed.
func (r Result) Failures() []string {
	var out []string
	if r.Err != "" {
		out = append(out, r.Err)
	}
	if n := len(r.Wrong); n > 0 {
		out = append(out, fmt.Sprintf("%d wrong verdict%s for %s", n, plural(n), secs(r.WrongTotal())))
	}
	if r.Truth.Cause == "none" {
		if n := r.Verdicts - len(r.Unclear); n > 0 && len(r.Wrong) == 0 {
			out = append(out, fmt.Sprintf("%d verdict changes on a healthy cloud", n))
		}
		return out
	}
	switch {
	case r.Correct < 0:
		out = append(out, "never named the true cause")
	case r.Correct > r.Detect:
		out = append(out, fmt.Sprintf("named after %s > %s", secs(r.Correct), secs(r.Detect)))
	}
	switch {
	case r.Clear < 0:
		out = append(out, "never cleared")
	case r.Clear > ClearBound:
		out = append(out, fmt.Sprintf("cleared %s after recovery > %s", secs(r.Clear), secs(ClearBound)))
	}
	return out
}

// Measure judges the verdict changes of one run. vs are every change of
// the recording, oldest first (the one holding at Start counts from
// Start); events are its timeline entries, for the recovery.
func Measure(name string, run int, tr Truth, detect time.Duration, tm Times, vs []Verdict, events []Event) Result {
	r := Result{Scenario: name, Run: run, Truth: tr, Detect: detect, Correct: -1, Clear: -1}
	// The changes within the run, the one holding at Start first.
	var in []Verdict
	for i, v := range vs {
		if v.At.After(tm.End) {
			break
		}
		if v.At.Before(tm.Start) {
			if i+1 == len(vs) || !vs[i+1].At.Before(tm.Start) {
				v.At = tm.Start
				in = append(in, v)
			}
			continue
		}
		in = append(in, v)
	}
	var lastNone time.Time
	for i, v := range in {
		until := tm.End
		if i+1 < len(in) {
			until = in[i+1].At
		}
		if v.Cause == "none" {
			lastNone = v.At
			continue
		}
		r.Verdicts++
		lastNone = time.Time{}
		correct := tr.Correct(v) && !tm.Fault.IsZero() && !v.At.Before(tm.Fault)
		if correct && r.Correct < 0 {
			r.Correct = v.At.Sub(tm.Fault)
		}
		if !tr.Correct(v) || v.At.Before(tm.Fault) {
			w := Wrong{At: v.At.Sub(tm.Start), For: until.Sub(v.At), Cause: v.Cause, Summary: v.Summary}
			if v.Cause == unclear && serviceDownBy(events, tm.Start, v.At) {
				r.Unclear = append(r.Unclear, w)
			} else {
				r.Wrong = append(r.Wrong, w)
			}
		}
	}
	if tm.Fault.IsZero() {
		return r
	}
	recovered := tm.Restore
	for _, e := range events {
		if e.Level == "recovery" && e.Kind != "verdict" && e.At.After(recovered) && !e.At.After(tm.End) &&
			(lastNone.IsZero() || !e.At.After(lastNone)) {
			recovered = e.At
		}
	}
	r.Recovered = recovered.Sub(tm.Restore)
	switch {
	case r.Verdicts == 0:
		r.Clear = 0
	case !lastNone.IsZero():
		r.Clear = max(0, lastNone.Sub(recovered))
	}
	return r
}

// serviceDownBy reports whether the timeline lists a Nova service going
// down (a service problem) between from and by.
func serviceDownBy(events []Event, from, by time.Time) bool {
	for _, e := range events {
		if e.Kind == "service" && e.Level == "problem" && !e.At.Before(from) && !e.At.After(by) {
			return true
		}
	}
	return false
}

// WriteTable prints the results as one Markdown table, a row per run.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| scenario\t| run\t| true cause\t| first correct verdict (bound)\t| wrong-cause verdicts\t| no cause named, Nova reported a service down\t| cleared after recovery (recovery after restore)\t| result\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
	for _, r := range rs {
		correct, clear := "—", "—"
		if r.Truth.Cause != "none" {
			correct = fmt.Sprintf("%s (≤ %s)", secs(r.Correct), secs(r.Detect))
			if r.Correct < 0 {
				correct = "never"
			}
			clear = fmt.Sprintf("%s (restored +%s)", secs(r.Clear), secs(r.Recovered))
			if r.Clear < 0 {
				clear = "never"
			}
		}
		wrong, unclearCell := shown(r.Wrong), shown(r.Unclear)
		result := "pass"
		if f := r.Failures(); len(f) > 0 {
			result = "FAIL: " + strings.Join(f, "; ")
		}
		fmt.Fprintf(tw, "| %s\t| %d\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", r.Scenario, r.Run, r.Truth, correct, wrong, unclearCell, clear, cell(result))
	}
	return tw.Flush()
}

// shown lists verdicts for a table cell: cause, how long, when, summary.
func shown(ws []Wrong) string {
	if len(ws) == 0 {
		return "none"
	}
	var parts []string
	for _, x := range ws {
		parts = append(parts, fmt.Sprintf("%s for %s at +%s: \"%s\"", x.Cause, secs(x.For), secs(x.At), cell(x.Summary)))
	}
	return strings.Join(parts, "; ")
}

// cell keeps a table cell on one line and its pipes from splitting it.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\t", " ").Replace(s)
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func secs(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
