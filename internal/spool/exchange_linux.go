package spool

import (
	"errors"
	"os"
	"syscall"

	"github.com/queuectl/queuectl/internal/durable"
	"golang.org/x/sys/unix"
)

// exchange swaps the files at a and b in one step (renameat2 with
// RENAME_EXCHANGE). errNoExchange: the file system cannot.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP) {
		return errNoExchange
	}
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// poolable reports whether f, which an exchange moved to path, may be
// written again as a record: it is still the file at path, this user's,
// and has no other names.
func poolable(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !soleName(fi) || int(st.Uid) != euid {
		return false
	}
	return samePath(fi, path) == nil
}

// euid is this process's effective user id, asked once: poolable asks per job.
var euid = os.Geteuid()

// openWrite opens the existing file at path for writing, never through a
// symlink.
func openWrite(path string) (*os.File, error) {
	return durable.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
}
