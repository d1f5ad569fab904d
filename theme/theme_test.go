package theme

import (
	"strings"
	"testing"
)

func TestNoColorHasNoEscapes(t *testing.T) {
	for _, dark := range []bool{true, false} {
		s := New(dark, true)
		var b strings.Builder
		for _, ink := range []Ink{s.Status.Up, s.Status.Down, s.Table.Selected, s.Header.Paused, s.Header.Replay, s.Header.Ended} {
			ink.Paint(&b, "x")
		}
		if strings.ContainsRune(b.String(), 0x1b) {
			t.Fatalf("dark=%v: escape in no-colour output %q", dark, b.String())
		}
		if s.Help.Key.Render("k") != "k" {
			t.Fatalf("help key style not plain")
		}
	}
}

func TestColourInks(t *testing.T) {
	tests := []struct {
		name string
		dark bool
	}{{"dark", true}, {"light", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.dark, false)
			var b strings.Builder
			s.Status.Down.Paint(&b, "down")
			out := b.String()
			if !strings.Contains(out, "down") || !strings.ContainsRune(out, 0x1b) {
				t.Fatalf("coloured ink %q", out)
			}
			if New(true, false).Status.Up == New(false, false).Status.Up {
				t.Fatalf("light and dark palettes are the same")
			}
		})
	}
}
