//go:build unix

package spool

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// linkPublish moves src to dst with link(2) then unlink(2): the link fails
// if dst exists, so nothing is overwritten, and a symlink is linked as
// itself, not followed. If the unlink fails, the link is undone, so that
// the entry is never left under both names. Directories cannot be linked;
// for them (and on file systems without hard links) it falls back to a
// check followed by rename(2), which is safe only against writers that also
// check.
func linkPublish(src, dst string) error {
	err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, 0)
	if err == nil {
		if err := os.Remove(src); err != nil {
			os.Remove(dst)
			return err
		}
		return nil
	}
	if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, syscall.EMLINK) {
		return &os.LinkError{Op: "link", Old: src, New: dst, Err: err}
	}
	if _, err := os.Lstat(dst); err == nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: fs.ErrExist}
	}
	return os.Rename(src, dst)
}
