package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
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
	_, rows := d.layout()
	if rows[0] < d.height {
		t.Fatalf("the list starts on line %d, on screen already at height %d: the test needs a shorter screen", rows[0], d.height)
	}
	for i := 0; rows[0] >= d.offset+d.height && i < 100; i++ {
		m = press(m, "j") // scrolls until the list's first row shows
	}
	if d.sib.Binary != "nova-conductor" {
		t.Fatalf("scrolling moved the cursor: %v", d.sib)
	}
	m = press(m, "j") // the list is on screen now: j selects
	if d.sib.Binary != "nova-scheduler" {
		t.Fatalf("j with the list on screen did not select: %v", d.sib)
	}
	m = press(m, "g", "k", "j") // back at the top the list is off screen
	if d.sib.Binary != "nova-scheduler" || d.offset != 1 {
		t.Fatalf("sibling %v offset %d: keys should scroll while the list is off screen", d.sib, d.offset)
	}
	_ = m
}

// TestServiceDetailOpensItsQueue: the cursor walks past the host's services
// onto its compute queue, and enter drills into that queue.
func TestServiceDetailOpensItsQueue(t *testing.T) {
	var focused []state.QueueKey
	m := New(Options{Initial: incident(), Now: func() time.Time { return fixedNow }, FocusQueue: func(k state.QueueKey) { focused = append(focused, k) }})
	m = update(m, tea.WindowSizeMsg{Width: 160, Height: 60})
	m = press(m, "j", "j", "enter") // nova-compute on compute-003
	d := m.detail().(*serviceDetail)
	m = press(m, "j")
	if !d.onQueue {
		t.Fatal("j from the only service did not reach the queue")
	}
	if !strings.Contains(ansi.Strip(m.Render()), "▸ queue compute.compute-003") {
		t.Fatalf("queue row not selected:\n%s", ansi.Strip(m.Render()))
	}
	m = press(m, "enter")
	qd, ok := m.detail().(*queueDetail)
	if !ok || qd.key.Name != "compute.compute-003" || len(m.details) != 2 {
		t.Fatalf("enter did not open the queue: %T, %d deep", m.detail(), len(m.details))
	}
	if len(focused) != 1 || focused[0].Name != "compute.compute-003" {
		t.Fatalf("focus calls %v", focused)
	}
	m = press(m, "esc")
	if m.detail() != d || !d.onQueue {
		t.Fatal("esc did not come back to the service with the cursor on its queue")
	}
	m = press(m, "k")
	if d.onQueue || d.sib.Host != "compute-003" {
		t.Fatalf("k did not go back to the service: %v %v", d.onQueue, d.sib)
	}
}
