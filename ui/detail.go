package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/theme"
	"github.com/stacktop/stacktop/ui/sanitize"
)

// scroller is the shared part of drill-down panes: a block of lines scrolled
// by the navigation keys.
type scroller struct {
	e             *env
	width, height int
	offset        int
}

func (s *scroller) SetSize(w, h int) { s.width, s.height = w, h }

func (s *scroller) ShortHelp() []key.Binding {
	k := s.e.keys
	return []key.Binding{k.Back, k.Down, k.Up, k.PageDown, k.Pause, k.Help, k.Quit}
}

// FullHelp is every key: tabs, v, c and t work from a drill-down too.
func (s *scroller) FullHelp() [][]key.Binding { return s.e.keys.FullHelp() }

// scroll applies a navigation key over n lines.
func (s *scroller) scroll(msg tea.Msg, n int) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return
	}
	l := listState{cursor: s.offset, height: s.height}
	k := s.e.keys
	page := max(1, s.height-1)
	switch {
	case key.Matches(km, k.Up):
		l.cursor--
	case key.Matches(km, k.Down):
		l.cursor++
	case key.Matches(km, k.Home):
		l.cursor = 0
	case key.Matches(km, k.End):
		l.cursor = n
	case key.Matches(km, k.PageUp):
		l.cursor -= page
	case key.Matches(km, k.PageDown):
		l.cursor += page
	}
	s.offset = max(0, min(l.cursor, n-s.height))
}

// show returns the visible part of lines.
func (s *scroller) show(lines []string) string {
	off := max(0, min(s.offset, len(lines)-s.height))
	end := min(len(lines), off+max(0, s.height))
	return strings.Join(lines[off:end], "\n")
}

// doc builds a drill-down's lines; every outside string goes through clean.
type doc struct {
	lines []string
	b     strings.Builder
	width int
}

// clean sanitises an outside string for a line of the document.
func (d *doc) clean(s string) string { return sanitize.Line(s, max(1, d.width)) }

// cleanAll sanitises an outside string without cutting it (for wrapping).
func (d *doc) cleanAll(s string) string { return sanitize.Line(s, 0) }

// wrapLines wraps safe text at w cells, between words where it can.
func wrapLines(s string, w int) []string {
	return strings.Split(ansi.Wrap(s, max(1, w), ""), "\n")
}

// add appends one line (already safe).
func (d *doc) add(s string) { d.lines = append(d.lines, s) }

// paint returns s in ink.
func (d *doc) paint(ink theme.Ink, s string) string {
	d.b.Reset()
	ink.Paint(&d.b, s)
	return d.b.String()
}

// wrap appends an outside string sanitised and wrapped at the width, indented.
func (d *doc) wrap(indent, s string) {
	w := max(8, d.width-len(indent))
	s = sanitize.Line(s, 0)
	for _, l := range strings.Split(ansi.Hardwrap(s, w, true), "\n") {
		d.add(indent + l)
	}
}
