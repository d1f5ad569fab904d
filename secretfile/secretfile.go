// Package secretfile reads the files stacktop takes credentials from, or
// learns where to send them (its config, clouds.yaml, secure.yaml, password
// and transport URL files), the way ssh treats its own: a file that others
// can write is refused, since whoever can write it can send the credentials
// to a server of their own; a file holding a secret that others can read is
// accepted with a warning.
package secretfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the largest file read: configuration files are small.
const MaxSize = 1 << 20

// Read reads the file at path and checks who can write and read it;
// holdsSecret, given the content, says whether it holds a secret (nil: it
// does). warning is "" or one line saying who can read the secret.
func Read(path string, holdsSecret func([]byte) bool) (b []byte, warning string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat() // the file opened, not whatever the path names by now
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s is not a regular file", path)
	}
	b, err = io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(b) > MaxSize {
		return nil, "", fmt.Errorf("%s is larger than %d bytes", path, MaxSize)
	}
	secret := holdsSecret == nil || holdsSecret(b)
	warning, err = Check(path, fi, secret)
	if err != nil {
		return nil, "", err
	}
	return b, warning, nil
}

// Check applies the rule to a file already opened: an error when a group or
// other users can write it, or it belongs to a user other than the one
// running stacktop and root; a warning when it holds a secret that a group
// or other users can read.
func Check(path string, fi fs.FileInfo, holdsSecret bool) (warning string, err error) {
	perm := fi.Mode().Perm()
	if perm&0o022 != 0 {
		return "", fmt.Errorf("%s is writable by others (mode %04o): whoever can write it can send stacktop's credentials to a server of their own; run chmod go-w %s", path, perm, path)
	}
	if err := checkOwner(path, fi); err != nil {
		return "", err
	}
	if holdsSecret && perm&0o044 != 0 {
		return fmt.Sprintf("%s holds a secret and is readable by others (mode %04o); run chmod go-r %s", path, perm, path), nil
	}
	return "", nil
}
