//go:build !unix

package rabbitmq

import "time"

// processCPU is unknown here: the cpu-ms/op metric reads 0.
func processCPU() time.Duration { return 0 }
