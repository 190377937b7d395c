package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// publish renames src to dst unless dst exists, in one step with
// renameat2(RENAME_NOREPLACE); on file systems without it, with link(2) and
// unlink(2), which never overwrite either.
func publish(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return linkPublish(src, dst)
}
