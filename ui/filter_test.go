package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestFilterPerPane: each pane keeps the filter typed in it across tab switches.
func TestFilterPerPane(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		// want shown rows per pane, and the field's text for the active pane
		svc, q, r int
		field     string
		tabLine   []string // substrings of the tab line
	}{
		{"services filter survives a visit to queues", []string{"/", "c", "t", "l", "enter", "2", "1"}, 6, 45, 13, "ctl",
			[]string{"Services 6/46", `filter "ctl" 6/46`}},
		{"other panes start unfiltered", []string{"/", "c", "t", "l", "enter", "2"}, 6, 45, 13, "",
			[]string{"Services 6/46", "Queues 45"}},
		{"each pane its own filter", []string{"/", "c", "t", "l", "enter", "2", "/", "r", "e", "p", "l", "y", "enter", "3", "1"}, 6, 1, 13, "ctl",
			[]string{"Services 6/46", "Queues 1/45", "Timeline 13 "}},
		{"queues filter kept when coming back", []string{"2", "/", "r", "e", "p", "l", "y", "enter", "1", "2"}, 46, 1, 13, "reply",
			[]string{`filter "reply" 1/45`}},
		{"esc clears only the active pane", []string{"/", "c", "t", "l", "enter", "2", "/", "r", "e", "p", "l", "y", "enter", "esc", "1"}, 6, 45, 13, "ctl",
			[]string{"Services 6/46", "Queues 45"}},
		{"/ resumes editing the pane's filter", []string{"/", "c", "t", "l", "enter", "2", "1", "/", "-", "1"}, 2, 45, 13, "ctl-1",
			[]string{"Services 2/46"}},
		{"tab keys switch too", []string{"/", "c", "t", "l", "enter", "tab", "shift+tab"}, 6, 45, 13, "ctl", []string{"Services 6/46"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(incident(), 120, 40, false), tt.keys...)
			for i, want := range []int{tt.svc, tt.q, tt.r} {
				if got, _ := m.tabs[i].Matches(); got != want {
					t.Errorf("pane %d shows %d rows, want %d", i, got, want)
				}
			}
			if got := m.filter.Value(); got != tt.field {
				t.Errorf("field %q, want %q", got, tt.field)
			}
			line := ansi.Strip(m.tabLine())
			for _, want := range tt.tabLine {
				if !strings.Contains(line, want) {
					t.Errorf("tab line %q lacks %q", line, want)
				}
			}
		})
	}
}

// TestFilterField covers the textinput-backed field: editing keys, q as text,
// the live count, controls made visible, and the terminal cursor's place.
func TestFilterField(t *testing.T) {
	tests := []struct {
		name      string
		keys      []string
		want      string
		footer    string
		filtering bool
	}{
		{"q is text", []string{"/", "q"}, "q", "0 of 46 match", true},
		{"live count", []string{"/", "0", "1"}, "01", "11 of 46 match", true},
		{"backspace", []string{"/", "0", "1", "5", "backspace"}, "01", "11 of 46 match", true},
		{"ctrl+u deletes to the start", []string{"/", "c", "t", "l", "ctrl+u"}, "", "46 of 46 match", true},
		{"enter keeps", []string{"/", "c", "t", "l", "enter"}, "ctl", "tab next pane", false},
		{"esc clears", []string{"/", "c", "t", "l", "esc"}, "", "tab next pane", false},
		{"bidi override dropped", []string{"/", "\u202e"}, "", "46 of 46 match", true},
		{"invisible characters dropped", []string{"/", "0", "\u200c", "\u2061", "1", "\ufe0f"}, "01", "11 of 46 match", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(incident(), 100, 30, false), tt.keys...)
			if m.filter.Value() != tt.want || m.filtering != tt.filtering {
				t.Fatalf("field %q filtering %v, want %q %v", m.filter.Value(), m.filtering, tt.want, tt.filtering)
			}
			if l := lastLine(m); !strings.Contains(l, tt.footer) {
				t.Fatalf("footer %q lacks %q", l, tt.footer)
			}
			v := m.View()
			if !tt.filtering {
				if v.Cursor != nil {
					t.Fatal("cursor shown outside the filter")
				}
				return
			}
			if v.Cursor == nil {
				t.Fatal("no cursor in the filter field")
			}
			wantX := 1 + ansi.StringWidth(tt.want) // after "/" and the text
			if v.Cursor.Position.X != wantX || v.Cursor.Position.Y != 29 {
				t.Fatalf("cursor at %v, want (%d,29)", v.Cursor.Position, wantX)
			}
		})
	}
}
