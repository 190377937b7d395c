package spool

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive lock on the open file f without waiting. It
// locks one byte far beyond the end of the file, so that readers of the
// contents are not blocked; Windows releases it when the process dies.
func tryLock(f *os.File) error {
	ol := new(windows.Overlapped)
	ol.OffsetHigh = 0x7fffffff
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errLocked
	}
	return err
}

// createExcl creates a new file that can be renamed while open.
func createExcl(path string, _ os.FileMode) (*os.File, error) {
	return createShared(path, windows.GENERIC_READ|windows.GENERIC_WRITE|windows.DELETE, windows.CREATE_NEW)
}

// createShared opens path with every sharing mode, FILE_SHARE_DELETE
// included, which os.OpenFile leaves out: without it a file that any
// process holds open cannot be renamed.
func createShared(path string, access, disposition uint32) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, disposition,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// replaceOpen renames the file tmp, open as f, over dst. No handle of
// this process is open on dst (a lease holds its own lock file, see
// holdLease), but a reader's may be for a moment: a rename through the
// handle with POSIX semantics replaces a file open elsewhere (Windows 10
// 1809 and later, NTFS); the plain rename, where that is missing (older
// Windows, other file systems, Wine), refuses to while it is, and is
// tried again for up to about a second.
func replaceOpen(_ string, f *os.File, dst string) error {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	name, err := windows.UTF16FromString(abs)
	if err != nil {
		return err
	}
	name = name[:len(name)-1] // FileNameLength excludes the terminating NUL
	const (
		replaceIfExists = 0x1
		posixSemantics  = 0x2
		nameOffset      = 20 // Flags (4), padding (4), RootDirectory (8), FileNameLength (4)
	)
	buf := make([]byte, nameOffset+2*len(name)+2)
	binary.LittleEndian.PutUint32(buf[16:], uint32(2*len(name)))
	for i, c := range name {
		binary.LittleEndian.PutUint16(buf[nameOffset+2*i:], c)
	}
	h := windows.Handle(f.Fd())
	if !noRenameEx.Load() {
		binary.LittleEndian.PutUint32(buf[0:], replaceIfExists|posixSemantics)
		err = windows.SetFileInformationByHandle(h, windows.FileRenameInfoEx, &buf[0], uint32(len(buf)))
		if err == nil {
			return nil
		}
		if !errors.Is(err, windows.ERROR_INVALID_PARAMETER) && !errors.Is(err, windows.ERROR_NOT_SUPPORTED) && !errors.Is(err, windows.ERROR_INVALID_FUNCTION) {
			return &os.LinkError{Op: "rename", Old: f.Name(), New: dst, Err: err}
		}
		noRenameEx.Store(true)
	}
	// The plain class takes ReplaceIfExists as a BOOLEAN in the same
	// place.
	binary.LittleEndian.PutUint32(buf[0:], 1)
	for wait := time.Millisecond; ; wait *= 2 {
		err = windows.SetFileInformationByHandle(h, windows.FileRenameInfo, &buf[0], uint32(len(buf)))
		if err == nil {
			return nil
		}
		if wait > 512*time.Millisecond || !errors.Is(err, windows.ERROR_ACCESS_DENIED) && !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
			return &os.LinkError{Op: "rename", Old: f.Name(), New: dst, Err: err}
		}
		time.Sleep(wait) // a reader holds dst open
	}
}

// noRenameEx is set once FileRenameInfoEx has been refused: the system
// does not have it.
var noRenameEx atomic.Bool

// openProbe opens an existing lock file for reading so that its lock can
// be tried (see probeLock), sharing delete access: the worker that holds
// it removes it on its way out, and a prober that finds it free removes
// it too, both while others may have it open.
func openProbe(path string) (*os.File, error) {
	return createShared(path, windows.GENERIC_READ, windows.OPEN_EXISTING)
}
