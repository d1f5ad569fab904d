package rsstest

import (
	"os"
	"syscall"
)

// maxRSS is the process's ru_maxrss, which Linux counts in KiB.
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss << 10, true
}
