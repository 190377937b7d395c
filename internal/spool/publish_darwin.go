package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// publish renames src to dst unless dst exists, in one step with
// renamex_np(RENAME_EXCL); where the file system lacks it, with link(2)
// and unlink(2).
func publish(src, dst string) error {
	err := unix.RenamexNp(src, dst, unix.RENAME_EXCL)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EINVAL) {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return linkPublish(src, dst)
}
