package spool

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// openEntry opens path for reading without following a reparse point
// (symlink or junction) and so that it can still be renamed; the caller
// checks that it is a regular file.
func openEntry(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, kindOf(fi.Mode()))
	}
	return createShared(path, windows.GENERIC_READ, windows.OPEN_EXISTING)
}

// publish renames src to dst unless dst exists: MoveFileEx without
// MOVEFILE_REPLACE_EXISTING fails on an existing target.
func publish(src, dst string) error {
	from, err := windows.UTF16PtrFromString(src)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(dst)
	if err != nil {
		return err
	}
	if err := windows.MoveFileEx(from, to, windows.MOVEFILE_WRITE_THROUGH); err != nil {
		if errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_FILE_EXISTS) {
			return &os.LinkError{Op: "rename", Old: src, New: dst, Err: os.ErrExist}
		}
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return nil
}

// isTemporary reports whether err is a condition that may pass by itself:
// a full disk, an I/O error, a file held open by another process.
func isTemporary(err error) bool {
	for _, e := range []windows.Errno{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL,
		windows.ERROR_SHARING_VIOLATION, windows.ERROR_LOCK_VIOLATION, windows.ERROR_NOT_ENOUGH_MEMORY,
		windows.ERROR_TOO_MANY_OPEN_FILES, windows.ERROR_IO_DEVICE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
