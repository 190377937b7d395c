//go:build unix

package spool

import (
	"errors"
	"os"

	"github.com/queuectl/queuectl/internal/durable"
	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive lock on the open file f without waiting. The
// lock belongs to the file's inode, follows it through renames, and is
// released by the kernel when the process dies: a job file's lock is how a
// dead owner is told from a live one.
func tryLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// createExcl creates a new file that can be renamed while open.
func createExcl(path string, perm os.FileMode) (*os.File, error) {
	return durable.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
}

// replaceOpen renames the file tmp, open as f, over dst, which this process
// may hold open too.
func replaceOpen(tmp string, _ *os.File, dst string) error { return os.Rename(tmp, dst) }

// openProbe opens an existing lock file for reading, never through a
// symlink, so that its lock can be tried (see probeLock).
func openProbe(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
}
