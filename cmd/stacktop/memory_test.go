package main

import (
	"runtime/debug"
	"testing"
)

// TestMemoryPolicy: stacktop collects at defaultGCPercent only when the
// operator set neither GOGC nor GOMEMLIMIT; either one set wins.
func TestMemoryPolicy(t *testing.T) {
	const operators = 137 // stands for what the runtime read from the operator's setting
	orig := debug.SetGCPercent(operators)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	cases := []struct {
		env  map[string]string
		want int
	}{
		{nil, defaultGCPercent},
		{map[string]string{"GOGC": "200"}, operators},
		{map[string]string{"GOGC": "off"}, operators},
		{map[string]string{"GOMEMLIMIT": "100MiB"}, operators},
		{map[string]string{"GOGC": "80", "GOMEMLIMIT": "1GiB"}, operators},
	}
	for _, c := range cases {
		debug.SetGCPercent(operators)
		set := setMemoryPolicy(func(k string) string { return c.env[k] })
		if got := debug.SetGCPercent(operators); got != c.want || set != (c.want == defaultGCPercent) {
			t.Errorf("%v: GOGC %d (set %v), want %d", c.env, got, set, c.want)
		}
	}
}
