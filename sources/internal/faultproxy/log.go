package faultproxy

import (
	"io"
	"log"
)

// quietLog discards the servers' own complaints: the refused handshakes and
// reset connections are the point.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
