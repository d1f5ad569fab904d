//go:build unix

package secretfile

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner refuses a file owned by another user than the one running
// stacktop and root: its owner can change it at will.
func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); st.Uid != 0 && int(st.Uid) != uid {
		return fmt.Errorf("%s belongs to another user (uid %d): they can change it to send stacktop's credentials elsewhere", path, st.Uid)
	}
	return nil
}
