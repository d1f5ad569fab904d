package state

import (
	"math"
	"slices"
	"time"
)

// QueueHistory is a queue's samples, oldest first. Once in a snapshot it
// never changes; consecutive snapshots share its backing array (see
// ring.go). The zero value is empty.
//
// Samples are packed into 16 pointer-free bytes (queueSample), so the
// collector never scans a history: times are milliseconds after the
// history's base, counts 32-bit with unknown (-1) kept as unknown. A
// count beyond 4,294,967,294 reads as 4,294,967,294.
type QueueHistory struct {
	base time.Time // the time the samples' offsets count from
	s    []queueSample
}

// queueSample is a QueueSample packed; see QueueHistory.
type queueSample struct {
	ms        int32  // milliseconds after the history's base
	messages  uint32 // the count plus one; 0 when unknown
	unacked   uint32
	consumers uint32
}

// maxPackedCount is the largest count a queueSample holds.
const maxPackedCount = math.MaxUint32 - 1

func packCount(n int64) uint32 {
	if n < 0 {
		return 0
	}
	return uint32(min(n, maxPackedCount)) + 1
}

func unpackCount(v uint32) int64 { return int64(v) - 1 }

// NewQueueHistory returns a history holding samples (oldest first), for
// tests and replays; Store builds its own.
func NewQueueHistory(samples ...QueueSample) QueueHistory {
	var h QueueHistory
	for _, v := range samples {
		h = h.with(v, time.Time{}, max(len(samples), 1), 0)
	}
	return h
}

// Len is the number of samples.
func (h QueueHistory) Len() int { return len(h.s) }

// Sample returns the i-th sample, oldest first; i must be in [0, Len).
func (h QueueHistory) Sample(i int) QueueSample {
	p := &h.s[i]
	return QueueSample{
		At:        h.at(i),
		Messages:  unpackCount(p.messages),
		Unacked:   unpackCount(p.unacked),
		Consumers: int(unpackCount(p.consumers)),
	}
}

// Messages is the i-th sample's Messages, without building its time.
func (h QueueHistory) Messages(i int) int64 { return unpackCount(h.s[i].messages) }

// SampleAt is the i-th sample's time.
func (h QueueHistory) SampleAt(i int) time.Time { return h.at(i) }

func (h QueueHistory) at(i int) time.Time {
	return h.base.Add(time.Duration(h.s[i].ms) * time.Millisecond)
}

// offset is t as milliseconds after the base, and whether that fits.
func (h QueueHistory) offset(t time.Time) (int32, bool) {
	d := t.Sub(h.base).Milliseconds()
	return int32(d), d >= math.MinInt32 && d <= math.MaxInt32
}

// queueSlack is how many samples a queue's array holds beyond the bound
// (at least; the allocator's size class may give more): the array is
// copied once every queueSlack+1 polls or so, an eighth of its size.
func queueSlack(bound int) int { return max(bound/8, 8) }

// with returns h without its samples from before cutoff, then at most
// bound-1 of the newest, then v. It appends in place when the backing
// array has room past every older view (ring.go's invariant), else copies
// into a new array of bound+queueSlack(bound) samples. A history that
// starts afresh begins phase (mod the slack) samples into its array, so
// that queues first seen in the same poll do not all fill their arrays,
// and reallocate, in the same later poll.
func (h QueueHistory) with(v QueueSample, cutoff time.Time, bound, phase int) QueueHistory {
	bound = max(bound, 1)
	i := 0
	for i < len(h.s) && h.at(i).Before(cutoff) {
		i++
	}
	h.s = h.s[i:]
	if len(h.s) >= bound {
		h.s = h.s[len(h.s)-bound+1:]
	}
	if len(h.s) == 0 {
		h.base = v.At
	}
	p := queueSample{messages: packCount(v.Messages), unacked: packCount(v.Unacked), consumers: packCount(int64(v.Consumers))}
	off, ok := h.offset(v.At)
	if ok && len(h.s) < cap(h.s) {
		p.ms = off
		h.s = append(h.s, p)
		return h
	}
	arr := slices.Grow([]queueSample(nil), bound+queueSlack(bound))
	arr = arr[:cap(arr)]
	start := 0
	if len(h.s) == 0 {
		start = phase % (len(arr) - bound + 1)
	} else {
		// Rebase on the oldest sample kept; a new sample too far from it
		// (the clock jumped by weeks) starts the history afresh.
		first := int64(h.s[0].ms)
		base := h.base.Add(time.Duration(first) * time.Millisecond)
		fits := func(d int64) bool { return d >= math.MinInt32 && d <= math.MaxInt32 }
		ok := fits(v.At.Sub(base).Milliseconds())
		for k := 0; ok && k < len(h.s); k++ {
			ok = fits(int64(h.s[k].ms) - first)
		}
		if !ok {
			h.s = nil
			base = v.At
		}
		n := copy(arr, h.s)
		for k := range n {
			arr[k].ms = int32(int64(arr[k].ms) - first)
		}
		h.base = base
	}
	n := len(h.s)
	h.s = arr[start : start+n]
	off, _ = h.offset(v.At)
	p.ms = off
	h.s = append(h.s, p)
	return h
}

// Samples returns every sample, oldest first, in a new slice.
func (h QueueHistory) Samples() []QueueSample {
	out := make([]QueueSample, len(h.s))
	for i := range out {
		out[i] = h.Sample(i)
	}
	return out
}
