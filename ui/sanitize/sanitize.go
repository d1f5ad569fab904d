// Package sanitize makes strings that came from outside (API responses,
// heartbeat payloads, recordings) safe to draw on a terminal.
//
// Every such string passes Line before it reaches the screen: no ESC, CSI,
// OSC, other C0 or C1 control reaches the terminal; bidirectional controls,
// format characters and default-ignorable code points (see Hidden) are
// shown as visible markers instead of silently reordering or hiding text; the result's display width, counting
// wide characters as two cells, is at most the bound asked for.
package sanitize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Ellipsis marks a string cut to fit its width.
const Ellipsis = "…"

// MaxInput is the most bytes of one string that are ever looked at; the rest
// is cut before any work is done, so a hostile megabyte costs nothing.
const MaxInput = 4096

// Line returns s made safe for one terminal line and at most maxWidth cells
// wide (no limit when maxWidth <= 0, beyond MaxInput). Printable ASCII that
// already fits is returned as it is, without allocating.
func Line(s string, maxWidth int) string {
	if plainASCII(s) && (maxWidth <= 0 || len(s) <= maxWidth) && len(s) <= MaxInput {
		return s
	}
	cut := false
	if len(s) > MaxInput {
		s, cut = s[:MaxInput], true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 {
			b.WriteRune(utf8.RuneError) // invalid UTF-8
			continue
		}
		writeRune(&b, r)
	}
	out := b.String()
	if maxWidth > 0 && (cut || ansi.StringWidth(out) > maxWidth) {
		// out holds no escape sequences any more, so ansi.Truncate only
		// measures grapheme clusters and never cuts one in half.
		out = ansi.Truncate(out, maxWidth, Ellipsis)
	} else if cut {
		out += Ellipsis
	}
	return out
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// writeRune writes r, or a visible stand-in for it when it is a control or
// an invisible character that could change how the line reads.
//
// The rule is the Unicode properties, not a list: controls (Cc) become
// control pictures or U+FFFD; format characters (Cf: bidi controls, zero
// width joiners and spaces, invisible operators, interlinear annotation,
// tags), Default_Ignorable_Code_Point (variation selectors, Hangul fillers,
// the combining grapheme joiner, reserved ignorables), Bidi_Control and the
// line and paragraph separators (Zl, Zp) are shown by name, <RLO>, or by
// code point, <U+200C>. Noncharacters and surrogates become U+FFFD. So two
// strings that draw the same have the same visible characters.
func writeRune(b *strings.Builder, r rune) {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
		b.WriteByte(' ') // one line: layout whitespace becomes a space
	case r < 0x20:
		b.WriteRune(0x2400 + r) // control pictures: ESC shows as ␛
	case r == 0x7f:
		b.WriteRune('␡')
	case r >= 0x80 && r <= 0x9f: // C1 controls, including the 8-bit CSI and OSC
		b.WriteRune(utf8.RuneError)
	case r < 0xa0:
		b.WriteRune(r)
	case isNoncharacter(r):
		b.WriteRune(utf8.RuneError)
	case Hidden(r):
		if name, ok := names[r]; ok {
			b.WriteString("<" + name + ">")
			return
		}
		fmt.Fprintf(b, "<U+%04X>", r)
	default:
		b.WriteRune(r)
	}
}

// Hidden reports whether r draws nothing, or changes how the text around
// it is drawn, without being seen: a control, a format character, a
// default-ignorable code point, a bidi control, a line or paragraph
// separator. Line shows such runes as visible markers; input fields drop them.
func Hidden(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
		unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || unicode.Is(unicode.Join_Control, r)
}

// isNoncharacter: U+FDD0..U+FDEF and the last two code points of every plane.
func isNoncharacter(r rune) bool {
	return r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe
}

// names are the short names of the hidden characters most often met, the
// bidirectional controls of Trojan Source (CVE-2021-42574) first; the rest
// show as <U+XXXX>.
var names = map[rune]string{
	0x061c: "ALM", 0x200e: "LRM", 0x200f: "RLM",
	0x202a: "LRE", 0x202b: "RLE", 0x202c: "PDF", 0x202d: "LRO", 0x202e: "RLO",
	0x2066: "LRI", 0x2067: "RLI", 0x2068: "FSI", 0x2069: "PDI",
	0x200b: "ZWSP", 0x200c: "ZWNJ", 0x200d: "ZWJ", 0x2060: "WJ", 0xfeff: "BOM", 0x00ad: "SHY",
	0x2028: "LSEP", 0x2029: "PSEP", 0x034f: "CGJ", 0x180e: "MVS",
}

// Input returns what the user typed or pasted into a field without the
// runes Line would have to mark (controls, hidden characters, see Hidden)
// and noncharacters: in a field they are dropped, not shown.
func Input(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || Hidden(r) || isNoncharacter(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || Hidden(r) || isNoncharacter(r) {
			return -1
		}
		return r
	}, s)
}
