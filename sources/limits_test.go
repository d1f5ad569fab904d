package sources

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"short", "compute-01", 10, "compute-01"},
		{"cut", strings.Repeat("a", 20), 10, "aaaaaaa…"},
		{"rune boundary", "ééééé", 8, "éé…"}, // 5 bytes for text: é é and half of the third
		{"invalid UTF-8 dropped", "a\xffb\xfecdefghij", 9, "abcd…"},
	}
	for _, tt := range tests {
		got, cut := Clip(tt.in, tt.max)
		if got != tt.want || cut != (tt.in != tt.want) {
			t.Errorf("%s: Clip(%q, %d) = %q, %v; want %q", tt.name, tt.in, tt.max, got, cut, tt.want)
		}
		if len(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("%s: %q is longer than %d or not UTF-8", tt.name, got, tt.max)
		}
	}
}

func TestBound(t *testing.T) {
	if got := Bound("short", 10); got != "short" {
		t.Errorf("Bound(short) = %q", got)
	}
	long := strings.Repeat("é", 1000)
	got := Bound(long, MaxName)
	b := Batch{Queues: []Queue{{Name: got}}}
	if len(got) != MaxName+1 || b.Clip() != 1 || len(b.Queues[0].Name) > MaxName || !utf8.ValidString(b.Queues[0].Name) {
		t.Errorf("Bound kept %d bytes; clipped to %q", len(got), b.Queues[0].Name)
	}
}

func TestBatchClip(t *testing.T) {
	long := strings.Repeat("h", 300<<10)
	b := Batch{
		Services:   []Service{{Host: long, Binary: "nova-compute"}, {Host: "ok", DisabledReason: long}},
		Overview:   &Overview{ClusterName: long},
		Nodes:      []Node{{Name: "rabbit@a", Partitions: []string{long}}},
		Queues:     []Queue{{VHost: long, Name: long}},
		Heartbeats: []Heartbeat{{Host: "h", Processes: []Process{{Name: long}}}},
		Probes:     []Probe{{Detail: long}},
	}
	if n := b.Clip(); n != 8 {
		t.Errorf("Clip() = %d, want 8", n)
	}
	for _, s := range []string{b.Services[0].Host, b.Services[1].DisabledReason, b.Overview.ClusterName,
		b.Nodes[0].Partitions[0], b.Queues[0].VHost, b.Queues[0].Name, b.Heartbeats[0].Processes[0].Name} {
		if len(s) != MaxName {
			t.Errorf("a string of %d bytes, want %d", len(s), MaxName)
		}
	}
	if len(b.Probes[0].Detail) != MaxText {
		t.Errorf("probe detail of %d bytes", len(b.Probes[0].Detail))
	}
	if b.Services[0].Binary != "nova-compute" || b.Clip() != 0 {
		t.Error("a short string changed, or clipping twice cut again")
	}
}
