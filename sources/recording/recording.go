// Package recording writes and reads stacktop recordings: every observation
// batch the sources emitted, in order, so that an incident can be replayed
// in the UI or turned into a timeline afterwards.
//
// # Format
//
// A recording is UTF-8 JSON lines, gzip-compressed when the file name ends
// in .gz (the reader recognises gzip by its magic bytes, whatever the name).
// Line 1 is the header:
//
//	{"stacktop_recording":1,"started":"2026-08-12T22:30:00Z","version":"stacktop 1.2.0"}
//
// stacktop_recording is the format version; a reader refuses a version it
// does not know. Every further line is one record, an object with exactly
// one of these keys:
//
//	{"b":{...}}                               one sources.Batch, as encoding/json writes it
//	{"end":{"at":"...","batches":1234}}       written by Close: the recording ended cleanly
//
// Batches appear in the order the pipeline folded them; their own "at"
// times (by the receiver's clock) are what replay paces by. The writer
// flushes after every line, so a recorder that crashes leaves a readable
// prefix; the reader reports a malformed or truncated line with its line
// number, skips it and goes on.
//
// Recordings hold what the sources observed, which never includes
// credentials: targets are URLs without userinfo and errors are redacted
// by the sources.
package recording

import (
	"errors"
	"fmt"
	"time"
)

// Version is the format version this package writes and the newest it reads.
const Version = 1

// MaxLine is the longest line the reader accepts (a batch of 45,000 queues is about 5 MB).
const MaxLine = 64 << 20

// Header is the first line of a recording.
type Header struct {
	Format  int       `json:"stacktop_recording"` // format version, see Version
	Started time.Time `json:"started"`            // when recording began, by the recorder's clock
	Version string    `json:"version,omitempty"`  // the program that wrote it, e.g. "stacktop 1.2.0"
}

// End is the last record of a recording that was closed cleanly.
type End struct {
	At      time.Time `json:"at"`
	Batches int       `json:"batches"`
}

// LineError is a line the reader could not use; it was skipped.
type LineError struct {
	Line int // 1-based line number in the (decompressed) file
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ErrNotRecording says the input does not start with a recording header.
var ErrNotRecording = errors.New("not a stacktop recording")

// ErrTruncated says the input ended in the middle of a line or of its
// compressed stream: typically a recorder that was killed.
var ErrTruncated = errors.New("recording truncated")
