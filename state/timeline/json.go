package timeline

import (
	"encoding/json"
	"io"
	"regexp"
	"time"

	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// JSONVersion is the version of the document JSON writes.
const JSONVersion = 1

// VerdictChange is the verdict as it changed during a fold: a new cause, a
// thin verdict becoming full (or back), or other words; a verdict that only
// counts on or ages is not a change. Cause is CauseNone when it cleared.
type VerdictChange struct {
	At       time.Time
	Cause    state.Cause
	Thin     bool
	Summary  string
	Evidence []string
}

// verdictWords is a verdict summary without its free-standing numbers
// (counts, ages, clock times), so that "last 2.1s ago" becoming "last 4.1s
// ago" is not a change while "host down: compute-1" becoming "host down:
// compute-2" is (a number inside a name is kept).
func verdictWords(summary string) string {
	return looseNumber.ReplaceAllString(summary, "${1}#")
}

var looseNumber = regexp.MustCompile(`(^|[^\pL\pN_.@-])[0-9]+(?:\.[0-9]+)?`)

// jsonDoc is the document JSON writes; its field names are the format.
type jsonDoc struct {
	Version  int           `json:"stacktop_timeline"`
	First    *time.Time    `json:"first,omitempty"`
	Last     *time.Time    `json:"last,omitempty"`
	Since    *time.Time    `json:"since,omitempty"`
	Until    *time.Time    `json:"until,omitempty"`
	Batches  int           `json:"batches"`
	Sources  []string      `json:"sources"`
	Recorder string        `json:"recorder,omitempty"`
	Events   []jsonEvent   `json:"events"`
	Verdicts []jsonVerdict `json:"verdicts"`
	Notes    []string      `json:"notes,omitempty"`
}

type jsonEvent struct {
	At       time.Time  `json:"at"`
	Until    *time.Time `json:"until,omitempty"`
	Kind     string     `json:"kind"`
	Level    string     `json:"level"`
	Subject  string     `json:"subject,omitempty"`
	Change   string     `json:"change"`
	Hosts    []string   `json:"hosts,omitempty"`
	What     string     `json:"what"`
	Evidence string     `json:"evidence,omitempty"`
	Source   string     `json:"source,omitempty"`
}

type jsonVerdict struct {
	At       time.Time `json:"at"`
	Cause    string    `json:"cause"`
	Thin     bool      `json:"thin,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	Evidence []string  `json:"evidence,omitempty"`
}

var levelNames = map[state.EventLevel]string{
	state.LevelInfo: "info", state.LevelProblem: "problem", state.LevelRecovery: "recovery",
}

// JSON writes the entries and the verdict changes as one JSON document for
// programs (the scenario matrix, an incident tool): times in RFC 3339 UTC,
// each event's kind, level and hosts as fields, each verdict's cause as a
// word (state.Cause.String) and whether it was thin. Text from the cloud is
// stripped of control characters and bounded as in Markdown.
func JSON(w io.Writer, entries []state.Event, verdicts []VerdictChange, m Meta, o Options) error {
	o = o.withDefaults()
	doc := jsonDoc{Version: JSONVersion, Batches: m.Batches, Sources: []string{}, Recorder: sanitize.Line(m.Recorder, 80),
		Events: []jsonEvent{}, Verdicts: []jsonVerdict{}}
	for _, n := range m.Sources { // from the recording: as untrusted as any API's text
		doc.Sources = append(doc.Sources, sanitize.Line(n, 40))
	}
	for _, t := range []struct {
		from time.Time
		to   **time.Time
	}{{m.First, &doc.First}, {m.Last, &doc.Last}, {o.Since, &doc.Since}, {o.Until, &doc.Until}} {
		if !t.from.IsZero() {
			u := t.from.UTC()
			*t.to = &u
		}
	}
	for _, e := range entries {
		je := jsonEvent{At: e.At.UTC(), Kind: string(e.Kind), Level: levelNames[e.Level],
			Subject: sanitize.Line(e.Subject, o.MaxEvidence), Change: sanitize.Line(e.Change, o.MaxEvidence),
			What: sanitize.Line(e.What(o.MaxHosts), o.MaxEvidence), Evidence: sanitize.Line(e.Evidence, o.MaxEvidence),
			Source: sanitize.Line(e.Source, 40)}
		if !e.Until.IsZero() {
			u := e.Until.UTC()
			je.Until = &u
		}
		for _, h := range e.Hosts {
			je.Hosts = append(je.Hosts, sanitize.Line(h, 80))
		}
		doc.Events = append(doc.Events, je)
	}
	for _, v := range verdicts {
		jv := jsonVerdict{At: v.At.UTC(), Cause: v.Cause.String(), Thin: v.Thin, Summary: sanitize.Line(v.Summary, o.MaxEvidence)}
		for _, ev := range v.Evidence {
			jv.Evidence = append(jv.Evidence, sanitize.Line(ev, o.MaxEvidence))
		}
		doc.Verdicts = append(doc.Verdicts, jv)
	}
	for _, n := range m.Notes {
		doc.Notes = append(doc.Notes, sanitize.Line(n, o.MaxEvidence))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
