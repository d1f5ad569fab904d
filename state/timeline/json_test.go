package timeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stacktop/stacktop/state"
)

func TestVerdictWords(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"host down: compute-1 (last heartbeat 10.2s ago)", "host down: compute-1 (last heartbeat 12.9s ago)", true},
		{"host down: compute-1", "host down: compute-2", false},
		{"broker problem suspected: 2 services on 2 hosts down since 04:33:17", "broker problem suspected: 3 services on 3 hosts down since 04:33:19", true},
		{"conductor problem: RPC pings of 1/1 nova-conductor failing", "conductor problem: RPC pings of 2/2 nova-conductor failing", true},
		{"broker problem: rabbit@mq-1 memory alarm", "broker problem: rabbit@mq-2 memory alarm", false},
		{"possible broker problem (thin evidence): canary failing", "broker problem suspected: canary failing", false},
	} {
		if got := verdictWords(tc.a) == verdictWords(tc.b); got != tc.same {
			t.Errorf("%q vs %q: same %v, want %v (%q, %q)", tc.a, tc.b, got, tc.same, verdictWords(tc.a), verdictWords(tc.b))
		}
	}
}

// TestVerdictChangesOfScenario: the builder keeps the verdict's changes of
// the scenario, none a repeat of the one before, each at a batch's time.
func TestVerdictChangesOfScenario(t *testing.T) {
	bs := scenario()
	vs := build(bs).Verdicts()
	if len(vs) == 0 || vs[0].Cause == state.CauseNone {
		t.Fatalf("verdict changes %+v: want a verdict first", vs)
	}
	times := map[time.Time]bool{}
	for _, b := range bs {
		times[b.At] = true
	}
	for i, v := range vs {
		if !times[v.At] {
			t.Errorf("change %d at %s: no batch then", i, v.At)
		}
		if v.Cause == state.CauseNone && v.Summary != "" {
			t.Errorf("change %d: a clearing with a summary %q", i, v.Summary)
		}
		if i > 0 {
			p := vs[i-1]
			if p.Cause == v.Cause && p.Thin == v.Thin && verdictWords(p.Summary) == verdictWords(v.Summary) {
				t.Errorf("change %d repeats change %d: %q", i, i-1, v.Summary)
			}
		}
	}
}

func TestFilterVerdicts(t *testing.T) {
	vs := []VerdictChange{
		{At: at(10), Cause: state.CauseBroker, Thin: true, Summary: "possible broker problem"},
		{At: at(20), Cause: state.CauseBroker, Summary: "broker problem suspected"},
		{At: at(60), Cause: state.CauseNone},
		{At: at(70), Cause: state.CauseProcess, Summary: "service process problem"},
	}
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         []int
	}{
		{"all", time.Time{}, time.Time{}, []int{0, 1, 2, 3}},
		{"the one holding at since comes first", at(30), time.Time{}, []int{1, 2, 3}},
		{"nothing held at since", at(65), time.Time{}, []int{3}},
		{"until", time.Time{}, at(60), []int{0, 1, 2}},
		{"inside one verdict", at(25), at(50), []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FilterVerdicts(vs, tc.since, tc.until)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d changes %+v, want %v", len(got), got, tc.want)
			}
			for i, w := range tc.want {
				if got[i].At != vs[w].At {
					t.Errorf("change %d at %s, want %s", i, got[i].At, vs[w].At)
				}
			}
		})
	}
}

// TestJSONIsTypedAndSafe: the document parses, says each verdict's cause
// as its word, each event's level and hosts as fields, and carries no
// control character from the cloud.
func TestJSONIsTypedAndSafe(t *testing.T) {
	m := Meta{First: at(0), Last: at(90), Batches: 3, Sources: []string{"nova", "rabbitmq"}, Recorder: "stacktop dev\x1b[2J"}
	entries := []state.Event{
		{At: at(5), Until: at(9), Kind: state.EventService, Level: state.LevelProblem, Subject: "nova-compute", Change: "down",
			Hosts: []string{"c1", "c2\x1b]0;pwned\a"}, Evidence: "Nova: state down\x1b[31m", Source: "nova"},
		{At: at(60), Kind: state.EventVerdict, Level: state.LevelRecovery, Subject: "verdict", Change: "cleared", Source: "stacktop"},
	}
	verdicts := []VerdictChange{
		{At: at(10), Cause: state.CauseBroker, Thin: true, Summary: "possible broker problem\x07", Evidence: []string{"heartbeat: canary timeout\r\nforged line"}},
		{At: at(60), Cause: state.CauseNone},
	}
	var out bytes.Buffer
	if err := JSON(&out, entries, verdicts, m, Options{Since: at(0)}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.ContainsAny(s, "\x1b\a\r") || strings.Contains(s, `\u001b`) || strings.Contains(s, `\u0007`) || strings.Contains(s, `\r`) {
		t.Errorf("a control character got through:\n%s", s)
	}
	var doc struct {
		Version int        `json:"stacktop_timeline"`
		First   time.Time  `json:"first"`
		Since   *time.Time `json:"since"`
		Until   *time.Time `json:"until"`
		Batches int        `json:"batches"`
		Events  []struct {
			At, Until time.Time
			Kind      string
			Level     string
			Hosts     []string
			What      string
		} `json:"events"`
		Verdicts []struct {
			At       time.Time
			Cause    string
			Thin     bool
			Summary  string
			Evidence []string
		} `json:"verdicts"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if doc.Version != JSONVersion || !doc.First.Equal(at(0)) || doc.Since == nil || doc.Until != nil || doc.Batches != 3 {
		t.Errorf("heading %+v", doc)
	}
	if len(doc.Events) != 2 || doc.Events[0].Kind != "service" || doc.Events[0].Level != "problem" || doc.Events[1].Level != "recovery" ||
		len(doc.Events[0].Hosts) != 2 || !doc.Events[0].Until.Equal(at(9)) || doc.Events[0].What == "" {
		t.Errorf("events %+v", doc.Events)
	}
	if len(doc.Verdicts) != 2 || doc.Verdicts[0].Cause != "broker" || !doc.Verdicts[0].Thin || doc.Verdicts[1].Cause != "none" ||
		!doc.Verdicts[0].At.Equal(at(10)) || len(doc.Verdicts[0].Evidence) != 1 {
		t.Errorf("verdicts %+v", doc.Verdicts)
	}
}
