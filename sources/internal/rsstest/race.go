//go:build race

package rsstest

// Race is whether the race detector is on: it multiplies memory use, so
// the tests measure only without it.
const Race = true
