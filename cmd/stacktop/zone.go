package main

import (
	"io"
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

// useConfiguredZone sets the zone of a subcommand that shows recorded
// times (replay, timeline) by the dashboard's policy: --utc (utcFlag), or
// utc: true in the config file found as the dashboard finds it (--config
// FILE, STACKTOP_CONFIG, the default path). Only the file is read, not the
// sources' secrets; its warnings go to stderr and its errors are the
// dashboard's (exit status 2).
func useConfiguredZone(utcFlag bool, configFlag string, stderr io.Writer, getenv func(string) string) error {
	path, explicit := configPath(configFlag, getenv)
	c, err := readConfigFile(path, explicit, getenv)
	if err != nil {
		return err
	}
	for _, w := range c.warnings {
		printSafe(stderr, "stacktop: warning: "+w, c.secrets)
	}
	useZone(utcFlag || c.UTC)
	return nil
}
