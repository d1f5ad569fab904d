package demo

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// field is one member of an ordered JSON object.
type field struct {
	k string
	v any
}

// obj is a JSON object that keeps its members' order and can be projected
// onto RabbitMQ's columns= paths cheaply.
type obj []field

// MarshalJSON encodes o with its members in order.
func (o obj) MarshalJSON() ([]byte, error) { return appendJSON(nil, o), nil }

// rate is RabbitMQ's {"rate": x} details object.
func rate(x float64) obj { return obj{{"rate", round1(x)}} }

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// appendJSON appends v's JSON encoding to b. It handles the types the
// simulator builds and falls back to encoding/json for anything else.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case obj:
		b = append(b, '{')
		for i, f := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.k)
			b = append(b, ':')
			b = appendJSON(b, f.v)
		}
		return append(b, '}')
	case []obj:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, '0')
		}
		if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
			return strconv.AppendFloat(b, v, 'e', -1, 64)
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case json.RawMessage:
		return append(b, v...)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// columns is a parsed columns= parameter: dotted paths of the members to keep.
type columns [][]string

func parseColumns(q string) columns {
	if q == "" {
		return nil
	}
	var cs columns
	for _, c := range strings.Split(q, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cs = append(cs, strings.Split(c, "."))
		}
	}
	return cs
}

// wants reports whether the top-level member k is needed.
func (cs columns) wants(k string) bool {
	if cs == nil {
		return true
	}
	for _, p := range cs {
		if p[0] == k {
			return true
		}
	}
	return false
}

// project keeps only the members of o on the paths cs, as RabbitMQ does.
func (cs columns) project(o obj) obj {
	if cs == nil {
		return o
	}
	out := make(obj, 0, len(cs))
	for _, f := range o {
		var sub columns
		whole := false
		for _, p := range cs {
			if p[0] != f.k {
				continue
			}
			if len(p) == 1 {
				whole = true
				break
			}
			sub = append(sub, p[1:])
		}
		switch {
		case whole:
			out = append(out, f)
		case sub != nil:
			if inner, ok := f.v.(obj); ok {
				out = append(out, field{f.k, sub.project(inner)})
			}
		}
	}
	return out
}

// writeJSON answers with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	switch v := v.(type) {
	case obj, []obj:
		body = appendJSON(make([]byte, 0, 4096), v)
	default:
		var err error
		if body, err = json.Marshal(v); err != nil {
			http.Error(w, "demo: encode: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
