package sanitize

import (
	"strings"
	"testing"
	"unicode"
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
		{"tag characters hidden text shown", "a\U000E0041b", 0, "a<U+E0041>b"},
		{"zero width non-joiner shown", "compute\u200c-01", 0, "compute<ZWNJ>-01"},
		{"invisible operators shown", "a\u2061\u2062\u2063\u2064b", 0, "a<U+2061><U+2062><U+2063><U+2064>b"},
		{"deprecated format characters shown", "a\u206a\u206fb", 0, "a<U+206A><U+206F>b"},
		{"mongolian vowel separator shown", "a\u180eb", 0, "a<MVS>b"},
		{"combining grapheme joiner shown", "a\u034fb", 0, "a<CGJ>b"},
		{"interlinear annotation shown", "a\ufff9x\ufffay\ufffbb", 0, "a<U+FFF9>x<U+FFFA>y<U+FFFB>b"},
		{"variation selectors shown", "a\ufe0f\U000E0100b", 0, "a<U+FE0F><U+E0100>b"},
		{"hangul fillers shown", "a\u115f\u1160\u3164\uffa0b", 0, "a<U+115F><U+1160><U+3164><U+FFA0>b"},
		{"reserved default ignorable shown", "a\u2065b", 0, "a<U+2065>b"},
		{"noncharacter replaced", "a\ufffeb\ufdd0", 0, "a\ufffdb\ufffd"},
		{"visible non-ASCII kept", "nœud-é-計算", 0, "nœud-é-計算"},
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
	for _, s := range []string{"ok", "\x1b[31m", "\x1b]8;;http://x\x1b\\", "\u202e", "計算", "\xc2\x9b", "a\x00b",
		"compute\u200c-01", "\u2061\u206a\u180e\u034f\ufff9\ufe0f\u3164\U000E0041", "\U000E0100\u115f\ufeff"} {
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
			if Hidden(r) || isNoncharacter(r) {
				t.Fatalf("Line(%q) = %q still holds invisible %U", s, got, r)
			}
		}
		if width > 0 && ansi.StringWidth(got) > width {
			t.Fatalf("Line(%q, %d) is %d cells wide", s, width, ansi.StringWidth(got))
		}
	})
}

// Issue 11: nine hosts named compute-01 with a different invisible
// character each must not read the same: every one stays distinct on
// screen, and only the real one reads "compute-01".
func TestLookalikesStayDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, hidden := range []string{"", "\u200c", "\u2061", "\u206a", "\u180e", "\u034f", "\ufff9", "\ufe0f", "\u3164", "\U000E0041", "\u202e", "\u2065"} {
		name := "compute-0" + hidden + "1"
		got := Line(name, 0)
		if prev, dup := seen[got]; dup {
			t.Errorf("%q and %q both show as %q", prev, name, got)
		}
		seen[got] = name
		if hidden != "" && got == "compute-01" {
			t.Errorf("%q shows as compute-01", name)
		}
	}
}

// Hidden is the Unicode property, so it covers what no list named.
func TestHiddenCoversTheProperties(t *testing.T) {
	for _, tab := range []*unicode.RangeTable{unicode.Cf, unicode.Bidi_Control, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector} {
		for _, r16 := range tab.R16 {
			for r := rune(r16.Lo); r <= rune(r16.Hi); r += rune(r16.Stride) {
				if !Hidden(r) || strings.ContainsRune(Line(string(r), 0), r) {
					t.Fatalf("%U passes Line", r)
				}
			}
		}
		for _, r32 := range tab.R32 {
			for r := rune(r32.Lo); r <= rune(r32.Hi); r += rune(r32.Stride) {
				if !Hidden(r) || strings.ContainsRune(Line(string(r), 0), r) {
					t.Fatalf("%U passes Line", r)
				}
			}
		}
	}
}
