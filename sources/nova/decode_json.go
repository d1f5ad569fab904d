package nova

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/stacktop/stacktop/sources"
)

// decodeJSON decodes an os-services response body straight into
// sources.Service: one pass over the bytes, no intermediate tree, and the
// few values that repeat on every row (binary, zone, status, state) shared
// rather than copied. It accepts what gophercloud's pager accepts (the first
// JSON value of the body; what follows it is ignored) and reports the same
// conditions as decodePage's map path, with the same messages; a body that
// is not valid JSON gets encoding/json's own error.
func decodeJSON(body []byte) ([]sources.Service, error) {
	d := &scanner{b: body, intern: make(map[string]string, 16)}
	out, err := d.document()
	if d.bad {
		return nil, syntaxError(body)
	}
	return out, err
}

// syntaxError is encoding/json's error for a body the scanner rejected, as
// gophercloud's pager would have reported it.
func syntaxError(body []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty response")
		}
		return err
	}
	return errors.New("malformed JSON")
}

// scanner reads one JSON document. bad is set at the first syntax error;
// every method returns quickly once it is.
type scanner struct {
	b      []byte
	i      int
	bad    bool
	depth  int // objects and lists open
	intern map[string]string
}

// maxDepth bounds nesting at encoding/json's own limit (whose error
// syntaxError then reports): a body of a million '[' must not take the
// goroutine's stack to its 1 GB limit and the process down.
const maxDepth = 10000

// enter notes one more level of nesting; it fails past maxDepth.
func (d *scanner) enter() bool {
	d.depth++
	if d.depth > maxDepth {
		d.fail()
		return false
	}
	return true
}

func (d *scanner) fail() { d.bad, d.i = true, len(d.b) }

func (d *scanner) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space, 0 at the end.
func (d *scanner) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// expect consumes c after white space.
func (d *scanner) expect(c byte) {
	if d.peek() != c {
		d.fail()
		return
	}
	d.i++
}

// kindAt names the kind of the value starting at the next byte.
func kindAt(c byte) value {
	switch c {
	case '{', '[':
		return value{kind: c}
	case '"':
		return value{kind: 's'}
	case 't', 'f':
		return value{kind: 'b'}
	case 'n':
		return value{}
	}
	return value{kind: '#'}
}

// document reads {"services": [...], ...}.
func (d *scanner) document() ([]sources.Service, error) {
	c := d.peek()
	if c != '{' {
		v := d.value(false)
		if d.bad {
			return nil, nil
		}
		return nil, fmt.Errorf("unexpected JSON: the response is %s, not an object", v.kindName())
	}
	var list []sources.Service
	var seen value // the last "services" member's kind
	var err error
	d.members(func(key string) {
		if key != "services" {
			d.skip()
			return
		}
		if seen = kindAt(d.peek()); seen.kind != '[' {
			d.skip()
			return
		}
		list, err = d.list()
	})
	switch {
	case d.bad:
		return nil, nil
	case err != nil:
		return nil, err
	case seen.kind == 0:
		return nil, errors.New(`response has no "services" list`)
	case seen.kind != '[':
		return nil, fmt.Errorf(`unexpected JSON: "services" is %s, not a list`, seen.kindName())
	}
	return list, nil
}

// members reads an object, calling member with each key, positioned at its value, which member must consume.
func (d *scanner) members(member func(key string)) {
	d.expect('{')
	if !d.enter() {
		return
	}
	defer func() { d.depth-- }()
	if d.peek() == '}' {
		d.i++
		return
	}
	for !d.bad {
		if d.peek() != '"' {
			d.fail()
			return
		}
		key := d.str(true) // keys repeat on every row
		d.expect(':')
		if d.bad {
			return
		}
		member(key)
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.fail()
		}
	}
}

