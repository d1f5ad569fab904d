// Package sanitize makes strings that came from outside (API responses,
// heartbeat payloads, recordings) safe to draw on a terminal.
//
// Every such string passes Line before it reaches the screen: no ESC, CSI,
// OSC, other C0 or C1 control reaches the terminal; bidirectional overrides
// and invisible format characters are shown as visible markers instead of
// silently reordering or hiding text; the result's display width, counting
// wide characters as two cells, is at most the bound asked for.
package sanitize

import (
	"strings"
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
	default:
		if name, ok := invisible[r]; ok {
			b.WriteString("<" + name + ">")
			return
		}
		if r >= 0xe0000 && r <= 0xe007f { // tag characters hide text
			b.WriteRune(utf8.RuneError)
			return
		}
		b.WriteRune(r)
	}
}

// invisible are the bidirectional controls (Trojan Source, CVE-2021-42574)
// and zero-width characters that would reorder or hide text; they are shown
// by name.
var invisible = map[rune]string{
	0x061c: "ALM", 0x200e: "LRM", 0x200f: "RLM",
	0x202a: "LRE", 0x202b: "RLE", 0x202c: "PDF", 0x202d: "LRO", 0x202e: "RLO",
	0x2066: "LRI", 0x2067: "RLI", 0x2068: "FSI", 0x2069: "PDI",
	0x200b: "ZWSP", 0x2060: "WJ", 0xfeff: "BOM", 0x00ad: "SHY",
	0x2028: "LSEP", 0x2029: "PSEP",
}
