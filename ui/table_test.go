package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stacktop/stacktop/state"
)

func TestLayoutColumns(t *testing.T) {
	cols := func() []column {
		return []column{
			{title: "name", width: 8, fit: true, max: 30},
			{title: "n", width: 3, right: true},
			{title: "opt", width: 6, drop: 2},
			{title: "extra", width: 5, grow: 1},
			{title: "late", width: 4, drop: 1},
		}
	}
	tests := []struct {
		name    string
		total   int
		content int
		want    []int
	}{
		{"content narrower than the least", 60, 3, []int{4, 3, 6, 37, 4}},
		{"fit grows to content", 60, 20, []int{20, 3, 6, 21, 4}},
		{"fit stops at max", 80, 50, []int{30, 3, 6, 31, 4}},
		{"short of room: the rest first, fit gets the spare", 36, 20, []int{12, 3, 6, 5, 4}},
		{"drop the highest drop first", 30, 20, []int{13, 3, 0, 5, 4}},
		{"then the next", 24, 20, []int{12, 3, 0, 5, 0}},
		{"then from the right", 14, 20, []int{8, 3, 0, 0, 0}},
		{"the first column stays", 4, 20, []int{8, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := cols()
			cs[0].content = tt.content
			got := layoutColumns(cs, tt.total, nil)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("widths %v, want %v", got, tt.want)
			}
			used := -1
			for _, w := range got {
				if w > 0 {
					used += w + 1
				}
			}
			if used > tt.total-markerWidth && got[1] > 0 {
				t.Fatalf("%d cells used of %d", used, tt.total-markerWidth)
			}
			if again := layoutColumns(cs, tt.total, got); testing.AllocsPerRun(10, func() { again = layoutColumns(cs, tt.total, again) }) != 0 {
				t.Fatal("layoutColumns allocates with a big enough slice")
			}
		})
	}
}

// TestColumnsFitContent: host and queue columns are as wide as what they
// list, long names are cut with the sanitiser's ellipsis, and the spare
// width goes to the rpc age, the trend and the evidence.
func TestColumnsFitContent(t *testing.T) {
	const long = "compute-001.rack-12.prod-east.example.net" // 41 cells
	longHost := func() *state.Snapshot {
		s := incident()
		s.Services[0].Key.Host = long
		s.Hosts[0].Name = long
		return s
	}
	noPings := func() *state.Snapshot {
		s := incident()
		for i := range s.Services {
			s.Services[i].RPC, s.Services[i].RPCHistory = nil, nil
		}
		return s
	}
	tests := []struct {
		name   string
		snap   *state.Snapshot
		width  int
		keys   []string
		widths []int  // of the active pane's columns
		row    string // a row that must appear
	}{
		// host binary status flap since report heartbeat rpc
		{"services at 160", incident(), 160, nil, []int{11, 14, 10, 5, 7, 7, 10, 20}, "▸ compute-001 nova-compute   ● up              ≤3h00m      2s 2s         ok 9ms 20s ago"},
		{"services at 80 give up since first", incident(), 80, nil, []int{11, 14, 10, 5, 0, 7, 10, 15}, "▸ compute-001 nova-compute   ● up                  2s 2s         ok 9ms"},
		{"services at 80 without RPC pings keep since", noPings(), 80, nil, []int{11, 14, 10, 5, 7, 7, 10, 7}, "▸ compute-001 nova-compute   ● up              ≤3h00m      2s 2s"},
		{"filtered rows narrow the host column", incident(), 160, []string{"/", "c", "t", "l", "enter"}, []int{5, 14, 10, 5, 7, 7, 10, 20}, "▸ ctl-1 nova-conductor"},
		{"long host at 160 is cut at 40", longHost(), 160, nil, []int{40, 14, 10, 5, 7, 7, 10, 20}, "▸ " + long[:39] + "… nova-compute"},
		{"long host at 80 keeps binary whole, drops since", longHost(), 80, nil, []int{17, 14, 10, 5, 0, 7, 10, 9}, "▸ " + long[:16] + "… nova-compute"},
		// vhost queue messages grow/min unacked cons trend
		{"queue names fit, the trend shows all 30 samples", incident(), 160, []string{"2"}, []int{5, 38, 8, 8, 7, 4, 30}, "▸ /     reply_5d2f9c0e8a6b4e1f9d3c7a2b1e0f4d6c "},
		{"queue names cut at 80", incident(), 80, []string{"2"}, []int{5, 28, 8, 8, 7, 4, 12}, "▸ /     reply_5d2f9c0e8a6b4e1f9d3c7… "},
		// time ago kind where what evidence
		{"the timeline shares out what is left", incident(), 160, []string{"3"}, []int{8, 6, 9, 14, 58, 58}, "rabbit@ctl-2   restarted "},
		{"the timeline at 250 names more hosts", incident(), 250, []string{"3"}, []int{8, 6, 9, 57, 76, 87}, "compute-003, compute-007, compute-011, compute-015 +2"},
		{"the timeline at 80 gives the evidence room", incident(), 80, []string{"3"}, []int{8, 6, 9, 14, 18, 18}, "compute-003 +5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := press(newTestModel(tt.snap, tt.width, 40, true), tt.keys...)
			out := m.Render()
			var got []int
			switch p := m.tabs[m.active].(type) {
			case *servicesPane:
				got = p.widths
			case *queuesPane:
				got = p.widths
			case *timelinePane:
				got = p.widths
			}
			if !slices.Equal(got, tt.widths) {
				t.Errorf("widths %v, want %v", got, tt.widths)
			}
			if !strings.Contains(out, tt.row) {
				t.Errorf("no %q in\n%s", tt.row, out)
			}
			checkFrame(t, ansi.Strip(out), tt.width, 40)
		})
	}
}
