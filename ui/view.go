package ui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/format"
	"github.com/stacktop/stacktop/sources"
	"github.com/stacktop/stacktop/state"
	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// View draws the whole screen: header, tab line, the pane or drill-down,
// footer; while the filter is being typed the terminal's cursor sits in it.
func (m Model) View() tea.View {
	content, footerRow := m.render()
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = "stacktop"
	if m.filtering && footerRow >= 0 {
		if c := m.filter.Cursor(); c != nil {
			c.Position.X = min(c.Position.X+1, max(0, m.width-1)) // after the "/"
			c.Position.Y = footerRow
			v.Cursor = c
		}
	}
	if m.jumping && footerRow >= 0 {
		if c := m.jump.Cursor(); c != nil {
			c.Position.X = min(c.Position.X+textWidth(jumpPrompt), max(0, m.width-1))
			c.Position.Y = footerRow
			v.Cursor = c
		}
	}
	return v
}

// Render is the screen content as a string (what View puts in its tea.View).
func (m Model) Render() string {
	s, _ := m.render()
	return s
}

// render draws the screen and says on which row the footer landed (-1: none).
func (m Model) render() (string, int) {
	if m.width <= 0 || m.height <= 0 {
		return "", -1
	}
	var out strings.Builder
	out.Grow((m.width + 32) * m.height)
	n := 0
	// emit writes block's lines while fewer than limit lines are on screen.
	emit := func(block string, limit int) {
		for n < limit {
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
	last := m.height - 1 // the footer's row
	emit(m.header(), last)
	emit(m.tabLine(), last)
	body := ""
	switch {
	case m.showHelp:
		body = m.help.FullHelpView(m.currentPane().FullHelp())
	case m.detail() != nil:
		body = m.detail().View()
	default:
		body = m.tabs[m.active].View()
	}
	emit(body, last)
	for n < last {
		out.WriteByte('\n')
		n++
	}
	if n >= m.height {
		return out.String(), -1
	}
	emit(m.footer(), m.height)
	return out.String(), last
}

func (m Model) currentPane() pane {
	if d := m.detail(); d != nil {
		return d
	}
	return m.tabs[m.active]
}

// flow lays header items out on lines of a width, wrapping between items,
// never inside one.
type flow struct {
	b     strings.Builder
	tmp   strings.Builder
	width int
	x     int // cells used on the current line
}

// newline starts a line unless the current one is empty.
func (f *flow) newline() {
	if f.x > 0 {
		f.b.WriteByte('\n')
		f.x = 0
	}
}

// room is what is left on the current line after sep.
func (f *flow) room(sep string) int {
	if f.x == 0 {
		return f.width
	}
	return f.width - f.x - textWidth(sep)
}

// put writes a painted item w cells wide after sep, or at the start of a new
// line when it does not fit on this one.
func (f *flow) put(sep string, w int, painted string) {
	if f.x > 0 {
		if w > f.room(sep) {
			f.b.WriteByte('\n')
			f.x = 0
		} else {
			f.b.WriteString(sep)
			f.x += textWidth(sep)
		}
	}
	f.b.WriteString(painted)
	f.x += w
}

// paint returns text in ink (text is already safe).
func (f *flow) paint(ink theme.Ink, text string) string {
	f.tmp.Reset()
	ink.Paint(&f.tmp, text)
	return f.tmp.String()
}

// minErrWidth is the least room a source's error text is given on its line.
const minErrWidth = 16

// minCompactErr is the least room worth an error's start in a compact header.
const minCompactErr = 8

// statusGuess is the room a source's status ("STALE 12m04s") is given when
// an error before it is cut to leave it room.
const statusGuess = 12

// statusLines is how many lines the header's status (names, broker health,
// sources) takes at a width, whatever it says: the header keeps one height
// from frame to frame, so the panes below never jump.
func statusLines(width int) int {
	switch {
	case width >= 120:
		return 2
	case width >= 60:
		return 3
	}
	return 4
}

// header is the top block, always statusLines(width)+1 lines: names and
// broker health, source health, then the verdict on one line. Items wrap
// onto the status lines; calm broker items are left out when they do not
// fit. The two blocks share the status lines and are made shorter, level
// by level, until both fit: sources' errors first (cut to the room beside
// their source, then left out), then the recording's path and the names.
// Whatever still does not fit is cut with "…", but every source keeps at
// least one line: a STALE source is never pushed off the screen by the
// broker's items.
func (m Model) header() string {
	budget := statusLines(m.width)
	var top, srcs []string
	for level := 0; level <= maxHeaderLevel; level++ {
		top = strings.Split(m.topStatus(level), "\n")
		srcs = strings.Split(m.sourcesStatus(level), "\n")
		if len(top)+len(srcs) <= budget {
			break
		}
	}
	// The sources come first (a STALE one must show), the top block keeps
	// at least its first line (the clock and the names).
	srcRoom := min(len(srcs), budget-1)
	topRoom := min(len(top), budget-srcRoom)
	srcRoom = min(len(srcs), budget-topRoom)
	lines := append(m.cutLines(top, topRoom), m.cutLines(srcs, srcRoom)...)
	var b strings.Builder
	for i := range budget {
		if i < len(lines) {
			b.WriteString(lines[i])
		}
		b.WriteByte('\n')
	}
	b.WriteString(m.verdictLine())
	return b.String()
}

// maxHeaderLevel is the last level of shortening the header's status has.
const maxHeaderLevel = 3

// cutLines keeps the first n of lines, ending the last kept one in "…" when
// some are left out.
func (m Model) cutLines(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	lines = lines[:n]
	if n > 0 {
		lines[n-1] = ansi.Truncate(lines[n-1], max(1, m.width-1), "") + "…"
	}
	return lines
}

// topStatus is the header's first block: the clock (or the replay's
// status), PAUSED, the recording, the cloud and broker names, then the
// broker's health, wrapped at the width. From level 2 on the recording
// loses its path; at level 3 the names are cut shorter.
func (m Model) topStatus(level int) string {
	h := &m.e.st.Header
	s := m.e.snap
	now := m.e.now
	f := &flow{width: max(1, m.width)}
	if m.replay != nil {
		m.replayItem(f)
	} else {
		clk := format.Clock(now) + " " + format.ZoneName(now) // every time on screen is in this zone
		f.put("", textWidth(clk), f.paint(h.Dim, clk))
	}
	if m.paused {
		label := " PAUSED "
		if m.latest != s {
			label = " PAUSED · newer data waiting "
		}
		f.put(" ", textWidth(label), f.paint(h.Paused, label))
	}
	if m.closed {
		f.put(" ", 15, f.paint(h.Error, "updates stopped"))
	}
	if r := m.opts.Recording; r != "" {
		rec := "● REC " + sanitize.Line(r, 32)
		if level >= 2 {
			rec = "● REC" // the path is in the help and on stderr
		}
		f.put(" ", textWidth(rec), f.paint(h.Error, rec))
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
	if broker == "" && m.e.hasUnconfigured(sources.NameRabbitMQ) {
		broker = "no broker"
	}
	nameMax := 24
	if level >= 3 {
		nameMax = 14
	}
	cl := sanitize.Line(orDash(cloud), nameMax)
	br := sanitize.Line(orDash(broker), nameMax)
	names := f.paint(h.Title, cl) + " ⇄ " + f.paint(h.Title, br)
	sep := " "
	if m.replay != nil {
		sep = " │ " // the replay's status may end in words of its own
	}
	f.put(sep, textWidth(cl)+3+textWidth(br), names)
	m.brokerHealth(f)
	return f.b.String()
}

// sourcesStatus is the header's second block: each source's health, the
// sources not configured, and the notices, wrapped at the width. From level
// 1 on no source's error gets a line of its own: it is cut to the room
// beside its source that the sources after it leave, and an unconfigured
// source does not say how to configure it; from level 2 on errors are left
// out (the source's STALE or NO DATA stays).
func (m Model) sourcesStatus(level int) string {
	e := m.e
	st := &e.st
	s := e.snap
	now := e.now
	h := &st.Header
	f := &flow{width: max(1, m.width)}
	age := func(src state.SourceHealth) string { // left out at level 3: the status word stays
		if level >= 3 {
			return ""
		}
		return " " + format.AgeSince(now, src.LastSuccess)
	}
	if len(s.Sources) == 0 {
		f.put("", 27, f.paint(h.Dim, "waiting for the first poll…"))
	}
	for i, src := range s.Sources {
		name := sanitize.Line(src.Name, 16)
		var status string
		var ink theme.Ink
		// The source works; the broker refuses what it sends (a resource
		// alarm), which is news of the broker, not of the source: neither
		// "ok" nor its data's age, nor a count of its batches, but BLOCKED
		// and the broker's reason, as long as the source still reports.
		blocked := src.Kind == sources.FailBlocked && !src.Silent(now)
		switch {
		case blocked:
			status, ink = "BLOCKED", h.Error
		case src.LastSuccess.IsZero():
			status, ink = "NO DATA", h.Error
		case stale(src, now):
			status, ink = "STALE"+age(src), h.Stale
		case src.LastErr != "":
			// Its last poll failed; its data is not stale yet.
			status, ink = "failing"+age(src), h.Stale
		default:
			status, ink = "ok"+age(src), h.OK
		}
		w := textWidth(name) + 1 + textWidth(status)
		item := f.paint(h.Label, name) + " " + f.paint(ink, status)
		if src.LastErr == "" {
			f.put(" │ ", w, item)
			continue
		}
		fails := ""
		if src.Failures > 0 && !blocked {
			fails = strconv.Itoa(src.Failures) + "× "
		}
		errText := sanitize.Line(fails+src.LastErr, 0)
		need := w + 1 + min(textWidth(errText), minErrWidth)
		if need > f.room(" │ ") && level == 0 {
			f.newline() // the error needs some room beside its source
		}
		f.put(" │ ", w, item)
		limit := max(minErrWidth, f.width-f.x-1)
		if level > 0 {
			limit = f.width - f.x - 1
			for _, next := range s.Sources[i+1:] {
				limit -= len(" │ ") + textWidth(sanitize.Line(next.Name, 16)) + 1 + statusGuess
			}
			for _, u := range m.e.missing {
				limit -= len(" │ ") + textWidth(sanitize.Line(u.What+": not configured", 0))
			}
		}
		if level > 1 || limit < minCompactErr {
			continue // the source's STALE or NO DATA says it; the timeline has the error
		}
		errText = sanitize.Line(errText, limit)
		f.put(" ", textWidth(errText), f.paint(h.Error, errText))
	}
	// Sources left out of the configuration say so, with how to set them
	// when there is room: "broker: not configured (set rabbitmq.url or …)".
	// From level 1 on the how is left out, so that every one of them keeps
	// its place on the status lines (the drill-downs and v say how).
	for _, u := range m.e.missing {
		t := sanitize.Line(u.What+": not configured ("+u.How+")", 0)
		if level > 0 || textWidth(t) > f.room(" │ ") {
			t = sanitize.Line(u.What+": not configured", 0)
		}
		f.put(" │ ", textWidth(t), f.paint(h.Dim, t))
	}
	m.notices(f)
	return f.b.String()
}

// verdictHint says where the verdict's evidence is.
const verdictHint = "  v evidence"

// verdictLine is the verdict on one line, cut with "…" when it is longer,
// or that there is none; the evidence is behind v.
func (m Model) verdictLine() string {
	s := m.e.snap
	h := &m.e.st.Header
	var b strings.Builder
	v := s.Verdict.Headline // cause, scope, since: made for one line
	if v == "" {
		v = s.Verdict.Summary // a snapshot from before Headline
	}
	if v == "" {
		text := "no verdict: no rule fired · v shows the rules' inputs"
		if len(s.Sources) == 0 {
			text = "no verdict yet"
		}
		h.Dim.Paint(&b, sanitize.Line(text, max(1, m.width)))
		return b.String()
	}
	w := max(1, m.width-2)
	line := sanitize.Line(v, w)
	h.Verdict.Paint(&b, "⚠ "+line)
	if textWidth(line)+textWidth(verdictHint) <= w {
		h.Dim.Paint(&b, verdictHint)
	}
	return b.String()
}

// notices writes the startup notices (Options.Notices), the first one and
// how many there are, after the sources: on their line when at least
// minErrWidth is left there, else on the next. They hold for the whole run,
// so the header keeps its height.
func (m Model) notices(f *flow) {
	n := m.opts.Notices
	if len(n) == 0 {
		return
	}
	text := "⚠ " + n[0]
	if len(n) > 1 {
		text = "⚠ (" + strconv.Itoa(len(n)) + " warnings) " + n[0]
	}
	if f.room(" │ ") < minErrWidth {
		f.newline()
	}
	text = sanitize.Line(text, max(1, f.room(" │ ")))
	f.put(" │ ", textWidth(text), f.paint(m.e.st.Header.Stale, text))
}

// brokerHealth writes alarms, partitions and the canary, trouble first;
// trouble wraps onto the next line, calm items are left out when they do
// not fit. Each figure is shown as state judges it (state.Figures): a
// stale one as unknown with its age, never as a reassuring zero.
func (m Model) brokerHealth(f *flow) {
	s := m.e.snap
	now := m.e.now
	h := &m.e.st.Header
	fig := m.e.figures()
	var calm []string
	var stale []staleFigure
	sep := " │ "
	put := func(text string, ink theme.Ink) {
		f.put(sep, textWidth(text), f.paint(ink, text))
		sep = " · "
	}
	item := func(t figureText, fg state.Figure) {
		switch {
		case t.stale:
			stale = append(stale, staleFigure{t.text, fg.Age(now)})
		case t.bad:
			put(t.text, h.Alarm)
		default:
			calm = append(calm, t.text)
		}
	}
	brokerSaid := fig.Nodes.Known != state.KnownNot || fig.Overview.Known != state.KnownNot
	configured := !m.e.hasUnconfigured(sources.NameRabbitMQ)
	if brokerSaid || fig.Alarms.Known != state.KnownNot || configured {
		item(alarmsFigure(fig.Alarms, now), fig.Alarms.Figure)
	}
	if brokerSaid || configured {
		item(countText("partitions", fig.Partitions, now), fig.Partitions)
	}
	if c := s.Canary.History; len(c) > 0 {
		last := c[len(c)-1]
		text := "canary " + probeText(string(last.Result), last)
		if last.Result != sources.ProbeOK {
			text = "canary " + probeText(strings.ToUpper(string(last.Result)), last)
		}
		if s.Canary.Failures > 0 {
			// Of how many: beside an "ok" last round trip, a bare count reads as a contradiction.
			text += " (" + strconv.Itoa(s.Canary.Failures) + "/" + strconv.Itoa(len(c)) + " failed)"
		}
		if fig.Canary.Known == state.KnownStale {
			item(figureText{text: "canary ?", stale: true}, fig.Canary) // its last round trips are behind c
		} else {
			item(figureText{text: text, bad: last.Result != sources.ProbeOK || s.Canary.Failures > 0}, fig.Canary)
		}
	}
	if len(stale) > 0 {
		put(staleItem(stale), h.Stale)
	}
	for _, c := range calm {
		if textWidth(c) > f.room(sep) {
			continue
		}
		f.put(sep, textWidth(c), f.paint(h.Dim, c))
		sep = " · "
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// tabLine shows the panes, row counts, and the active pane's sort and filter;
// when that is too wide, the panes not shown go by short names.
func (m Model) tabLine() string {
	if l := m.tabLineWith(false); ansi.StringWidth(l) <= m.width {
		return l
	}
	return m.tabLineWith(true)
}

// shortTitles name the panes on a narrow tab line.
var shortTitles = [numTabs]string{"Svc", "Qs", "Rst", "MQ"}

func (m Model) tabLineWith(short bool) string {
	st := &m.e.st
	var b strings.Builder
	for i, p := range m.tabs {
		// A pane that hides rows says so even when it is not the one shown.
		count := ""
		if shown, total := p.Matches(); shown != total {
			count = strconv.Itoa(shown) + "/" + strconv.Itoa(total)
		} else {
			count = strconv.Itoa(total)
		}
		title := p.Title()
		if short && i != m.active {
			title = shortTitles[i]
		}
		label := " " + strconv.Itoa(i+1) + " " + title + " " + count + " "
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
	if n := len(m.details); n > 0 {
		crumb := "detail · esc back"
		if n > 1 {
			crumb = "detail " + strconv.Itoa(n) + " deep · esc back"
		}
		st.Header.Dim.Paint(&b, crumb)
		return b.String()
	}
	st.Header.Dim.Paint(&b, p.Status())
	if f := m.filters[m.active]; f != "" && !m.filtering {
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
		b.WriteString(m.filter.View())
		b.WriteString("  ")
		st.Filter.Paint(&b, strconv.Itoa(shown)+" of "+strconv.Itoa(total)+" match")
		b.WriteString("  ")
		st.Header.Dim.Paint(&b, "enter keep · esc clear")
		return b.String()
	}
	if m.jumping {
		st := &m.e.st
		var b strings.Builder
		st.Filter.Paint(&b, jumpPrompt)
		b.WriteString(m.jump.View())
		b.WriteString("  ")
		if m.jumpErr != "" {
			st.Header.Error.Paint(&b, m.jumpErr)
		} else {
			what := "enter jump"
			if m.opts.Seek != nil {
				what = "enter seek"
			}
			st.Header.Dim.Paint(&b, "time in "+format.ZoneName(m.e.now)+" · "+what+" · esc cancel") // read in the zone shown
		}
		return b.String()
	}
	return m.help.ShortHelpView(m.currentPane().ShortHelp())
}

// jumpPrompt leads the time field on the footer.
const jumpPrompt = "jump to "

// filterFieldWidth leaves room on the footer for the match count and the hint.
func filterFieldWidth(width int) int {
	const rest = 1 + 2 + len("99999 of 99999 match") + 2 + len("enter keep · esc clear")
	return max(8, min(32, width-rest))
}
