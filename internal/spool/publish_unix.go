//go:build unix

package spool

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// linkPublish moves src to dst with link(2) then unlink(2): the link fails
// if dst exists, so nothing is overwritten. Directories cannot be linked;
// for them (and on file systems without hard links) it falls back to a
// check followed by rename(2), which is safe only against writers that also
// check.
func linkPublish(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		return os.Remove(src)
	}
	if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EMLINK) {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: fs.ErrExist}
	}
	return os.Rename(src, dst)
}
