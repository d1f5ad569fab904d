package main

import "runtime/debug"

// defaultGCPercent is the collector's GOGC when the operator set neither
// GOGC nor GOMEMLIMIT. Go's default, 100, lets the heap grow to twice what
// is live before it collects: 189 MiB peak RSS replaying 30 minutes of
// issue 12's scale model (5,000 services, 20,000 queues, 5,000 hosts),
// over its 150 MB (143 MiB) target; 50 made it 148 MiB, still over; 25
// makes it 133 MiB, for four times the collections (the replay, folding
// 30 minutes in under 2, took about 18 % more CPU). A share of the live heap, not a fixed limit:
// a cloud ten times bigger gets ten times the room, and the collector
// runs about as often as at the model, never all the time
// (BENCHMARKS.md, "The collector: stacktop's default").
const defaultGCPercent = 25

// setMemoryPolicy sets the collector's GOGC to defaultGCPercent unless the
// operator set GOGC or GOMEMLIMIT (the runtime has read those, and they
// win); it reports whether it did.
func setMemoryPolicy(getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}
