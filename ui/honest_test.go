package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
)

// TestHonestServiceColumns: with NO_COLOR a late Nova report still reads
// late ("!"), the flap percentage shows only on a flapping service (↯),
// and since says what is known: the change stacktop saw, at most since the
// process started (≤), at least since stacktop first listed it (≥).
func TestHonestServiceColumns(t *testing.T) {
	s := incident()
	s.Services[0].FlapPercent = 12 // compute-001: not flapping
	m := newTestModel(s, 160, 48, true)
	got := m.Render()
	if got != ansi.Strip(got) {
		t.Fatal("escape codes with NO_COLOR")
	}
	checkGolden(t, "services-nocolor_160x48", got)
	checkFrame(t, got, 160, 48)
	row := func(host string) string {
		for _, l := range strings.Split(got, "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, "▸ "), host+" ") {
				return l
			}
		}
		t.Fatalf("no row for %s", host)
		return ""
	}
	for _, tt := range []struct{ host, want, not string }{
		{"compute-007", "!1m15s", ""},                 // late report, no colour
		{"compute-002", " 3s ", "!"},                  // a fresh report is not marked
		{"compute-001", "≤3h00m", "12%"},              // up since its process started at most; not flapping: no percentage
		{"compute-003", "↯33%   7m57s", ""},           // flapping; the change seen
		{"ctl-1       nova-conductor", "≥58m00s", ""}, // nothing known: at least since stacktop first listed it
	} {
		r := row(tt.host)
		if !strings.Contains(r, tt.want) || tt.not != "" && strings.Contains(r, tt.not) {
			t.Errorf("%s row %q: want %q, not %q", tt.host, r, tt.want, tt.not)
		}
	}
}

// TestQueuesPaneEmpty: an empty queues pane says why. Before any queue list
// (the first poll sends the broker's nodes ahead of its queues) it is "no
// queue list yet", not an empty broker; a broker that lists none says so.
func TestQueuesPaneEmpty(t *testing.T) {
	for _, tt := range []struct {
		name string
		read bool
		want string
	}{{"not listed yet", false, "no queue list yet"}, {"listed, none", true, "the broker lists no queues"}} {
		s := incident()
		s.Queues = nil
		s.Read.Queues = state.Reading{}
		if tt.read {
			s.Read.Queues = state.Reading{Source: "rabbitmq", At: ago(2 * time.Second)}
		}
		m := press(newTestModel(s, 100, 30, true), "2")
		if got := ansi.Strip(m.Render()); !strings.Contains(got, tt.want) {
			t.Errorf("%s: the queues pane lacks %q:\n%s", tt.name, tt.want, got)
		}
	}
}
