package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/sources"
)

// TestHeartbeatFeedDown: while the dashboard's own heartbeat feed fails, a
// silent host reads as unknown, not LOST — otherwise a broker outage that
// cuts the feed paints every host as failed.
func TestHeartbeatFeedDown(t *testing.T) {
	const hostLost = "compute-011" // its last heartbeat was 72s ago in the fixture
	tests := []struct {
		name     string
		feedDown bool
		alarm    bool
		conflict bool
		want     string
		reject   string
	}{
		{"feed healthy: the lost host is LOST", false, false, false, "LOST", "? 1m12s"},
		{"feed down: the same host is unknown", true, false, false, "? 1m12s", "LOST"},
		// A resource alarm blocks every publisher, the agents among them.
		{"broker memory alarm: the same host is unknown", false, true, false, "? 1m12s", "LOST"},
		// Two senders claim the name: its age proves nothing either way.
		{"conflicting heartbeats: CONFLICT", false, false, true, "CONFLICT", "LOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := incident()
			if tt.feedDown {
				snap.Sources[0].LastErr = "heartbeat: connect amqp://rabbit.prod-east:5672: connection refused"
				snap.Sources[0].LastSuccess = ago(40 * time.Second)
				snap.Sources[0].Failures = 4
			}
			// The incident's broker has a memory alarm raised; only the
			// alarm case keeps it.
			withoutAlarms(snap)
			snap.Nodes[0].MemAlarm = tt.alarm
			if h := snap.Canary.History; !tt.alarm && len(h) > 0 && h[len(h)-1].Result == sources.ProbeBlocked {
				t.Fatalf("the fixture's last canary probe is blocked: the no-alarm cases need it answered")
			}
			if tt.conflict {
				for i := range snap.Hosts {
					if snap.Hosts[i].Name == hostLost {
						snap.Hosts[i].Conflicts, snap.Hosts[i].ConflictSeen, snap.Hosts[i].LastSeen = 3, ago(20*time.Second), ago(20*time.Second)
					}
				}
			}
			m := press(newTestModel(snap, 160, 48, true), "/")
			for _, r := range hostLost {
				m = press(m, string(r))
			}
			screen := ansi.Strip(m.Render())
			var row string
			for _, line := range strings.Split(screen, "\n") {
				if strings.Contains(line, hostLost) && strings.Contains(line, "nova-compute") {
					row = line
				}
			}
			if row == "" {
				t.Fatalf("no row for %s on screen:\n%s", hostLost, screen)
			}
			if !strings.Contains(row, tt.want) || strings.Contains(row, tt.reject) {
				t.Errorf("row %q: want %q, not %q", row, tt.want, tt.reject)
			}
		})
	}
}
