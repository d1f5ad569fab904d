package main

import (
	"time"

	"github.com/stacktop/stacktop/format"
)

// localZone is the zone times are shown and read in without --utc: the
// machine's (TZ); tests set their own.
var localZone = time.Local

// useZone shows and reads every time in UTC with --utc (or utc: true in
// the config file), else in the local zone.
func useZone(utc bool) {
	if utc {
		format.SetZone(time.UTC)
		return
	}
	format.SetZone(localZone)
}
