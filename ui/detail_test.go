package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestSiblingDrillDown: in a service's drill-down the "services on <host>"
// list has a cursor; enter opens the sibling on a stack, esc comes back.
func TestSiblingDrillDown(t *testing.T) {
	open := []string{"/", "c", "t", "l", "-", "1", "enter", "enter"} // nova-conductor on ctl-1
	tests := []struct {
		name  string
		keys  []string
		depth int
		title string // the drill-down on top
		row   string // its cursor row in the sibling list
	}{
		{"opens on the service itself", nil, 1, "nova-conductor on ctl-1", "▸ nova-conductor"},
		{"down selects the sibling", []string{"j"}, 1, "nova-conductor on ctl-1", "▸ nova-scheduler"},
		{"down stops at the last sibling, then scrolls", []string{"j", "j"}, 1, "nova-conductor on ctl-1", "▸ nova-scheduler"},
		{"enter on itself stays", []string{"enter"}, 1, "nova-conductor on ctl-1", "▸ nova-conductor"},
		{"enter opens the sibling", []string{"j", "enter"}, 2, "nova-scheduler on ctl-1", "▸ nova-scheduler"},
		{"and back again", []string{"j", "enter", "k", "enter"}, 3, "nova-conductor on ctl-1", "▸ nova-conductor"},
		{"esc returns to the previous detail, cursor kept", []string{"j", "enter", "esc"}, 1, "nova-conductor on ctl-1", "▸ nova-scheduler"},
		{"esc twice leaves", []string{"j", "enter", "esc", "esc"}, 0, "", ""},
		{"a tab switch closes the stack", []string{"j", "enter", "2"}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(incident(), 120, 40, false), append(open, tt.keys...)...)
			if len(m.details) != tt.depth {
				t.Fatalf("%d drill-downs open, want %d", len(m.details), tt.depth)
			}
			if tt.depth == 0 {
				return
			}
			out := ansi.Strip(m.Render())
			lines := strings.Split(out, "\n")
			top := lines[m.headerH+1]
			if !strings.HasPrefix(top, tt.title) {
				t.Fatalf("top drill-down %q, want %q", top, tt.title)
			}
			if !strings.Contains(out, tt.row) {
				t.Fatalf("no %q in\n%s", tt.row, out)
			}
			if tt.depth > 1 && !strings.Contains(out, "detail "+string(rune('0'+tt.depth))+" deep") {
				t.Fatalf("tab line does not say how deep: %s", lines[m.headerH])
			}
		})
	}
}

// TestSiblingKeysScrollWhenListHidden: with the list scrolled away, up and
// down scroll the document instead of moving an unseen cursor.
func TestSiblingKeysScrollWhenListHidden(t *testing.T) {
	m := press(newTestModel(incident(), 80, 12, false), "/", "c", "t", "l", "-", "1", "enter", "enter")
	d := m.detail().(*serviceDetail)
	m = press(m, "G", "j") // the list is at the bottom of the document, now on screen
	if d.sib.Binary != "nova-scheduler" {
		t.Fatalf("j with the list on screen did not select: %v", d.sib)
	}
	m = press(m, "g", "k", "j") // back at the top the list is off screen
	if d.sib.Binary != "nova-scheduler" || d.offset != 1 {
		t.Fatalf("sibling %v offset %d: keys should scroll while the list is off screen", d.sib, d.offset)
	}
	_ = m
}
