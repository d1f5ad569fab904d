package recording

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stacktop/stacktop/sources"
)

// TestLongStringsClipped: a string in a recording longer than any source
// keeps is cut as it is read, and the batch's health detail says so.
func TestLongStringsClipped(t *testing.T) {
	long := strings.Repeat("h", 1<<20)
	bs := []sources.Batch{{Source: "nova", Services: []sources.Service{{Host: long, Binary: "nova-compute"}}}}
	r, err := NewReader(bytes.NewReader(encode(t, bs, false, nil)))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	if len(got) != 1 || len(got[0].Services[0].Host) != sources.MaxName || got[0].Health.Detail != "1 over-long strings cut to 255 bytes" {
		t.Fatalf("got %d batches, host of %d bytes, detail %q", len(got), len(got[0].Services[0].Host), got[0].Health.Detail)
	}
}

// FuzzReader: a recording of any bytes never panics the reader, a read
// error ends it for good, every line it cannot use is counted once, and
// every batch it returns is clipped.
func FuzzReader(f *testing.F) {
	plain := encode(f, testBatches(), false, nil)
	f.Add(plain)
	f.Add(encode(f, testBatches(), true, nil))
	f.Add(plain[:len(plain)-7])
	for _, s := range []string{
		"", "\n", `{"stacktop_recording":1}`, `{"stacktop_recording":2}` + "\n", `{"stacktop_recording":-1}` + "\n",
		`{"stacktop_recording":1,"version":"\u001b]52;c;` + strings.Repeat("v", 300) + `"}` + "\n" + `{"b":{"source":"x"}}` + "\n",
		`{"stacktop_recording":1}` + "\n" + `{"b":{"source":"nova","services":[{"host":"` + strings.Repeat("h", 300) + `"}]}}` + "\n",
		`{"stacktop_recording":1}` + "\n" + `{"b":{},"end":{}}` + "\n\n" + `{"end":{"batches":3}}` + "\n" + `{"b":` + "\n",
		"\x1f\x8b\x08\x00\x00\x00\x00\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(r.Header().Version) > sources.MaxName {
			t.Fatalf("header version of %d bytes", len(r.Header().Version))
		}
		for i := 0; ; i++ {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil { // a read error of the input (a corrupt gzip stream): it ends the recording
				if _, again := r.Next(); again == nil || again.Error() != err.Error() {
					t.Fatalf("Next after %v: %v", err, again)
				}
				break
			}
			if b.Clip() != 0 {
				t.Fatalf("batch %d has a string over its limit", i)
			}
			if i > len(data) {
				t.Fatal("more batches than bytes")
			}
		}
		last := 1
		for _, e := range r.Errors() {
			if e.Line <= last || e.Line > r.Line() {
				t.Fatalf("line error at %d after %d, of %d lines", e.Line, last, r.Line())
			}
			last = e.Line
		}
	})
}
