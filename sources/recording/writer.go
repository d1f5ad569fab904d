package recording

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stacktop/stacktop/sources"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("recording: writer closed")

// Writer appends batches to a recording. Its methods are safe for
// concurrent use; each Write is one line, flushed to the file before Write
// returns (for gzip, a sync flush: the bytes written so far decompress to
// every complete line).
type Writer struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	gz      *gzip.Writer // nil when not compressed
	file    io.Closer    // nil when the caller owns the underlying writer
	closed  bool
	batches int
	last    time.Time
	err     error // the first write error; sticky
}

// Create creates (or truncates) the file at path and writes the header; the
// file is gzip-compressed when path ends in .gz.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	w, err := newWriter(f, h, strings.HasSuffix(path, ".gz"))
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// NewWriter writes the header to out and returns a Writer that appends to
// it, gzip-compressed when compress is set. Close does not close out.
func NewWriter(out io.Writer, h Header, compress bool) (*Writer, error) {
	return newWriter(out, h, compress)
}

func newWriter(out io.Writer, h Header, compress bool) (*Writer, error) {
	w := &Writer{}
	if compress {
		w.gz = gzip.NewWriter(out)
		w.bw = bufio.NewWriterSize(w.gz, 64<<10)
	} else {
		w.bw = bufio.NewWriterSize(out, 64<<10)
	}
	h.Format = Version
	if h.Started.IsZero() {
		h.Started = time.Now()
	}
	if err := w.line(h); err != nil {
		return nil, err
	}
	return w, nil
}

// record is one line after the header.
type record struct {
	B   *sources.Batch `json:"b,omitempty"`
	End *End           `json:"end,omitempty"`
}

// Write appends one batch and flushes it.
func (w *Writer) Write(b sources.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if err := w.line(record{B: &b}); err != nil {
		return err
	}
	w.batches++
	if b.At.After(w.last) {
		w.last = b.At
	}
	return nil
}

// line writes v as one JSON line and flushes; the first error sticks.
func (w *Writer) line(v any) error {
	if w.err != nil {
		return w.err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("recording: encode: %w", err)
	}
	raw = append(raw, '\n')
	if _, err := w.bw.Write(raw); err != nil {
		w.err = fmt.Errorf("recording: write: %w", err)
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("recording: write: %w", err)
		return w.err
	}
	if w.gz != nil {
		if err := w.gz.Flush(); err != nil {
			w.err = fmt.Errorf("recording: write: %w", err)
			return w.err
		}
	}
	return nil
}

// Batches returns how many batches were written.
func (w *Writer) Batches() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.batches
}

// Close writes the end record, finishes the gzip stream and closes the file
// (when Create opened it). Later Writes return ErrClosed; a second Close does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	at := w.last
	if at.IsZero() {
		at = time.Now()
	}
	err := w.line(record{End: &End{At: at, Batches: w.batches}})
	if w.gz != nil {
		if cerr := w.gz.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recording: write: %w", cerr)
		}
	}
	if w.file != nil {
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recording: %w", cerr)
		}
	}
	return err
}
