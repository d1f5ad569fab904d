package ui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// verdictDetail lists the correlation verdict's evidence, each piece with
// its source; with no verdict it says so and shows what the rules looked at.
type verdictDetail struct {
	scroller
	cache linesCache
}

func newVerdictDetail(e *env) *verdictDetail { return &verdictDetail{scroller: scroller{e: e}} }

func (d *verdictDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *verdictDetail) View() string { return d.show(d.lines()) }

// lines is the document, built once per snapshot, clock reading, width and
// styles: a View or a key in between reuses it.
func (d *verdictDetail) lines() []string {
	return d.cache.get(d.e, d.width, d.build)
}

func (d *verdictDetail) build() []string {
	e := d.e
	st := &e.st
	o := &doc{width: d.width}
	v := e.snap.Verdict
	if v.Summary == "" {
		o.add(o.paint(st.Detail.Title, "no verdict: no rule fired") +
			o.paint(st.Detail.Label, "  the correlation rules found nothing to name; what they looked at:"))
	} else {
		head := o.paint(st.Detail.Title, "verdict")
		var about []string
		if v.Cause != state.CauseNone {
			about = append(about, v.Cause.String())
		}
		if !v.Since.IsZero() {
			about = append(about, "reached "+format.Clock(v.Since)+" ("+format.AgeSince(e.now, v.Since)+" ago)")
		}
		if !v.Started.IsZero() {
			about = append(about, "trouble began "+format.Clock(v.Started))
		}
		if len(about) > 0 {
			head += o.paint(st.Detail.Label, "  "+strings.Join(about, " · "))
		}
		o.add(head)
		for i, l := range wrapLines(o.cleanAll(v.Summary), max(8, d.width-2)) {
			prefix := "⚠ "
			if i > 0 {
				prefix = "  "
			}
			o.add(o.paint(st.Header.Verdict, prefix+l))
		}
		if v.Thin {
			o.add(o.paint(st.Table.Warn, "  thin evidence: one signal, or data missing; treat as a lead, not a diagnosis"))
		}
		o.add("")
		findings := v.Findings
		if len(findings) == 0 {
			// Older producers give only "source: text" strings.
			for _, ev := range v.Evidence {
				src, text, _ := evidenceSource(ev)
				findings = append(findings, state.Finding{Source: src, Text: text})
			}
		}
		o.add(o.paint(st.Detail.Section, "evidence ("+strconv.Itoa(len(findings))+")") +
			o.paint(st.Detail.Label, "  source · last seen · what"))
		evidenceLines(o, e, findings, d.width)
		if len(findings) == 0 {
			o.add("  none given")
		}
	}
	o.add("")
	o.add(o.paint(st.Detail.Section, "inputs") + o.paint(st.Detail.Label, "  now, from the snapshot of "+format.Clock(e.snap.At)))
	for _, l := range verdictInputs(e) {
		o.add("  " + l)
	}
	return o.lines
}

// evidenceLines lists findings: the source in a column, the time it was
// last seen (blank for a count over the current state), the host it is
// about, and the text wrapped under itself.
func evidenceLines(o *doc, e *env, fs []state.Finding, width int) {
	st := &e.st
	srcW := 0
	for i := range fs {
		srcW = max(srcW, textWidth(sanitize.Line(fs[i].Source, 16)))
	}
	indent := strings.Repeat(" ", 4+srcW+2+8+2)
	for i := range fs {
		f := &fs[i]
		at := "        "
		if !f.At.IsZero() {
			at = format.Clock(f.At)
		}
		text := o.cleanAll(f.Text)
		if f.Host != "" {
			text = sanitize.Line(f.Host, 40) + ": " + text
		}
		for j, l := range wrapLines(text, max(8, width-len(indent))) {
			if j == 0 {
				o.add("  • " + o.paint(st.Header.Label, padRight(sanitize.Line(f.Source, 16), srcW)) + "  " + o.paint(st.Detail.Label, at) + "  " + l)
			} else {
				o.add(indent + l)
			}
		}
	}
}

// evidenceSource splits "source: text" when the part before the colon is a
// short word naming where the evidence came from.
func evidenceSource(ev string) (src, text string, ok bool) {
	src, text, ok = strings.Cut(ev, ": ")
	if !ok || src == "" || len(src) > 16 || strings.ContainsAny(src, " \t") {
		return "", ev, false
	}
	return src, text, true
}

