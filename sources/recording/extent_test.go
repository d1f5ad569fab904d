package recording

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	bs := testBatches()                // at t0, +2s, +4s, +6s
	bs[3].At = t0.Add(3 * time.Second) // the last line is not the latest time
	clean := string(encode(t, bs, false, nil))
	lines := strings.SplitAfter(clean, "\n") // header, 4 batches, end, ""
	damaged := lines[0] + lines[1] + lines[2][:len(lines[2])/2] + "}\n" + `{"x":1}` + "\n\n" + lines[3] + lines[4][:40]
	for _, tc := range []struct {
		name string
		data string
		want Extent
	}{
		{"clean", clean, Extent{Batches: 4, First: t0, Last: t0.Add(4 * time.Second)}},
		{"compressed", string(encode(t, bs, true, nil)), Extent{Batches: 4, First: t0, Last: t0.Add(4 * time.Second)}},
		{"damaged", damaged, Extent{Batches: 2, First: t0, Last: t0.Add(4 * time.Second)}}, // what Reader yields of it
		{"no batches", lines[0] + lines[5], Extent{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.jsonl")
			if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Measure(context.Background(), path)
			if err != nil || got != tc.want {
				t.Errorf("Measure: %+v, %v; want %+v", got, err, tc.want)
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if n := len(readAll(t, r)); n != got.Batches {
				t.Errorf("Measure counts %d batches, Reader yields %d", got.Batches, n)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "rec.jsonl")
	if err := os.WriteFile(path, []byte(clean), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Measure(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Measure(context.Background(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing file measured")
	}
}
