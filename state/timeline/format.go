package timeline

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// Options shape the formatted timeline.
type Options struct {
	// Since and Until, when set, are said in the heading as the period shown
	// (filter the entries with Filter).
	Since, Until time.Time
	// MaxHosts bounds the hosts named in one entry; the rest are counted. 0 for 10.
	MaxHosts int
	// MaxEvidence bounds an entry's evidence, in characters. 0 for 300.
	MaxEvidence int
}

func (o Options) withDefaults() Options {
	if o.MaxHosts == 0 {
		o.MaxHosts = 10
	}
	if o.MaxEvidence == 0 {
		o.MaxEvidence = 300
	}
	return o
}

// Markdown writes the entries as the Timeline section of an incident
// report: a heading, a line saying where they come from, and one bullet per
// entry, "- [15:04:05] what changed — evidence (source)". Times are in the
// display zone (format.Zone), which the heading names, with the date when
// the input spans more than one day. Text from the
// cloud is stripped of control characters and its Markdown is escaped.
func Markdown(w io.Writer, entries []state.Event, m Meta, o Options) error {
	o = o.withDefaults()
	bw := bufio.NewWriter(w)
	stamp := stamper(m, entries)
	fmt.Fprintf(bw, "## Timeline\n\n%s\n\n", md(intro(m, o)))
	if len(entries) == 0 {
		fmt.Fprintln(bw, "- no changes seen in this period")
	}
	for _, e := range entries {
		fmt.Fprintf(bw, "- [%s] %s", stamp(e.At), md(sanitize.Line(e.What(o.MaxHosts), o.MaxEvidence)))
		if ev := sanitize.Line(e.Evidence, o.MaxEvidence); ev != "" {
			fmt.Fprintf(bw, " — %s", md(ev))
		}
		if e.Source != "" {
			fmt.Fprintf(bw, " (%s)", md(sanitize.Line(e.Source, 40)))
		}
		fmt.Fprintln(bw)
	}
	if len(m.Notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range m.Notes {
			fmt.Fprintf(bw, "> Note: %s\n", md(sanitize.Line(n, o.MaxEvidence)))
		}
	}
	return bw.Flush()
}

// Text writes the entries as plain lines, "15:04:05  what changed — evidence [source]".
func Text(w io.Writer, entries []state.Event, m Meta, o Options) error {
	o = o.withDefaults()
	bw := bufio.NewWriter(w)
	stamp := stamper(m, entries)
	fmt.Fprintf(bw, "%s\n", intro(m, o))
	if len(entries) == 0 {
		fmt.Fprintln(bw, "no changes seen in this period")
	}
	for _, e := range entries {
		fmt.Fprintf(bw, "%s  %s", stamp(e.At), sanitize.Line(e.What(o.MaxHosts), o.MaxEvidence))
		if ev := sanitize.Line(e.Evidence, o.MaxEvidence); ev != "" {
			fmt.Fprintf(bw, " — %s", ev)
		}
		if e.Source != "" {
			fmt.Fprintf(bw, " [%s]", sanitize.Line(e.Source, 40))
		}
		fmt.Fprintln(bw)
	}
	for _, n := range m.Notes {
		fmt.Fprintf(bw, "note: %s\n", sanitize.Line(n, o.MaxEvidence))
	}
	return bw.Flush()
}

// intro says what the timeline was built from.
func intro(m Meta, o Options) string {
	var b strings.Builder
	zoneAt := m.First
	if zoneAt.IsZero() {
		zoneAt = time.Now()
	}
	b.WriteString("All times " + format.ZoneLabel(zoneAt) + ".")
	if !m.First.IsZero() {
		last := format.Stamp(m.Last)
		if sameDay(m.First, m.Last) {
			last = format.Clock(m.Last)
		}
		fmt.Fprintf(&b, " Observed %s–%s (%s)", format.Stamp(m.First), last, m.Last.Sub(m.First).Round(time.Second))
		fmt.Fprintf(&b, ", %d batch%s", m.Batches, map[bool]string{true: "", false: "es"}[m.Batches == 1])
		if len(m.Sources) > 0 {
			names := make([]string, len(m.Sources))
			for i, n := range m.Sources { // from the recording: as untrusted as any API's text
				names[i] = sanitize.Line(n, 40)
			}
			fmt.Fprintf(&b, " from %s", strings.Join(names, ", "))
		}
		if m.Recorder != "" {
			fmt.Fprintf(&b, ", recorded by %s", sanitize.Line(m.Recorder, 80))
		}
		b.WriteString(".")
	}
	if !o.Since.IsZero() || !o.Until.IsZero() {
		since, until := "the start", "the end"
		if !o.Since.IsZero() {
			since = format.Stamp(o.Since)
		}
		if !o.Until.IsZero() {
			until = format.Stamp(o.Until)
		}
		fmt.Fprintf(&b, " Showing %s to %s.", since, until)
	}
	return b.String()
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := format.In(a).Date()
	by, bm, bd := format.In(b).Date()
	return ay == by && am == bm && ad == bd
}

// stamper formats entry times: HH:MM:SS, or with the date when the input or
// the entries span more than one day.
func stamper(m Meta, entries []state.Event) func(time.Time) string {
	days := !m.First.IsZero() && !sameDay(m.First, m.Last)
	if n := len(entries); n > 0 && !sameDay(entries[0].At, entries[n-1].At) {
		days = true
	}
	if days {
		return format.Stamp
	}
	return format.Clock
}

// mdEscaper backslash-escapes what Markdown would otherwise read as markup.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`, `|`, `\|`, `#`, `\#`,
)

func md(s string) string { return mdEscaper.Replace(s) }
