//go:build unix

package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// oNoFollow makes an open fail on a symlink.
const oNoFollow = syscall.O_NOFOLLOW

// openEntry opens path for reading only if it is a regular file: anything
// else (symlink, FIFO, socket, device, directory) is refused before it is
// opened, so that opening has no side effect. The open itself refuses to
// follow a symlink or block, in case the entry was swapped in between, and
// the opened file is checked to be the one looked at. It returns the open
// file's information.
func openEntry(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	return openRegular(path, fi)
}

// openEntryRW is openEntry with the file open for writing too (for a lock
// that needs it, see Spool.openForLock); a file this user may not write is
// opened for reading only.
func openEntryRW(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	f, fi2, err := openRegularFlags(path, fi, syscall.O_RDWR)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return openRegular(path, fi)
	}
	return f, fi2, err
}

// openRegular opens path, which a directory listing or lstat found to be
// the regular file fi (nil: the listing said regular, and the open file's
// own information decides).
func openRegular(path string, fi fs.FileInfo) (*os.File, fs.FileInfo, error) {
	return openRegularFlags(path, fi, syscall.O_RDONLY)
}

// openRegularFlags is openRegular with the access mode given (O_RDONLY or
// O_RDWR).
func openRegularFlags(path string, fi fs.FileInfo, access int) (*os.File, fs.FileInfo, error) {
	if fi != nil && !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotRegular, kindOf(fi.Mode()))
	}
	fd, err := syscall.Open(path, access|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENXIO) {
			return nil, nil, fmt.Errorf("%w: changed while it was opened", ErrNotRegular)
		}
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi2, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, nil, err
	case !fi2.Mode().IsRegular():
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s", ErrNotRegular, kindOf(fi2.Mode()))
	case fi != nil && !os.SameFile(fi, fi2):
		// Another regular file took the name (a job rewritten by an atomic
		// rename): the one looked at is gone, nothing is wrong.
		f.Close()
		return nil, nil, errReplaced
	}
	return f, fi2, nil
}

// isTemporary reports whether err is a condition that may pass by itself:
// a full disk or quota, an I/O error, exhausted descriptors or memory.
func isTemporary(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EMFILE,
		syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN, syscall.EINTR, syscall.EBUSY} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// renameOver renames src over dst, which readers may have open.
func renameOver(src, dst string) error { return os.Rename(src, dst) }

// lookAt reports what is at path, a symlink not followed: nothing
// (found false), the file whose information is fi (same), or another
// entry. It compares device and inode as os.SameFile does, without the
// FileInfo and error values os.Lstat allocates: a claim looks at six
// names.
func lookAt(fi fs.FileInfo, path string) (found, same bool) {
	var st unix.Stat_t
	if err := lstat(path, &st); err != nil {
		return false, false
	}
	own, ok := fi.Sys().(*syscall.Stat_t)
	return true, ok && uint64(own.Dev) == uint64(st.Dev) && uint64(own.Ino) == uint64(st.Ino)
}

// exists reports whether anything is at path, a symlink not followed:
// os.Lstat's answer without its allocations, for the flags a worker looks
// for with every job.
func exists(path string) bool {
	var st unix.Stat_t
	return lstat(path, &st) == nil
}

// lstat is unix.Lstat, retried when a signal interrupts it, as os.Lstat
// is (NFS and FUSE can be interrupted).
func lstat(path string, st *unix.Stat_t) error {
	err := unix.Lstat(path, st)
	for err == unix.EINTR {
		err = unix.Lstat(path, st)
	}
	return err
}
