package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		width int
		want  string
	}{
		{"plain ascii unchanged", "compute-01", 20, "compute-01"},
		{"ascii cut with ellipsis", "compute-0123456789", 10, "compute-0…"},
		{"CSI colour neutralised", "\x1b[31mred\x1b[0m", 0, "␛[31mred␛[0m"},
		{"OSC title neutralised", "\x1b]0;pwned\x07", 0, "␛]0;pwned␇"},
		{"8-bit CSI neutralised", "a\u009b2Jb", 0, "a\ufffd2Jb"},
		{"newline becomes space", "line1\nline2\r", 0, "line1 line2 "},
		{"bidi override shown", "abc\u202edcba", 0, "abc<RLO>dcba"},
		{"zero width space shown", "ad\u200bmin", 0, "ad<ZWSP>min"},
		{"invalid utf8 replaced", "a\xffb", 0, "a\ufffdb"},
		{"wide characters counted as two cells", "計算ノード", 7, "計算ノ…"},
		{"combining marks kept whole", "cafe\u0301s", 4, "caf…"},
		{"DEL shown", "a\x7fb", 0, "a␡b"},
		{"tag characters hidden text replaced", "a\U000E0041b", 0, "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Line(tt.in, tt.width)
			if got != tt.want {
				t.Errorf("Line(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
			}
			if tt.width > 0 && ansi.StringWidth(got) > tt.width {
				t.Errorf("Line(%q, %d) is %d cells wide", tt.in, tt.width, ansi.StringWidth(got))
			}
		})
	}
}

func TestLineBoundsHugeInput(t *testing.T) {
	huge := strings.Repeat("\x1b[2J", 1<<20)
	got := Line(huge, 0)
	if len(got) > 4*MaxInput {
		t.Errorf("Line of a 4 MiB string returned %d bytes", len(got))
	}
	if !strings.HasSuffix(got, Ellipsis) {
		t.Errorf("cut input does not end with %q", Ellipsis)
	}
}

func TestLinePlainASCIIDoesNotAllocate(t *testing.T) {
	s := "nova-compute"
	if n := testing.AllocsPerRun(100, func() { _ = Line(s, 40) }); n != 0 {
		t.Errorf("Line on plain ASCII allocates %v times", n)
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"ok", "\x1b[31m", "\x1b]8;;http://x\x1b\\", "\u202e", "計算", "\xc2\x9b", "a\x00b"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, width int) {
		width %= 300
		got := Line(s, width)
		if !utf8.ValidString(got) {
			t.Fatalf("Line(%q) = %q is not valid UTF-8", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("Line(%q) = %q still holds control %U", s, got, r)
			}
			if _, bad := invisible[r]; bad {
				t.Fatalf("Line(%q) = %q still holds invisible %U", s, got, r)
			}
		}
		if width > 0 && ansi.StringWidth(got) > width {
			t.Fatalf("Line(%q, %d) is %d cells wide", s, width, ansi.StringWidth(got))
		}
	})
}
