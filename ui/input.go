package ui

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"

	"github.com/stacktop/stacktop/ui/sanitize"
)

// lineInput is the filter's one-line editor. (bubbles/textinput would pull in
// github.com/atotto/clipboard, which go.sum does not list.)
type lineInput struct {
	value []rune
	pos   int
}

// maxFilter bounds the filter's length.
const maxFilter = 128

func (l *lineInput) Value() string { return string(l.value) }

func (l *lineInput) SetValue(s string) {
	l.value = []rune(s)
	l.pos = len(l.value)
}

// Update edits the line with a key press or a paste.
func (l *lineInput) Update(msg tea.Msg) {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		l.insert(msg.Content)
	case tea.KeyPressMsg:
		switch msg.String() {
		case "backspace", "ctrl+h":
			if l.pos > 0 {
				l.value = append(l.value[:l.pos-1], l.value[l.pos:]...)
				l.pos--
			}
		case "delete", "ctrl+d":
			if l.pos < len(l.value) {
				l.value = append(l.value[:l.pos], l.value[l.pos+1:]...)
			}
		case "ctrl+w", "alt+backspace":
			start := l.pos
			for start > 0 && l.value[start-1] == ' ' {
				start--
			}
			for start > 0 && l.value[start-1] != ' ' {
				start--
			}
			l.value = append(l.value[:start], l.value[l.pos:]...)
			l.pos = start
		case "ctrl+u":
			l.value = l.value[l.pos:]
			l.pos = 0
		case "left", "ctrl+b":
			l.pos = max(0, l.pos-1)
		case "right", "ctrl+f":
			l.pos = min(len(l.value), l.pos+1)
		case "home", "ctrl+a":
			l.pos = 0
		case "end", "ctrl+e":
			l.pos = len(l.value)
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				l.insert(msg.Text)
			}
		}
	}
}

func (l *lineInput) insert(s string) {
	for _, r := range s {
		if len(l.value) >= maxFilter {
			return
		}
		if !unicode.IsPrint(r) {
			continue
		}
		l.value = append(l.value, 0)
		copy(l.value[l.pos+1:], l.value[l.pos:])
		l.value[l.pos] = r
		l.pos++
	}
}

// View draws the value with a bar at the cursor.
func (l *lineInput) View(width int) string {
	var b strings.Builder
	b.WriteString(string(l.value[:l.pos]))
	b.WriteString("▏")
	b.WriteString(string(l.value[l.pos:]))
	return sanitize.Line(b.String(), width)
}
