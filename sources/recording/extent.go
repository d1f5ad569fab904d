package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Extent is how much a recording holds: its batches and the times they span.
type Extent struct {
	Batches int       // batch lines
	First   time.Time // the first batch's time; zero when there is none
	Last    time.Time // the latest batch time (where a replay's clock ends); zero when there is none
}

// Measure reads the recording at path through and returns its extent,
// decoding of each line no more than a batch's time. Lines that are no
// batch are skipped, as Reader skips them. It returns ctx's error, with
// the extent so far, when ctx is done first.
func Measure(ctx context.Context, path string) (Extent, error) {
	r, err := Open(path)
	if err != nil {
		return Extent{}, err
	}
	defer r.Close()
	var e Extent
	for {
		if err := ctx.Err(); err != nil {
			return e, err
		}
		raw, _, err := r.readLine()
		if len(raw) > 0 && !errors.Is(err, errLineTooLong) {
			var rec struct {
				B *struct {
					At time.Time `json:"at"`
				} `json:"b"`
				End json.RawMessage `json:"end"`
			}
			if json.Unmarshal(raw, &rec) == nil && rec.B != nil && rec.End == nil {
				if e.Batches == 0 {
					e.First = rec.B.At
				}
				if rec.B.At.After(e.Last) {
					e.Last = rec.B.At
				}
				e.Batches++
			}
		}
		switch {
		case err == nil, errors.Is(err, errLineTooLong):
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return e, nil
		default:
			return e, fmt.Errorf("%s: line %d: %w", path, r.line, err)
		}
	}
}
