package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// A startup notice (a config file others can read) shows in the header for
// the whole run, sanitised, without changing the header's height.
func TestHeaderShowsNotices(t *testing.T) {
	notice := "/etc/stacktop/config.yaml holds a secret and is readable by others (mode 0644); run chmod go-r /etc/stacktop/config.yaml\x1b]0;x\x07"
	for _, w := range []int{100, 160, 250} { // narrower, the status lines are full: stderr said it before the screen opened
		plain := newTestModel(incident(), w, 40, true)
		m := update(New(Options{Initial: incident(), Now: func() time.Time { return fixedNow }, NoColor: true, Cloud: "prod-east",
			Notices: []string{notice, "second"}}), tea.WindowSizeMsg{Width: w, Height: 40})
		head := ansi.Strip(m.header())
		if !strings.Contains(head, "⚠ (2 warnings) /etc/stacktop/") || strings.ContainsAny(head, "\x1b\x07") {
			t.Errorf("width %d: header lacks the notice, or holds escapes:\n%s", w, head)
		}
		if got, want := strings.Count(head, "\n"), strings.Count(plain.header(), "\n"); got != want {
			t.Errorf("width %d: header %d lines with a notice, %d without", w, got+1, want+1)
		}
	}
}
