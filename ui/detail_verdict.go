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
}

func newVerdictDetail(e *env) *verdictDetail { return &verdictDetail{scroller: scroller{e: e}} }

func (d *verdictDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *verdictDetail) View() string { return d.show(d.lines()) }

func (d *verdictDetail) lines() []string {
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

// verdictInputs summarises what the rules look at: services down and
// flapping, heartbeats late and lost, RPC pings failing, the canary, the
// broker's nodes and the sources.
func verdictInputs(e *env) []string {
	s := e.snap
	now := e.now
	down, flapping, forced, unknown := 0, 0, 0, 0
	flapHosts := map[string]bool{}
	pinged, pingFail := 0, 0
	for i := range s.Services {
		sv := &s.Services[i]
		switch sv.Cond {
		case state.CondDown:
			down++
		case state.CondForcedDown:
			forced++
		case state.CondUnknown:
			unknown++
		}
		if sv.Flapping {
			flapping++
			flapHosts[sv.Key.Host] = true
		}
		if sv.RPC != nil {
			pinged++
			if sv.RPC.Result != sources.ProbeOK {
				pingFail++
			}
		}
	}
	late, lost := 0, 0
	for i := range s.Hosts {
		switch s.Hosts[i].Liveness(now) {
		case state.LiveLate:
			late++
		case state.LiveLost:
			lost++
		}
	}
	out := []string{
		padRight("services", 11) + strconv.Itoa(len(s.Services)) + " · down " + strconv.Itoa(down) + " · flapping " + strconv.Itoa(flapping) +
			" on " + strconv.Itoa(len(flapHosts)) + " hosts · forced down " + strconv.Itoa(forced) + " · unknown " + strconv.Itoa(unknown),
		padRight("heartbeats", 11) + strconv.Itoa(len(s.Hosts)) + " hosts · late " + strconv.Itoa(late) + " · lost " + strconv.Itoa(lost),
		padRight("rpc pings", 11) + "failing " + strconv.Itoa(pingFail) + " of " + strconv.Itoa(pinged) + " services pinged (last ping of each)",
	}
	canary := "no probe yet"
	if c := s.Canary.History; len(c) > 0 {
		last := c[len(c)-1]
		canary = "last " + strings.ToUpper(string(last.Result)) + " " + format.RTT(last.RTT) + " at " + format.Clock(last.At) +
			" · " + strconv.Itoa(s.Canary.Failures) + " failed of " + strconv.Itoa(len(c)) + " kept"
	}
	out = append(out, padRight("canary", 11)+canary)
	notRunning, alarms, parts := 0, 0, 0
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if !n.Running {
			notRunning++
		}
		if n.MemAlarm || n.DiskAlarm {
			alarms++
		}
		parts += len(n.Partitions)
	}
	out = append(out, padRight("broker", 11)+strconv.Itoa(len(s.Nodes))+" nodes · not running "+strconv.Itoa(notRunning)+
		" · alarms "+strconv.Itoa(alarms)+" · partitions "+strconv.Itoa(parts))
	backlog, replyBacklog := 0, 0
	for i := range s.Queues {
		q := &s.Queues[i]
		if q.Messages >= backlogThreshold {
			backlog++
			if q.Role == "reply" || q.Role == "conductor" {
				replyBacklog++
			}
		}
	}
	out = append(out, padRight("queues", 11)+strconv.Itoa(backlog)+" with a backlog (≥"+strconv.Itoa(backlogThreshold)+
		") · of them reply/conductor "+strconv.Itoa(replyBacklog))
	var src []string
	for _, h := range s.Sources {
		w := "ok"
		switch {
		case h.LastSuccess.IsZero():
			w = "NO DATA"
		case h.Stale(now):
			w = "STALE"
		}
		src = append(src, sanitize.Line(h.Name, 16)+" "+w+" "+format.AgeSince(now, h.LastSuccess))
	}
	if len(src) == 0 {
		src = append(src, "none reported yet")
	}
	out = append(out, padRight("sources", 11)+strings.Join(src, " · "))
	return out
}
