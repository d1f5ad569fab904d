package rabbitmq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/stacktop/stacktop/sources"
)

// parseDetailedQueues parses /metrics/detailed with the queue_coarse_metrics
// and queue_consumer_count families into x's current poll (queueIndex:
// begin, a parse per node, end). Values absent are -1.
//
// It reads the response once, as a stream, and parses only the lines of
// the three families used (detailedFamilies), in place, into the queues:
// no sample, label or family objects, one string per queue new to the
// index. The grammar read is the classic text format (0.0.4) as expfmt's
// TextToMetricFamilies reads it, for those lines: HELP and TYPE lines
// (their escapes checked, a second one an error), comments, blank lines,
// label values with \\, \" and \n escapes and valid UTF-8, NaN and ±Inf
// (kept as unknown), optional integer timestamps (ignored), duplicate
// series (the larger value kept, as for a queue two nodes report). A
// difference is always an error, never a reading expfmt would not make:
// quoted (UTF-8) label names and summary or histogram types, which
// RabbitMQ never writes, are refused as unsupported. The differential test
// and fuzz target hold both.
//
// Memory is the queues kept plus a 64 KiB read buffer and one line: a line
// longer than maxPromLine, or a family of more than MaxQueues samples, is
// an error. Every parse error names its line; a read error (the response
// size limit, a broken connection) is returned as it is.
func parseDetailedQueues(r io.Reader, x *queueIndex) error {
	p := detailedParser{x: x}
	return p.read(r)
}

// maxPromLine is the longest line of prometheus text read: a sample line is
// a few hundred bytes even with 255-byte queue and vhost names.
const maxPromLine = 1 << 20

// detailedParser is the state of one parseDetailedQueues.
type detailedParser struct {
	x      *queueIndex
	last   *vhostQueues // the vhost of the last sample
	fams   [3]famState  // by index in detailedFamilies
	line   int          // number of the line being parsed, from 1
	labels [][]byte     // names of the current line's labels, for the duplicate check
	vbuf   []byte       // the vhost label, unescaped
	qbuf   []byte       // the queue label, unescaped
}

// famState is what has been read of one family.
type famState struct {
	help, typed bool // a HELP line; a TYPE line or a sample (which fixes the type)
	samples     int
	next        int // in the index's list: the queue this family's next sample is probably about
}

