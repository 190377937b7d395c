//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openEntry opens path for reading without following a symlink and without
// blocking on a FIFO.
func openEntry(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ELOOP):
			return nil, fmt.Errorf("%w: a symbolic link", ErrNotRegular)
		case errors.Is(err, syscall.ENXIO):
			return nil, fmt.Errorf("%w: a socket or device", ErrNotRegular)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
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
