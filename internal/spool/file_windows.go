package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// oNoFollow is not needed on Windows, where creating symlinks takes a
// privilege.
const oNoFollow = 0

// openEntry opens path for reading without following a reparse point
// (symlink or junction) and so that it can still be renamed, if it is a
// regular file. It returns the open file's information.
func openEntry(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	return openRegular(path, fi)
}

// openEntryRW is openEntry: Windows locks need no write access.
func openEntryRW(path string) (*os.File, fs.FileInfo, error) { return openEntry(path) }

// openRegular opens path, found to be the regular file fi (nil: a listing
// said regular).
func openRegular(path string, fi fs.FileInfo) (*os.File, fs.FileInfo, error) {
	if fi == nil {
		return openEntry(path)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotRegular, kindOf(fi.Mode()))
	}
	f, err := createShared(path, windows.GENERIC_READ, windows.OPEN_EXISTING)
	if err != nil {
		return nil, nil, err
	}
	// The handle was opened without following a reparse point: it is the
	// entry itself, so its own information decides.
	fi2, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi2.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %s", ErrNotRegular, kindOf(fi2.Mode()))
	}
	return f, fi2, nil
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

// renameOver renames src over dst. Windows refuses to replace a file that
// a reader has open without sharing delete access (os.ReadFile opens so,
// for a moment): the rename is tried again for up to about a second.
func renameOver(src, dst string) error {
	for wait := time.Millisecond; ; wait *= 2 {
		err := os.Rename(src, dst)
		if err == nil || wait > 512*time.Millisecond ||
			!errors.Is(err, windows.ERROR_ACCESS_DENIED) && !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
			return err
		}
		time.Sleep(wait)
	}
}

// lookAt reports what is at path, a symlink not followed: nothing
// (found false), the file whose information is fi (same), or another
// entry.
func lookAt(fi fs.FileInfo, path string) (found, same bool) {
	pi, err := os.Lstat(path)
	if err != nil {
		return false, false
	}
	return true, os.SameFile(fi, pi)
}

// exists reports whether anything is at path, a symlink not followed.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