// read reads r line by line and parses the lines of the families used.
func (p *detailedParser) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(line) > maxPromLine {
				return fmt.Errorf("parse prometheus text: line %d is longer than %d MiB", p.line+1, maxPromLine>>20)
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			if len(long)+len(line) > maxPromLine {
				return fmt.Errorf("parse prometheus text: line %d is longer than %d MiB", p.line+1, maxPromLine>>20)
			}
			line = append(long, line...)
			long = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err // a read error (the size limit, a broken connection) says more than the line it cut
		}
		if len(line) > 0 {
			p.line++
			if perr := p.parseLine(line); perr != nil {
				return perr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// parseLine parses one line, its newline included when it has one.
func (p *detailedParser) parseLine(line []byte) error {
	f, comment, rest := lineFamily(line)
	if f < 0 {
		return nil
	}
	if line[len(line)-1] != '\n' {
		return fmt.Errorf("parse prometheus text: ends early (response truncated?): line %d has no end", p.line)
	}
	rest = rest[:len(rest)-1] // the end of rest is the end of the line
	if comment != 0 {
		return p.parseComment(f, comment, rest)
	}
	return p.parseSample(f, rest)
}

// lineFamily is the index in detailedFamilies of the family a line is
// about (as familyOf says) or -1; for a # HELP or # TYPE line, comment is
// 'H' or 'T'. rest is the line after the family's name.
func lineFamily(line []byte) (f int, comment byte, rest []byte) {
	// Most lines are samples at the start of the line: a prefix compare
	// decides them without scanning the name.
	if len(line) > 0 && line[0] != '#' && !isBlank(line[0]) {
		for i, fam := range detailedFamilies {
			if bytes.HasPrefix(line, []byte(fam)) {
				if n := len(fam); n == len(line) || isNameEnd(line[n]) {
					return i, 0, line[n:]
				}
			}
		}
		return -1, 0, nil
	}
	start, end, comment := familySpan(line)
	if start == end {
		return -1, 0, nil
	}
	switch string(line[start:end]) {
	case famReady:
		f = 0
	case famUnacked:
		f = 1
	case famConsumers:
		f = 2
	default:
		return -1, 0, nil
	}
	return f, comment, line[end:]
}

// familyOf is the metric name a text-format line is about: the sample's
// name, or the name a # HELP or # TYPE comment describes; nil otherwise.
func familyOf(line []byte) []byte {
	if start, end, _ := familySpan(line); start < end {
		return line[start:end]
	}
	return nil
}

// familySpan is where in line familyOf's name is, start == end when none;
// comment is 'H' or 'T' for a # HELP or # TYPE line, 0 for a sample's.
func familySpan(line []byte) (start, end int, comment byte) {
	for start < len(line) && isBlank(line[start]) {
		start++
	}
	if start < len(line) && line[start] == '#' {
		kw := line[start+1:]
		if !bytes.HasPrefix(kw, []byte(" HELP ")) && !bytes.HasPrefix(kw, []byte(" TYPE ")) {
			return 0, 0, 0
		}
		comment = kw[1]
		start += 7
	}
	end = start
	for end < len(line) {
		if isNameEnd(line[end]) {
			break
		}
		end++
	}
	return start, end, comment
}

// errorf is a parse error at the current line.
func (p *detailedParser) errorf(format string, args ...any) error {
	return fmt.Errorf("parse prometheus text: line %d: %s", p.line, fmt.Sprintf(format, args...))
}

// unsupported is a parse error for what the classic format allows and
// RabbitMQ never writes.
func (p *detailedParser) unsupported(what string) error {
	return p.errorf("unsupported in the queue families: %s", what)
}

// parseComment parses a # HELP or # TYPE line of family f; rest follows the name.
func (p *detailedParser) parseComment(f int, kind byte, rest []byte) error {
	fam := &p.fams[f]
	if len(rest) == 0 {
		return nil // "# HELP name" alone says nothing
	}
	if !isBlank(rest[0]) {
		return p.errorf("invalid metric name in comment")
	}
	rest = skipBlank(rest)
	if len(rest) == 0 {
		return nil
	}
	if kind == 'H' {
		if fam.help {
			return p.errorf("second HELP line for metric name %q", detailedFamilies[f])
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] != '\\' {
				continue
			}
			if i++; i == len(rest) {
				return p.errorf("invalid escape sequence '\\\\n' in HELP")
			}
			if c := rest[i]; c != '\\' && c != 'n' && c != '"' {
				return p.errorf("invalid escape sequence '\\%c' in HELP", c)
			}
		}
		fam.help = true
		return nil
	}
	if fam.typed {
		return p.errorf("second TYPE line for metric name %q, or TYPE reported after samples", detailedFamilies[f])
	}
	switch t := string(bytes.ToUpper(rest)); t {
	case "GAUGE", "COUNTER", "UNTYPED":
	case "SUMMARY", "HISTOGRAM", "GAUGE_HISTOGRAM", "GAUGEHISTOGRAM":
		return p.unsupported("type " + t)
	default:
		return p.errorf("unknown metric type %q", rest)
	}
	fam.typed = true
	return nil
}

// parseSample parses a sample line of family f; s follows the name.
func (p *detailedParser) parseSample(f int, s []byte) error {
	fam := &p.fams[f]
	fam.typed = true // a sample fixes an untyped family's type
	if fam.samples++; fam.samples > maxQueues {
		return fmt.Errorf("parse prometheus text: line %d: %w: %s has more than %d samples", p.line, ErrTooMany, detailedFamilies[f], maxQueues)
	}
	s = skipBlank(s)
	var vhost, queue []byte
	if len(s) > 0 && s[0] == '{' {
		var err error
		if s, vhost, queue, err = p.parseLabels(s[1:]); err != nil {
			return err
		}
	}
	// The value, then an optional timestamp.
	end := 0
	for end < len(s) && !isBlank(s[end]) {
		end++
	}
	v, err := parseValue(s[:end])
	if err != nil {
		return p.errorf("expected float as value, got %q", s[:end])
	}
	if s = s[end:]; len(s) > 0 {
		s = skipBlank(s)
		end = 0
		for end < len(s) && !isBlank(s[end]) {
			end++
		}
		if _, err := strconv.ParseInt(string(s[:end]), 10, 64); err != nil {
			return p.errorf("expected integer as timestamp, got %q", s[:end])
		}
		if end < len(s) {
			return p.errorf("spurious string after timestamp: %q", s[end:])
		}
	}
	q, err := p.queue(f, vhost, queue)
	if err != nil {
		return err
	}
	if q == nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	// A queue seen by two nodes (a replica reporting too) keeps the larger
	// value: in an incident, the backlog is what matters.
	switch f {
	case 0:
		q.Ready = max(q.Ready, int64(v))
	case 1:
		q.Unacked = max(q.Unacked, int64(v))
	case 2:
		q.Consumers = max(q.Consumers, int(v))
	}
	return nil
}

// parseLabels parses a label set after its '{' and returns what follows
// the '}' (blanks skipped) and the vhost and queue labels' values.
func (p *detailedParser) parseLabels(s []byte) (rest, vhost, queue []byte, err error) {
	p.labels = p.labels[:0]
	for {
		s = skipBlank(s)
		if len(s) == 0 {
			return nil, nil, nil, p.errorf("invalid label name: the line ends in its labels")
		}
		if s[0] == '}' {
			return skipBlank(s[1:]), vhost, queue, nil
		}
		if s[0] == '"' {
			return nil, nil, nil, p.unsupported("a quoted label name")
		}
		if !isLabelStart(s[0]) {
			return nil, nil, nil, p.errorf("invalid label name starting %q", s[0])
		}
		n := 1
		for n < len(s) && (isLabelStart(s[n]) || s[n] >= '0' && s[n] <= '9') {
			n++
		}
		name := s[:n]
		if s = s[n:]; len(s) > 0 && s[0] == '"' {
			return nil, nil, nil, p.unsupported("a quoted label name")
		}
		if s = skipBlank(s); len(s) == 0 || s[0] != '=' {
			return nil, nil, nil, p.errorf("expected '=' after label name %q", name)
		}
		if string(name) == "__name__" {
			return nil, nil, nil, p.errorf("label name %q is reserved", name)
		}
		if err := p.addLabel(name); err != nil {
			return nil, nil, nil, err
		}
		if s = skipBlank(s[1:]); len(s) == 0 || s[0] != '"' {
			return nil, nil, nil, p.errorf("expected '\"' at start of the value of label %q", name)
		}
		s = s[1:]
		// Most values have no escape: the closing quote is the first one.
		n, escaped := bytes.IndexByte(s, '"'), false
		if n < 0 || bytes.IndexByte(s[:n], '\\') >= 0 {
			n = 0
		}
		for ; n < len(s) && s[n] != '"'; n++ {
			if s[n] != '\\' {
				continue
			}
			escaped = true
			if n++; n == len(s) {
				break
			}
			if c := s[n]; c != '\\' && c != 'n' && c != '"' {
				return nil, nil, nil, p.errorf("invalid escape sequence '\\%c' in label %q", c, name)
			}
		}
		if n >= len(s) {
			return nil, nil, nil, p.errorf("the value of label %q contains an unescaped new-line", name)
		}
		raw := s[:n]
		// The vhost and queue values are checked by queue, and only when
		// they name no queue already read: that is most of them.
		if string(name) != "vhost" && string(name) != "queue" && !utf8.Valid(raw) {
			return nil, nil, nil, p.invalidUTF8(raw)
		}
		switch string(name) {
		case "vhost":
			vhost = raw
			if escaped {
				p.vbuf = unescape(p.vbuf[:0], raw)
				vhost = p.vbuf
			}
		case "queue":
			queue = raw
			if escaped {
				p.qbuf = unescape(p.qbuf[:0], raw)
				queue = p.qbuf
			}
		}
		switch s = skipBlank(s[n+1:]); {
		case len(s) > 0 && s[0] == ',':
			s = s[1:]
		case len(s) > 0 && s[0] == '}':
		default:
			return nil, nil, nil, p.errorf("unexpected end of the value of label %q", name)
		}
	}
}

// addLabel records a label name of the current line; a second one is an error.
func (p *detailedParser) addLabel(name []byte) error {
	for _, l := range p.labels {
		if bytes.Equal(l, name) {
			return p.errorf("duplicate label names for metric")
		}
	}
	if len(p.labels) == 64 { // a dozen at most in any real line: keep the check linear
		return p.unsupported("more than 64 labels on a line")
	}
	p.labels = append(p.labels, name)
	return nil
}

// queue is the queue a sample of family f is about, listed in the index's
// current poll; nil when the filter drops its name. vhost and name are the
// labels' values, unescaped and not yet checked: a value that is not valid
// UTF-8 is an error, and a value equal to a name already indexed was
// checked then (escapes are ASCII: valid unescaped is valid escaped).
//
// The broker writes each family's queues in the same order, poll after
// poll, so the queue after the one this family's last sample was about is
// tried first: one comparison instead of a map lookup for nearly all.
func (p *detailedParser) queue(f int, vhost, name []byte) (*sources.Queue, error) {
	// A value cut below is checked whole first: the cut compares equal to
	// names that were.
	if len(vhost) > sources.MaxName {
		if !utf8.Valid(vhost) {
			return nil, p.invalidUTF8(vhost)
		}
		vhost = vhost[:sources.MaxName+1] // as sources.Bound: Batch.Clip cuts and counts it
	}
	if len(name) > sources.MaxName {
		if !utf8.Valid(name) {
			return nil, p.invalidUTF8(name)
		}
		name = name[:sources.MaxName+1]
	}
	x := p.x
	vq := p.last
	if vq == nil || vq.name != string(vhost) {
		if vq = x.vhosts[string(vhost)]; vq == nil {
			if !utf8.Valid(vhost) {
				return nil, p.invalidUTF8(vhost)
			}
			if !utf8.Valid(name) { // a new vhost's queue is new: checked before the vhost is made, so that no vhost is left without a queue
				return nil, p.invalidUTF8(name)
			}
			vq = x.addVHost(vhost)
		}
		p.last = vq
	}
	fam := &p.fams[f]
	if fam.next < len(x.list) {
		if e := &x.list[fam.next]; e.vq == vq && e.name == string(name) {
			fam.next++
			return x.listed(fam.next - 1), nil
		}
	}
	if i, ok := vq.queues[string(name)]; ok {
		fam.next = int(i) + 1
		return x.listed(int(i)), nil
	}
	if !utf8.Valid(name) {
		return nil, p.invalidUTF8(name)
	}
	i := x.add(vq, string(name))
	fam.next = i + 1
	return x.listed(i), nil
}

// invalidUTF8 is the error of a label value that is not valid UTF-8.
func (p *detailedParser) invalidUTF8(value []byte) error {
	return p.errorf("invalid label value %q (not UTF-8)", value)
}

// parseValue parses a sample value as expfmt does: Go's float syntax
// without hexadecimal exponents or underscores, out of range an error.
func parseValue(b []byte) (float64, error) {
	if len(b) > 0 && len(b) <= 15 {
		var n int64
		digits := true
		for _, c := range b {
			if c < '0' || c > '9' {
				digits = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if digits {
			return float64(n), nil // exact: fewer than 16 digits
		}
	}
	if bytes.ContainsAny(b, "pP_") {
		return 0, errors.New("unsupported character in float")
	}
	return strconv.ParseFloat(string(b), 64)
}

// unescape appends the label value raw with its escapes (\\, \", \n) resolved.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			i++
			if c = raw[i]; c == 'n' {
				c = '\n'
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// isNameEnd says whether c ends a metric name for familyOf.
func isNameEnd(c byte) bool { return c == '{' || c == ' ' || c == '\t' || c == '\n' }

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isLabelStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func skipBlank(s []byte) []byte {
	for len(s) > 0 && isBlank(s[0]) {
		s = s[1:]
	}
	return s
}
