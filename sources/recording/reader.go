package recording

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stacktop/stacktop/sources"
)

// Reader streams the batches of a recording. Lines it cannot use are
// skipped and collected (Errors); Next returns the next good batch.
type Reader struct {
	br     *bufio.Reader
	gz     *gzip.Reader // nil when not compressed
	file   io.Closer    // nil when the caller owns the input
	hdr    Header
	line   int // number of the last line read
	errs   []*LineError
	end    *End
	done   bool
	hardEr error // a read error that ends the recording early (not EOF, not truncation)
}

// Open opens the recording at path; gzip is recognised by its magic bytes.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	r, err := newReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.file = f
	return r, nil
}

// NewReader reads the header from in and returns a Reader for the rest.
// Close does not close in.
func NewReader(in io.Reader) (*Reader, error) { return newReader(in) }

func newReader(in io.Reader) (*Reader, error) {
	r := &Reader{}
	src := bufio.NewReaderSize(in, 64<<10)
	if magic, _ := src.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip header: %v", ErrNotRecording, err)
		}
		r.gz = gz
		r.br = bufio.NewReaderSize(gz, 256<<10)
	} else {
		r.br = src
	}
	raw, complete, err := r.readLine()
	if len(raw) == 0 && err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrNotRecording)
		}
		return nil, fmt.Errorf("line 1: %w", err)
	}
	if !complete && !json.Valid(raw) {
		return nil, fmt.Errorf("line 1: %w: the header line is cut short", ErrTruncated)
	}
	var h Header
	if err := json.Unmarshal(raw, &h); err != nil || h.Format == 0 {
		return nil, fmt.Errorf("line 1: %w: no {\"stacktop_recording\":N} header", ErrNotRecording)
	}
	if h.Format > Version {
		return nil, fmt.Errorf("line 1: recording format version %d is newer than this stacktop reads (%d): use a newer stacktop", h.Format, Version)
	}
	if h.Format < 0 {
		return nil, fmt.Errorf("line 1: %w: format version %d", ErrNotRecording, h.Format)
	}
	h.Version, _ = sources.Clip(h.Version, sources.MaxName)
	r.hdr = h
	return r, nil
}

// Header returns the recording's header.
func (r *Reader) Header() Header { return r.hdr }

// Line returns the number of the last line read (the header is line 1).
func (r *Reader) Line() int { return r.line }

// Errors returns the lines skipped so far, in order.
func (r *Reader) Errors() []*LineError { return r.errs }

// End returns the end record, if the recording was closed cleanly and it has been reached.
func (r *Reader) End() (End, bool) {
	if r.end == nil {
		return End{}, false
	}
	return *r.end, true
}

// Next returns the next batch, skipping lines it cannot use (see Errors).
// At the end it returns io.EOF; a truncated recording also ends with io.EOF,
// its last, partial line counted in Errors. Only a read error of the
// underlying file is returned as an error.
func (r *Reader) Next() (sources.Batch, error) {
	for !r.done {
		raw, complete, err := r.readLine()
		if len(raw) > 0 || err == nil {
			if b, ok := r.decode(raw, complete, err); ok {
				return b, nil
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, errLineTooLong):
			r.fail(r.line, err)
		case errors.Is(err, io.EOF):
			r.done = true
		case errors.Is(err, io.ErrUnexpectedEOF):
			// The compressed stream stops mid-way: the lines before the cut were returned.
			r.done = true
			if len(bytes.TrimSpace(raw)) == 0 {
				r.fail(r.line, fmt.Errorf("%w: the compressed stream ends early", ErrTruncated))
			}
		default:
			r.done = true
			r.hardEr = fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	if r.hardEr != nil {
		return sources.Batch{}, r.hardEr
	}
	return sources.Batch{}, io.EOF
}

// decode turns one line into a batch; a line that is no batch is recorded
// (an error) or noted (the end record) and ok is false.
func (r *Reader) decode(raw []byte, complete bool, readErr error) (sources.Batch, bool) {
	if errors.Is(readErr, errLineTooLong) {
		return sources.Batch{}, false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		if readErr != nil {
			return sources.Batch{}, false // nothing after the last newline
		}
		r.fail(r.line, errors.New("empty line"))
		return sources.Batch{}, false
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		if !complete && errors.Is(readErr, io.ErrUnexpectedEOF) {
			r.fail(r.line, fmt.Errorf("%w: the compressed stream ends early, %d bytes into this line", ErrTruncated, len(raw)))
		} else if !complete && readErr != nil {
			r.fail(r.line, fmt.Errorf("%w: the last line is cut short after %d bytes", ErrTruncated, len(raw)))
		} else {
			r.fail(r.line, fmt.Errorf("malformed JSON: %v", err))
		}
		return sources.Batch{}, false
	}
	switch {
	case rec.B != nil && rec.End == nil:
		b := *rec.B
		if n := b.Clip(); n > 0 { // a recording is input like any other; noted as the live sources note it
			note := fmt.Sprintf("%d over-long strings cut to %d bytes", n, sources.MaxName)
			if b.Health.Detail != "" {
				note = b.Health.Detail + "; " + note
			}
			b.Health.Detail, _ = sources.Clip(note, sources.MaxText)
		}
		return b, true
	case rec.End != nil && rec.B == nil:
		e := *rec.End
		r.end = &e
		return sources.Batch{}, false
	}
	r.fail(r.line, errors.New(`neither a batch ({"b":…}) nor an end record ({"end":…})`))
	return sources.Batch{}, false
}

func (r *Reader) fail(line int, err error) {
	r.errs = append(r.errs, &LineError{Line: line, Err: err})
}

// maxLine is MaxLine; tests lower it.
var maxLine = MaxLine

var errLineTooLong = fmt.Errorf("line longer than %d MiB", MaxLine>>20)

// readLine reads the next line without its newline. complete says whether
// the newline was there. A line longer than MaxLine is read to its end and
// dropped with errLineTooLong. The error is the read error that ended the
// line, if any (io.EOF at the end of the input).
func (r *Reader) readLine() (line []byte, complete bool, err error) {
	r.line++
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLine {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, true, errLineTooLong
			}
			return buf[:len(buf)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			if tooLong {
				return nil, false, errLineTooLong
			}
			return buf, false, err
		}
	}
}

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.gz != nil {
		r.gz.Close()
	}
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}
