package ui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
)

// nodeDetail is the drill-down of one broker node: alarms, partitions, its
// gauges against their limits, uptime and restarts, and the cluster overview.
type nodeDetail struct {
	scroller
	name string
}

func newNodeDetail(e *env, name string) *nodeDetail {
	return &nodeDetail{scroller: scroller{e: e}, name: name}
}

func (d *nodeDetail) Update(msg tea.Msg) (pane, tea.Cmd) {
	d.scroll(msg, len(d.lines()))
	return d, nil
}

func (d *nodeDetail) View() string { return d.show(d.lines()) }

// gaugeBarWidth is the bar's width for a document width.
func gaugeBarWidth(w int) int { return max(8, min(40, w-48)) }

func (d *nodeDetail) lines() []string {
	e := d.e
	st := &e.st
	now := e.now
	o := &doc{width: d.width}
	n, ok := e.snap.Node(d.name)
	title := o.paint(st.Detail.Title, "broker node "+o.clean(d.name))
	if !ok {
		o.add(title + "  (gone from the latest snapshot)")
		return o.lines
	}
	running := o.paint(st.Status.Up, "running")
	if !n.Running {
		running = o.paint(st.Status.Down, "NOT RUNNING")
	}
	o.add(title + "  " + running + o.paint(st.Detail.Label, " · uptime "+uptimeText(n.Uptime)))

	if a := alarmsText(&n.Node, ""); a != "" {
		var why []string
		if n.MemAlarm {
			why = append(why, "memory "+format.Bytes(n.MemUsed)+" over the "+format.Bytes(n.MemLimit)+" high watermark: publishers are blocked")
		}
		if n.DiskAlarm {
			why = append(why, "disk free "+format.Bytes(n.DiskFree)+" under the "+format.Bytes(n.DiskFreeLimit)+" limit: publishers are blocked")
		}
		o.add("alarms     " + o.paint(st.Table.Bad, "ALARM "+strings.ReplaceAll(strings.ReplaceAll(a, "MEM", "MEMORY"), " ", ", ")))
		for _, w := range why {
			o.add("           " + w)
		}
	} else {
		o.add("alarms     none")
	}
	if len(n.Partitions) > 0 {
		o.add("partitions " + o.paint(st.Table.Bad, "PARTITIONED") + " cannot see " + strconv.Itoa(len(n.Partitions)) + " node(s):")
		for _, p := range n.Partitions {
			o.add("           " + o.clean(p))
		}
	} else {
		o.add("partitions none")
	}

	o.add("")
	o.add(o.paint(st.Detail.Section, "resources") + o.paint(st.Detail.Label, "  used of limit · ? not reported by the broker"))
	bw := gaugeBarWidth(d.width)
	o.add(gaugeLine(o, st, "memory", n.MemUsed, n.MemLimit, n.MemAlarm, bw, format.Bytes))
	o.add(gaugeLine(o, st, "fds", n.FDUsed, n.FDTotal, false, bw, fmtInt))
	o.add(gaugeLine(o, st, "sockets", n.SocketsUsed, n.SocketsTotal, false, bw, fmtInt))
	o.add(gaugeLine(o, st, "processes", n.ProcUsed, n.ProcTotal, false, bw, fmtInt))
	disk, ink := diskCell(&n.Node, st)
	dl := padRight("disk free", 10) + " " + o.paint(ink, disk)
	switch {
	case n.DiskFree >= 0 && n.DiskFreeLimit > 0 && n.DiskFree <= n.DiskFreeLimit:
		dl = padRight("disk free", 10) + " " + o.paint(ink, format.Bytes(n.DiskFree)) + ", under the " + format.Bytes(n.DiskFreeLimit) + " limit"
	case n.DiskFree >= 0 && n.DiskFreeLimit > 0:
		dl = padRight("disk free", 10) + " " + o.paint(ink, format.Bytes(n.DiskFree)) + ", alarm under " + format.Bytes(n.DiskFreeLimit) +
			" (" + strconv.FormatInt(n.DiskFree/n.DiskFreeLimit, 10) + "× that)"
	}
	o.add(dl)

	o.add("")
	ret := e.snap.Retention
	if ret <= 0 {
		ret = defaultRetention
	}
	o.add(o.paint(st.Detail.Section, "restarts") + " " + strconv.Itoa(n.Restarts) + " within " + format.Age(ret) +
		o.paint(st.Detail.Label, " (uptime went down between polls)"))
	listed := 0
	for _, r := range e.snap.Restarts {
		if r.Kind != state.RestartBrokerNode || r.Where != d.name {
			continue
		}
		listed++
		o.add("  " + format.Clock(r.At) + "  " + padLeft(format.AgeSince(now, r.At), 7) + " ago  " + o.clean(r.Evidence))
	}
	if listed == 0 {
		o.add("  none in the timeline")
	}

	o.add("")
	o.add(o.paint(st.Detail.Section, "cluster"))
	if ov := e.snap.Overview; ov != nil {
		o.add("  " + o.clean(orDash(ov.ClusterName)) + o.paint(st.Detail.Label, overviewVersions(ov)))
		o.add("  " + overviewTotals(ov))
	} else {
		o.add("  no overview from the broker yet")
	}
	for i := range e.snap.Nodes {
		x := &e.snap.Nodes[i]
		mark := "  "
		if x.Name == d.name {
			mark = "▸ "
		}
		run := "up"
		if !x.Running {
			run = "DOWN"
		}
		o.add(mark + padRight(o.clean(x.Name), 24) + " " + padRight(run, 4) + " alarms " + alarmsText(&x.Node, "none") +
			" · partitions " + strconv.Itoa(len(x.Partitions)) + " · uptime " + uptimeText(x.Uptime))
	}
	return o.lines
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// gaugeLine is "name  ████▌░░░░ 43%  used of limit".
func gaugeLine(o *doc, st *theme.Styles, name string, used, total int64, alarm bool, width int, unit func(int64) string) string {
	var b strings.Builder
	b.WriteString(padRight(name, 10))
	b.WriteByte(' ')
	f, ok := gaugeFrac(used, total)
	if !ok {
		b.WriteString("?")
		if used >= 0 {
			b.WriteString("  " + unit(used) + " used, no limit known")
		}
		if alarm {
			b.WriteString("  " + o.paint(st.Table.Bad, "ALARM"))
		}
		return b.String()
	}
	text, ink := pctCell(used, total, alarm, st)
	var bar strings.Builder
	gaugeBar(&bar, f, width)
	b.WriteString(o.paint(ink, bar.String()))
	b.WriteString(" " + padLeft(text, 4) + "  " + unit(used) + " of " + unit(total))
	if alarm {
		b.WriteString("  " + o.paint(st.Table.Bad, "ALARM"))
	}
	return b.String()
}

var eighths = [...]rune{'▏', '▎', '▍', '▌', '▋', '▊', '▉'}

// gaugeBar writes a bar width cells wide filled to frac (eighth-cell steps,
// ░ for the rest); over 1 it is full and ends in ▶.
func gaugeBar(b *strings.Builder, frac float64, width int) {
	if width <= 0 {
		return
	}
	over := frac > 1
	frac = max(0, min(1, frac))
	n := int(frac*float64(width)*8 + 0.5)
	full, part := n/8, n%8
	for range full {
		b.WriteRune('█')
	}
	cells := full
	if part > 0 && cells < width {
		b.WriteRune(eighths[part-1])
		cells++
	}
	for ; cells < width; cells++ {
		b.WriteRune('░')
	}
	if over {
		b.WriteRune('▶')
	} else {
		b.WriteByte(' ')
	}
}
