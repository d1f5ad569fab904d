package ui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
)

// canaryDetail is the drill-down of the broker canary: its round trips as a
// chart with failures marked under it, and the failures listed with times.
type canaryDetail struct {
	scroller
}

func newCanaryDetail(e *env) *canaryDetail { return &canaryDetail{scroller: scroller{e: e}} }

func (d *canaryDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *canaryDetail) View() string { return d.show(d.lines()) }

func (d *canaryDetail) lines() []string {
	e := d.e
	st := &e.st
	now := e.now
	o := &doc{width: d.width}
	h := e.snap.Canary.History
	o.add(o.paint(st.Detail.Title, "broker canary") + o.paint(st.Detail.Label, "  stacktop's own message round trip through the broker"))
	if len(h) == 0 {
		o.add("no probe yet")
		return o.lines
	}
	last := h[len(h)-1]
	res := strings.ToUpper(string(last.Result))
	ink := st.Table.Bad
	if last.Result == sources.ProbeOK {
		res, ink = "ok", st.Status.Up
	}
	l := "last " + o.paint(ink, probeText(res, last)) + " at " + format.Clock(last.At) + " (" + format.AgeSince(now, last.At) + " ago)"
	if last.Detail != "" {
		l += " · " + o.clean(last.Detail)
	}
	o.add(l)
	fails := e.snap.Canary.Failures
	o.add(strconv.Itoa(len(h)) + " probes since " + format.Clock(h[0].At) + " · " +
		o.paint(inkIf(fails > 0, st.Table.Bad), strconv.Itoa(fails)+" failed"))
	o.add(rttStats(h))

	// The chart: as tall as the screen allows, leaving room for the failures.
	rows := max(2, min(8, (d.height-8)/2))
	s := series{n: len(h), at: func(i int) time.Time { return h[i].At }, value: func(i int) float64 { return float64(h[i].RTT) },
		hold: func(i int) time.Duration { return h[i].RTT }}
	c := chart{rows: rows, t0: h[0].At, t1: now, label: rttLabel, zero: true}
	if !c.t1.After(c.t0) {
		c.t1 = c.t0.Add(time.Second)
	}
	c.labelW = c.labelWidth(s)
	c.cells = max(8, d.width-c.labelW-2)
	o.add("")
	o.add(o.paint(st.Detail.Section, "round trip") + o.paint(st.Detail.Label, "  ✖ marks failed probes (their bar is the time waited)"))
	o.lines = append(o.lines, c.lines(s)...)
	var failed []int
	for i := range h {
		if h[i].Result != sources.ProbeOK {
			failed = append(failed, i)
		}
	}
	if len(failed) > 0 {
		o.add(o.paint(st.Table.Bad, c.markStrip(len(failed), func(i int) time.Time { return h[failed[i]].At }, '✖')))
	}
	o.add(c.timeAxis())

	o.add("")
	o.add(o.paint(st.Detail.Section, "failures (newest first): "+strconv.Itoa(len(failed))))
	for i := len(failed) - 1; i >= 0; i-- {
		p := h[failed[i]]
		l := "  " + format.Clock(p.At) + "  " + padLeft(format.AgeSince(now, p.At), 7) + " ago  " +
			o.paint(st.Table.Bad, padRight(strings.ToUpper(string(p.Result)), 8)) + " " + padLeft(probeRTT(p), 6)
		if p.Detail != "" {
			l += "  " + o.clean(p.Detail)
		}
		o.add(l)
	}
	if len(failed) == 0 {
		o.add("  none kept")
	}
	return o.lines
}

// rttStats is the median, 95th percentile and largest round trip of the successful probes.
func rttStats(h []sources.Probe) string {
	var rtts []time.Duration
	for i := range h {
		if h[i].Result == sources.ProbeOK {
			rtts = append(rtts, h[i].RTT)
		}
	}
	if len(rtts) == 0 {
		return "no successful round trip kept"
	}
	slices.Sort(rtts)
	p := func(q float64) time.Duration { return rtts[min(len(rtts)-1, int(q*float64(len(rtts))))] }
	return "ok round trips: median " + format.RTT(p(0.5)) + " · p95 " + format.RTT(p(0.95)) + " · max " + format.RTT(rtts[len(rtts)-1])
}

// rttLabel labels a chart of round trips.
func rttLabel(v float64) string {
	if v == 0 {
		return "0"
	}
	return format.RTT(time.Duration(v))
}

// probeRTT is a probe's round trip, or "" for a probe that could not even
// be sent (ProbeError): it has no round trip to show.
func probeRTT(p sources.Probe) string {
	if p.Result == sources.ProbeError {
		return ""
	}
	return format.RTT(p.RTT)
}

// probeText is result followed by the probe's round trip, when it has one.
func probeText(result string, p sources.Probe) string {
	if rtt := probeRTT(p); rtt != "" {
		return result + " " + rtt
	}
	return result
}
