package scenarios

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func v(sec float64, cause, summary string) Verdict {
	return Verdict{At: at(sec), Cause: cause, Summary: summary}
}

func TestMeasure(t *testing.T) {
	host := Truth{Cause: "host-down", Names: []string{"compute-2"}, Refuses: []string{"compute-1"}}
	fault := Times{Start: at(0), Fault: at(5), Restore: at(40), End: at(100)}
	recovery := []Event{
		{At: at(3), Kind: "service", Level: "recovery"}, // before the restore: not the recovery
		{At: at(50), Kind: "heartbeat", Level: "recovery"},
		{At: at(55), Kind: "service", Level: "recovery"},
		{At: at(85), Kind: "verdict", Level: "recovery"}, // the clearing itself
		{At: at(95), Kind: "rpc", Level: "recovery"},     // after the clear: not a symptom it waited for
	}
	for _, tc := range []struct {
		name      string
		truth     Truth
		times     Times
		vs        []Verdict
		correct   time.Duration
		wrong     []string // cause and seconds shown
		unclear   []string // the same, of verdicts naming no cause after Nova reported a service down
		recovered time.Duration
		clear     time.Duration
		fails     int
	}{
		{"named in time, cleared in time", host, fault,
			[]Verdict{v(14, "host-down", "host down: compute-2"), v(85, "none", "")},
			9 * time.Second, nil, nil, 15 * time.Second, 30 * time.Second, 0},
		{"a process verdict first is wrong, for as long as it held", host, fault,
			[]Verdict{v(11, "process", "service process problem: nova-compute on compute-2"), v(14.5, "host-down", "host down: compute-2"), v(85, "none", "")},
			9500 * time.Millisecond, []string{"process 3.5s"}, nil, 15 * time.Second, 30 * time.Second, 1},
		{"the other host is wrong", host, fault,
			[]Verdict{v(14, "host-down", "host down: compute-1"), v(20, "host-down", "host down: compute-2"), v(85, "none", "")},
			15 * time.Second, []string{"host-down 6.0s"}, nil, 15 * time.Second, 30 * time.Second, 1},
		{"late and never cleared", host, fault,
			[]Verdict{v(30, "host-down", "host down: compute-2")},
			25 * time.Second, nil, nil, 55 * time.Second, -1, 2},
		{"a verdict held from before the run counts from its start", host, fault,
			[]Verdict{v(-20, "broker", "broker problem"), v(2, "none", ""), v(14, "host-down", "host down: compute-2"), v(60, "none", "")},
			9 * time.Second, []string{"broker 2.0s"}, nil, 15 * time.Second, 5 * time.Second, 1},
		{"the right cause before the fault is a wrong verdict", host, fault,
			[]Verdict{v(1, "host-down", "host down: compute-2"), v(3, "none", ""), v(14, "host-down", "host down: compute-2"), v(85, "none", "")},
			9 * time.Second, []string{"host-down 2.0s"}, nil, 15 * time.Second, 30 * time.Second, 1},
		{"healthy: no verdict", Truth{Cause: "none"}, Times{Start: at(0), End: at(600)},
			[]Verdict{v(-50, "none", "")}, -1, nil, nil, 0, -1, 0},
		{"healthy: service down before Nova reported any is wrong", Truth{Cause: "none"}, Times{Start: at(0), End: at(600)},
			[]Verdict{v(5, "service-down", "service down, cause unclear"), v(36, "none", "")}, -1, []string{"service-down 31.0s"}, nil, 0, -1, 1},
		{"healthy: no cause named after Nova reported a service down is not wrong, but listed", Truth{Cause: "none"}, Times{Start: at(0), End: at(600)},
			[]Verdict{v(250, "service-down", "service down, cause unclear"), v(262, "service-down", "recovered, clearing: was service down"), v(280, "none", "")},
			-1, nil, []string{"service-down 12.0s", "service-down 18.0s"}, 0, -1, 0},
		{"healthy: a named cause after Nova reported a service down is wrong", Truth{Cause: "none"}, Times{Start: at(0), End: at(600)},
			[]Verdict{v(250, "process", "service process problem: nova-conductor on vm"), v(280, "none", "")},
			-1, []string{"process 30.0s"}, nil, 0, -1, 1},
		{"fault: no cause named is not wrong, the true cause still bounded", host, fault,
			[]Verdict{v(12, "service-down", "service down, cause unclear: nova-compute on compute-2"), v(25, "host-down", "host down: compute-2"), v(85, "none", "")},
			20 * time.Second, nil, []string{"service-down 13.0s"}, 15 * time.Second, 30 * time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := append(slices.Clone(recovery), Event{At: at(245), Kind: "service", Level: "problem"}, Event{At: at(11), Kind: "service", Level: "problem"})
			r := Measure("s", 1, tc.truth, 16*time.Second, tc.times, tc.vs, events)
			if r.Correct != tc.correct || r.Recovered != tc.recovered || r.Clear != tc.clear {
				t.Errorf("correct %s, recovered %s, clear %s; want %s, %s, %s", r.Correct, r.Recovered, r.Clear, tc.correct, tc.recovered, tc.clear)
			}
			var wrong []string
			for _, w := range r.Wrong {
				wrong = append(wrong, w.Cause+" "+secs(w.For))
			}
			if strings.Join(wrong, ",") != strings.Join(tc.wrong, ",") {
				t.Errorf("wrong %q, want %q", wrong, tc.wrong)
			}
			var unclear []string
			for _, w := range r.Unclear {
				unclear = append(unclear, w.Cause+" "+secs(w.For))
			}
			if strings.Join(unclear, ",") != strings.Join(tc.unclear, ",") {
				t.Errorf("unclear %q, want %q", unclear, tc.unclear)
			}
			if f := r.Failures(); len(f) != tc.fails {
				t.Errorf("failures %q, want %d", f, tc.fails)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	rs := []Result{
		{Scenario: "broker-stop @2s", Run: 1, Truth: Truth{Cause: "broker"}, Detect: 15 * time.Second, Correct: 4 * time.Second, Recovered: 12 * time.Second, Clear: 30 * time.Second},
		{Scenario: "compute-kill @2s", Run: 2, Truth: Truth{Cause: "process", Names: []string{"compute-2"}}, Detect: 16 * time.Second, Correct: 9 * time.Second,
			Wrong: []Wrong{{At: 10 * time.Second, For: 3 * time.Second, Cause: "host-down", Summary: "host down: compute-2 | forged\ncell"}}, Clear: -1},
		{Scenario: "healthy @2s", Run: 1, Truth: Truth{Cause: "none"}, Correct: -1, Clear: -1},
	}
	var b strings.Builder
	if err := WriteTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want heading, rule and 3 rows:\n%s", len(lines), b.String())
	}
	for i, want := range []string{
		"| broker-stop @2s ", "4.0s (≤ 15.0s)", "30.0s (restored +12.0s)", "| pass ",
	} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row 1 lacks %q (%d): %s", want, i, lines[2])
		}
	}
	for _, want := range []string{`host-down for 3.0s at +10.0s: "host down: compute-2 \| forged cell"`, "| never ", "FAIL: 1 wrong verdict for 3.0s; never cleared"} {
		if !strings.Contains(lines[3], want) {
			t.Errorf("row 2 lacks %q: %s", want, lines[3])
		}
	}
	if !strings.Contains(lines[4], "| none ") || !strings.Contains(lines[4], "| pass ") {
		t.Errorf("healthy row: %s", lines[4])
	}
	for i, l := range lines {
		if strings.Count(l, "|")-strings.Count(l, `\|`) != 9 {
			t.Errorf("line %d has %d cell separators, want 9: %s", i, strings.Count(l, "|"), l)
		}
	}
}
