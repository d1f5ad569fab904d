// Package theme holds every style stacktop draws with: light and dark
// palettes, and a colourless set for NO_COLOR where state is told apart by
// text and symbols alone.
package theme

import (
	"image/color"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// Ink is a style reduced to the escape codes around its text, so that table
// cells can be painted without a full lipgloss render per cell.
type Ink struct {
	pre, post string
}

// InkOf reduces a colour/attribute-only style (no padding, width or border) to an Ink.
func InkOf(st lipgloss.Style) Ink {
	const marker = "\x7e"
	out := st.Render(marker)
	i := strings.Index(out, marker)
	if i < 0 {
		return Ink{}
	}
	return Ink{pre: out[:i], post: out[i+len(marker):]}
}

// Paint appends s wrapped in the ink's codes to b.
func (i Ink) Paint(b *strings.Builder, s string) {
	b.WriteString(i.pre)
	b.WriteString(s)
	b.WriteString(i.post)
}

// Plain reports whether the ink adds no escape codes.
func (i Ink) Plain() bool { return i.pre == "" && i.post == "" }

// Header styles the top lines.
type Header struct {
	Title   Ink // cloud and broker names
	Label   Ink // "nova", "rabbitmq"...
	OK      Ink // healthy source
	Stale   Ink // data older than twice the poll interval
	Error   Ink // failing source and its error text
	Paused  Ink // the PAUSED badge
	Replay  Ink // the REPLAY badge: speed or step
	Ended   Ink // the END OF RECORDING badge
	Verdict Ink // the correlation verdict line
	Alarm   Ink // broker alarms and partitions
	Dim     Ink // clock and secondary text
}

// Tabs styles the pane switcher.
type Tabs struct {
	Active   Ink
	Inactive Ink
}

// Table styles tabular panes.
type Table struct {
	Header   Ink // column titles
	Selected Ink // the cursor row
	Dim      Ink // secondary cells
	Group    Ink // group separator rows (host or binary)
	Warn     Ink // a value worth a look (growth, late heartbeat)
	Bad      Ink // a value that is wrong (no consumers, lost, timeout)
}

// Status styles service conditions.
type Status struct {
	Up         Ink
	Down       Ink
	Disabled   Ink
	ForcedDown Ink
	Unknown    Ink
	Flapping   Ink
}

// Detail styles drill-down views.
type Detail struct {
	Title   Ink
	Label   Ink
	Section Ink
}

// Styles is every style the UI uses.
type Styles struct {
	NoColor bool // true when nothing may be coloured: status must read from text alone
	Dark    bool
	Header  Header
	Tabs    Tabs
	Table   Table
	Status  Status
	Detail  Detail
	Filter  Ink              // the filter prompt and match count
	Input   textinput.Styles // the filter's text field
	Help    HelpStyles
}

// HelpStyles are the footer and overlay help styles, in the shape bubbles/help wants.
type HelpStyles struct {
	Key, Desc, Sep lipgloss.Style
}

// New builds the styles for a dark or light background; noColor gives styles
// that emit no escape codes at all.
func New(isDark, noColor bool) Styles {
	if noColor {
		return Styles{NoColor: true, Dark: isDark, Input: inputStyles(nil, nil)}
	}
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	fg := func(col color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(col) }

	red := c("#C0162C", "#FF5F6D")
	green := c("#1E7B34", "#5FD787")
	yellow := c("#8A5A00", "#FFD75F")
	orange := c("#B34700", "#FF9F43")
	magenta := c("#8E2C9E", "#D787FF")
	blue := c("#1F5FAF", "#5FAFFF")
	dim := c("#6C6C6C", "#8A8A8A")
	text := c("#1C1C1C", "#E4E4E4")
	badgeFG := c("#FFFFFF", "#1C1C1C")

	s := Styles{Dark: isDark}
	s.Header = Header{
		Title:   InkOf(fg(text).Bold(true)),
		Label:   InkOf(fg(blue).Bold(true)),
		OK:      InkOf(fg(green)),
		Stale:   InkOf(fg(orange).Bold(true)),
		Error:   InkOf(fg(red).Bold(true)),
		Paused:  InkOf(lipgloss.NewStyle().Background(yellow).Foreground(badgeFG).Bold(true)),
		Replay:  InkOf(lipgloss.NewStyle().Background(blue).Foreground(badgeFG).Bold(true)),
		Ended:   InkOf(lipgloss.NewStyle().Background(magenta).Foreground(badgeFG).Bold(true)),
		Verdict: InkOf(fg(red).Bold(true)),
		Alarm:   InkOf(fg(red).Bold(true)),
		Dim:     InkOf(fg(dim)),
	}
	s.Tabs = Tabs{
		Active:   InkOf(lipgloss.NewStyle().Foreground(badgeFG).Background(blue).Bold(true)),
		Inactive: InkOf(fg(dim)),
	}
	s.Table = Table{
		Header:   InkOf(fg(text).Bold(true).Underline(true)),
		Selected: InkOf(lipgloss.NewStyle().Reverse(true)),
		Dim:      InkOf(fg(dim)),
		Group:    InkOf(fg(blue)),
		Warn:     InkOf(fg(yellow)),
		Bad:      InkOf(fg(red).Bold(true)),
	}
	s.Status = Status{
		Up:         InkOf(fg(green)),
		Down:       InkOf(fg(red).Bold(true)),
		Disabled:   InkOf(fg(dim)),
		ForcedDown: InkOf(fg(magenta).Bold(true)),
		Unknown:    InkOf(fg(orange).Bold(true)),
		Flapping:   InkOf(fg(yellow).Bold(true)),
	}
	s.Detail = Detail{
		Title:   InkOf(fg(text).Bold(true)),
		Label:   InkOf(fg(dim)),
		Section: InkOf(fg(blue).Bold(true)),
	}
	s.Filter = InkOf(fg(yellow))
	s.Input = inputStyles(text, yellow)
	s.Help = HelpStyles{
		Key:  fg(c("#4A4A4A", "#B2B2B2")),
		Desc: fg(dim),
		Sep:  fg(c("#B2B2B2", "#4A4A4A")),
	}
	return s
}

// inputStyles styles the filter field: its text in the text colour and the
// terminal's own cursor (a bar, blinking by itself, so no timer messages) in
// the filter colour; nil colours leave the terminal's defaults.
func inputStyles(text, cursor color.Color) textinput.Styles {
	plain := lipgloss.NewStyle()
	st := textinput.StyleState{Text: plain, Placeholder: plain, Suggestion: plain, Prompt: plain}
	if text != nil {
		st.Text = plain.Foreground(text)
	}
	return textinput.Styles{
		Focused: st,
		Blurred: st,
		Cursor:  textinput.CursorStyle{Color: cursor, Shape: tea.CursorBar, Blink: true},
	}
}

// Open returns the codes that start the ink, for painting a span built piecemeal.
func (i Ink) Open() string { return i.pre }

// Close returns the codes that end the ink.
func (i Ink) Close() string { return i.post }
