package main

import (
	"os"
	"testing"
	"time"

	"github.com/stacktop/stacktop/format"
)

// TestMain shows times in UTC, so that expectations and golden files do
// not depend on the machine's zone; tests of the zone set their own.
func TestMain(m *testing.M) {
	format.SetZone(time.UTC)
	os.Exit(m.Run())
}