// verdictInputs lists what the rules looked at, exactly as they saw it
// (state.Verdict.Inputs): the UI recomputes nothing.
func verdictInputs(e *env) []string {
	in := e.snap.Verdict.Inputs
	if in == nil {
		return []string{"none recorded with this snapshot"}
	}
	num := strconv.Itoa
	line := func(label, text string) string { return padRight(label, 11) + text }
	// A source left out of the configuration is unknown to the rules: its
	// line says so in place of figures that would read as zeros.
	sourceLine := func(name, label, text string) string {
		if u, ok := e.unconfigured(name); ok {
			text = "not configured (" + u.How + "): unknown to the rules"
		}
		return line(label, text)
	}
	out := []string{
		line("window", "evidence since "+format.Clock(in.Since)+", rules ran at "+format.Clock(in.At)),
		line("services", num(in.Services)+" on "+num(in.NovaHosts)+" hosts · affected "+num(in.Affected)+" on "+num(in.AffectedHosts)+" hosts"+
			" (down "+num(in.Down)+", late "+num(in.Late)+", flapping "+num(in.Flapping)+", up again "+num(in.RecentDown)+")"+
			" · many: "+yesNo(in.ManyAffected)),
		sourceLine(sources.NameRPCPing, "rpc pings", "failing "+num(in.RPCFailed)+" of "+num(in.RPCPinged)+" pinged, on "+num(in.RPCFailHost)+
			" hosts · nova-conductor timing out "+num(in.CondTimedOut)+"/"+num(in.CondPinged)+
			" · nova-compute answering "+num(in.CompAnswered)+"/"+num(in.CompPinged)+" · broker proven: "+yesNo(in.BrokerProven)),
		sourceLine(sources.NameHeartbeat, "heartbeats", "source healthy: "+yesNo(in.HeartbeatOK)+" · "+num(in.HostsKnown)+
			" hosts with an agent · lost "+num(in.HostsLost)),
	}
	if len(in.Signals) == 0 {
		out = append(out, line("signals", "no broker signal"))
	}
	for k, sg := range in.Signals {
		label := ""
		if k == 0 {
			label = "signals"
		}
		when := ""
		if sg.Now {
			when = " (now)" // a recovered signal's text says "was:"
		}
		out = append(out, line(label, sg.Kind.String()+when+": "+sanitize.Line(sg.Text, 200)))
	}
	if in.DownByHost == nil {
		out = append(out, line("hosts", "no host with a service down"))
	}
	for k, h := range in.DownByHost {
		label := ""
		if k == 0 {
			label = "hosts"
		}
		t := sanitize.Line(h.Host, 40) + ": " + sanitize.Line(h.Down, 80) + " down · heartbeats " + h.Beat.String() + " · " + sanitize.Line(h.PingText, 80)
		if h.Missing != "" {
			t += " · not running: " + sanitize.Line(h.Missing, 80)
		}
		if h.PeersDown != "" {
			t += " · down on every host running it: " + sanitize.Line(h.PeersDown, 80)
		}
		out = append(out, line(label, t))
	}
	var src []string
	for _, si := range in.Sources {
		w := "ok"
		switch {
		case si.Failing && si.Kind == sources.FailBlocked:
			w = "BLOCKED by the broker" // the source works; the broker refuses what it sends
		case si.Failing:
			w = "FAILING (" + string(si.Kind) + ")"
		case si.Stale:
			w = "STALE"
		}
		src = append(src, sanitize.Line(si.Name, 16)+" "+w)
	}
	if len(src) == 0 {
		src = append(src, "none reported yet")
	}
	out = append(out, line("sources", strings.Join(src, " · ")))
	// What each source says of its own data (its health detail): the path
	// it reads, what it received, the invalid data it dropped and counted.
	label := "health"
	for _, h := range e.snap.Sources {
		if h.Detail != "" {
			out = append(out, line(label, sanitize.Line(h.Name, 16)+": "+sanitize.Line(h.Detail, 300)))
			label = ""
		}
	}
	if in.Auth {
		out = append(out, line("auth", "Nova failing for authentication: "+sanitize.Line(in.AuthErr, 200)))
	}
	if in.KeystoneSlow {
		out = append(out, line("auth", "Keystone not answering in time (slow or down): "+sanitize.Line(in.AuthErr, 200)))
	}
	if len(in.Blind) > 0 {
		out = append(out, line("blind", "failing to connect: "+sanitize.Line(strings.Join(in.Blind, ", "), 200)))
	}
	if in.Quiet {
		out = append(out, line("quiet", "no symptom now: the verdict clears after the hold"))
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
