package ui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// View draws the whole screen: header, tab line, the pane or drill-down, footer.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "stacktop"
	return v
}

// Render is the screen content as a string (what View puts in its tea.View).
func (m Model) Render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var out strings.Builder
	out.Grow((m.width + 32) * m.height)
	n := 0
	emit := func(block string) {
		for n < m.height {
			line, rest, more := strings.Cut(block, "\n")
			if n > 0 {
				out.WriteByte('\n')
			}
			if ansi.StringWidth(line) > m.width {
				line = ansi.Truncate(line, m.width, "…")
			}
			out.WriteString(line)
			n++
			if !more {
				return
			}
			block = rest
		}
	}
	emit(m.header())
	emit(m.tabLine())
	body := ""
	switch {
	case m.showHelp:
		body = m.help.FullHelpView(m.currentPane().FullHelp())
	case m.detail != nil:
		body = m.detail.View()
	default:
		body = m.tabs[m.active].View()
	}
	lines := strings.Count(body, "\n") + 1
	emit(body)
	for i := lines; i < m.bodyH && n < m.height-1; i++ {
		out.WriteByte('\n')
		n++
	}
	emit(m.footer())
	return out.String()
}

func (m Model) currentPane() pane {
	if m.detail != nil {
		return m.detail
	}
	return m.tabs[m.active]
}

// header is the top block: names and broker health, source health, verdict.
func (m Model) header() string {
	e := m.e
	st := &e.st
	s := e.snap
	now := e.now
	var b strings.Builder
	h := &st.Header
	h.Dim.Paint(&b, now.Format("15:04:05"))
	if m.paused {
		b.WriteString(" ")
		label := " PAUSED "
		if m.latest != s {
			label = " PAUSED · newer data waiting "
		}
		h.Paused.Paint(&b, label)
	}
	if m.closed {
		b.WriteString(" ")
		h.Error.Paint(&b, "updates stopped")
	}
	cloud, broker := m.opts.Cloud, m.opts.Broker
	for _, src := range s.Sources {
		if cloud == "" && src.Name == sources.NameNova {
			cloud = src.Target
		}
		if broker == "" && src.Name == sources.NameRabbitMQ {
			broker = src.Target
		}
	}
	if s.Overview != nil && m.opts.Broker == "" && s.Overview.ClusterName != "" {
		broker = s.Overview.ClusterName
	}
	b.WriteByte(' ')
	h.Title.Paint(&b, sanitize.Line(orDash(cloud), 24))
	b.WriteString(" ⇄ ")
	h.Title.Paint(&b, sanitize.Line(orDash(broker), 24))
	m.brokerHealth(&b)
	b.WriteByte('\n')
	if len(s.Sources) == 0 {
		h.Dim.Paint(&b, "waiting for the first poll…")
	}
	for i, src := range s.Sources {
		if i > 0 {
			b.WriteString(" │ ")
		}
		h.Label.Paint(&b, sanitize.Line(src.Name, 16))
		b.WriteByte(' ')
		switch {
		case src.LastSuccess.IsZero():
			h.Error.Paint(&b, "NO DATA")
		case stale(src, now):
			h.Stale.Paint(&b, "STALE "+ageSince(now, src.LastSuccess))
		default:
			h.OK.Paint(&b, "ok "+ageSince(now, src.LastSuccess))
		}
		if src.LastErr != "" {
			b.WriteByte(' ')
			fails := ""
			if src.Failures > 0 {
				fails = strconv.Itoa(src.Failures) + "× "
			}
			h.Error.Paint(&b, sanitize.Line(fails+src.LastErr, 40))
		}
	}
	if v := s.Verdict.Summary; v != "" {
		b.WriteByte('\n')
		h.Verdict.Paint(&b, "⚠ "+sanitize.Line(v, max(1, m.width-2)))
	}
	return b.String()
}

// brokerHealth writes alarms, partitions and the canary, trouble first.
func (m Model) brokerHealth(b *strings.Builder) {
	s := m.e.snap
	h := &m.e.st.Header
	alarms, parts := 0, 0
	for _, n := range s.Nodes {
		if n.MemAlarm || n.DiskAlarm {
			alarms++
		}
		parts += len(n.Partitions)
	}
	var calm []string
	sep := " │ "
	item := func(bad bool, badText, okText string) {
		if !bad {
			calm = append(calm, okText)
			return
		}
		b.WriteString(sep)
		sep = " · "
		h.Alarm.Paint(b, badText)
	}
	if len(s.Nodes) > 0 || s.Overview != nil {
		item(alarms > 0, "ALARMS "+strconv.Itoa(alarms), "alarms 0")
		item(parts > 0, "PARTITIONS "+strconv.Itoa(parts), "partitions 0")
	}
	if c := s.Canary.History; len(c) > 0 {
		last := c[len(c)-1]
		text := "canary " + string(last.Result) + " " + fmtRTT(last.RTT)
		if last.Result != sources.ProbeOK {
			text = "canary " + strings.ToUpper(string(last.Result)) + " " + fmtRTT(last.RTT)
		}
		if s.Canary.Failures > 0 {
			text += " (" + strconv.Itoa(s.Canary.Failures) + " failed)"
		}
		item(last.Result != sources.ProbeOK || s.Canary.Failures > 0, text, text)
	}
	for _, c := range calm {
		b.WriteString(sep)
		sep = " · "
		h.Dim.Paint(b, c)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// tabLine shows the panes, row counts, and the active pane's sort and filter.
func (m Model) tabLine() string {
	st := &m.e.st
	var b strings.Builder
	counts := [numTabs]int{len(m.e.snap.Services), len(m.e.snap.Queues), len(m.e.snap.Restarts)}
	for i, p := range m.tabs {
		label := " " + strconv.Itoa(i+1) + " " + p.Title() + " " + strconv.Itoa(counts[i]) + " "
		if i == m.active {
			if st.NoColor {
				label = "[" + strings.TrimSpace(label) + "]"
			}
			st.Tabs.Active.Paint(&b, label)
		} else {
			st.Tabs.Inactive.Paint(&b, label)
		}
	}
	p := m.tabs[m.active]
	b.WriteString("  ")
	if m.detail != nil {
		st.Header.Dim.Paint(&b, "detail · esc back")
		return b.String()
	}
	st.Header.Dim.Paint(&b, p.Status())
	if f := m.filter.Value(); f != "" && !m.filtering {
		shown, total := p.Matches()
		b.WriteString(" · ")
		st.Filter.Paint(&b, "filter \""+sanitize.Line(f, 24)+"\" "+strconv.Itoa(shown)+"/"+strconv.Itoa(total))
	}
	return b.String()
}

// footer is the filter prompt while typing, else the short help.
func (m Model) footer() string {
	if m.filtering {
		st := &m.e.st
		shown, total := m.tabs[m.active].Matches()
		var b strings.Builder
		st.Filter.Paint(&b, "/")
		b.WriteString(m.filter.View(max(1, m.width-30)))
		b.WriteString("  ")
		st.Filter.Paint(&b, strconv.Itoa(shown)+" of "+strconv.Itoa(total)+" match")
		b.WriteString("  ")
		st.Header.Dim.Paint(&b, "enter keep · esc clear")
		return b.String()
	}
	return m.help.ShortHelpView(m.currentPane().ShortHelp())
}