// list reads the "services" list. After an entry's error it checks the rest for syntax only.
func (d *scanner) list() ([]sources.Service, error) {
	d.expect('[')
	if !d.enter() {
		return nil, nil
	}
	defer func() { d.depth-- }()
	out := make([]sources.Service, 0, d.estimate())
	var first error
	if d.peek() == ']' {
		d.i++
		return out, nil
	}
	for i := 0; !d.bad; i++ {
		if first != nil {
			d.skip()
		} else if c := d.peek(); c != '{' {
			first = fmt.Errorf("service %d is %s, not an object", i, kindAt(c).kindName())
			d.skip()
		} else {
			var f fields
			d.members(func(key string) {
				if p := f.field(key); p != nil {
					*p = d.value(key == "binary" || key == "zone" || key == "status" || key == "state")
				} else {
					d.skip()
				}
			})
			if !d.bad {
				s, err := f.service()
				if err != nil {
					first = f.errorAt(i, err)
				}
				out = append(out, s)
			}
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return out, first
		default:
			d.fail()
		}
	}
	return nil, nil
}

// estimate guesses how many entries the rest of the body holds, to size the list once.
func (d *scanner) estimate() int {
	return min(bytes.Count(d.b[d.i:], []byte(`"host"`)), len(d.b)/16)
}

// value reads any value; strings are interned when shared says they repeat.
func (d *scanner) value(shared bool) value {
	switch c := d.peek(); c {
	case '"':
		return value{'s', d.str(shared)}
	case 'n':
		d.literal("null")
		return value{}
	case 't':
		d.literal("true")
		return value{'b', "true"}
	case 'f':
		d.literal("false")
		return value{'b', "false"}
	case '{', '[':
		start := d.i
		d.skip()
		return value{c, string(d.b[start:d.i])}
	default:
		start := d.i
		d.number()
		return value{'#', string(d.b[start:d.i])}
	}
}

// skip reads any value and forgets it.
func (d *scanner) skip() {
	switch d.peek() {
	case '"':
		d.strEnd()
	case 'n':
		d.literal("null")
	case 't':
		d.literal("true")
	case 'f':
		d.literal("false")
	case '{':
		d.members(func(string) { d.skip() })
	case '[':
		d.i++
		if !d.enter() {
			return
		}
		defer func() { d.depth-- }()
		if d.peek() == ']' {
			d.i++
			return
		}
		for !d.bad {
			d.skip()
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return
			default:
				d.fail()
			}
		}
	default:
		d.number()
	}
}

func (d *scanner) literal(word string) {
	if !bytes.HasPrefix(d.b[d.i:], []byte(word)) {
		d.fail()
		return
	}
	d.i += len(word)
}

// number reads a number as JSON spells it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *scanner) number() {
	b, i := d.b, d.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		d.fail()
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			d.fail()
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			d.fail()
			return
		}
	}
	d.i = i
}

// str reads a string. One without escapes or non-ASCII bytes is sliced out
// as it is (and interned when shared); any other is decoded by encoding/json,
// which knows every escape and replaces invalid UTF-8 as gophercloud's
// parsing would.
func (d *scanner) str(shared bool) string {
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			d.i = j + 1
			raw := d.b[start:j]
			if !shared {
				return string(raw)
			}
			if s, ok := d.intern[string(raw)]; ok {
				return s
			}
			s := string(raw)
			if len(d.intern) < 64 {
				d.intern[s] = s
			}
			return s
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	d.i = start - 1
	tok := d.strEnd()
	var s string
	if d.bad || json.Unmarshal(tok, &s) != nil {
		d.fail()
		return ""
	}
	return s
}

// strEnd consumes a string, checking only where it ends, and returns it with its quotes.
func (d *scanner) strEnd() []byte {
	start := d.i
	for j := start + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.b[start:d.i]
		case c == '\\':
			if j+1 < len(d.b) && d.b[j+1] == 'u' {
				if j+6 > len(d.b) || !isHex4(d.b[j+2:j+6]) {
					d.fail()
					return nil
				}
				j += 5
				continue
			}
			if j+1 >= len(d.b) || !bytes.ContainsRune([]byte(`"\\/bfnrt`), rune(d.b[j+1])) {
				d.fail()
				return nil
			}
			j++
		case c < 0x20:
			d.fail()
			return nil
		}
	}
	d.fail()
	return nil
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
