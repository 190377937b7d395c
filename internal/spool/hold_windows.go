package spool

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows a file that any process holds open cannot be replaced by a
// rename, except with FileRenameInfoEx and POSIX semantics (Windows 10
// 1809 and later, NTFS only; Wine refuses it). So a lease does not keep
// its job file open: the liveness lock is on a file of its own,
// processing/.<id>.lease (hidden, and ignored as a dotfile by every
// listing), taken by the claim before the job enters processing/ and
// deleted by the lease's holder when the lease ends. The job file is open
// only while it is read or renamed, and a record replaces it when no
// handle of queuectl's is open on it (a reader's brief one excepted: see
// replaceOpen). A worker that dies leaves its lease file unlocked, or none
// at all: either way its job is an orphan.

// leasePath returns the lease file of job id.
func (s *Spool) leasePath(id string) string {
	return filepath.Join(s.dir(Processing), "."+id+".lease")
}

// holdLease takes the lease file of job id for its claim, before the job
// file f (opened and locked in pending/ or failed/, which keeps other
// claimers out meanwhile) moves into processing/. errLocked if another
// process holds it: a recoverer, or the last owner that is still
// finishing its move.
func (s *Spool) holdLease(id string, _ *os.File) (*os.File, error) {
	return lockLease(s.leasePath(id))
}

// openHeld opens job id's file in state st and takes what tells a live
// owner from a dead one: in processing/, the job's lease file, which hold
// is then; elsewhere the job file's own lock (hold is f). In processing/
// the caller closes f once read, and keeps hold for as long as the lease.
func (s *Spool) openHeld(st State, id string) (hold, f *os.File, fi fs.FileInfo, err error) {
	if st != Processing {
		f, fi, err = s.openLocked(s.path(st, id))
		return f, f, fi, err
	}
	hold, err = lockLease(s.leasePath(id))
	if err != nil {
		return nil, nil, nil, err
	}
	f, fi, err = openEntry(s.path(st, id))
	if err != nil {
		dropHold(hold)
		return nil, nil, nil, err
	}
	return hold, f, fi, nil
}

// keepHold returns what a lease holds once the record rec has replaced its
// job file: still the lease file; the record is closed, so that nothing of
// queuectl's keeps the job file open.
func keepHold(held, rec *os.File) *os.File {
	rec.Close()
	return held
}

// dropHold ends a lease: its lease file is deleted through the handle,
// then closed, which releases the lock. Whoever opened the file before
// the delete finds it deleted once it gets the lock (see lockLease).
func dropHold(f *os.File) {
	info := struct{ DeleteFile bool }{true} // FILE_DISPOSITION_INFO
	_ = windows.SetFileInformationByHandle(windows.Handle(f.Fd()), windows.FileDispositionInfo,
		(*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	f.Close()
}

// lockLease opens (or creates) the lease file at path and locks it.
func lockLease(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE|windows.DELETE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_ALWAYS,
		windows.FILE_ATTRIBUTE_HIDDEN|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		// Deleted by its holder, who has not closed it yet (the name
		// lasts until then): the lease is about to end.
		return nil, errLocked
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(h), path)
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, err
	}
	// Locked, but maybe a file that its holder deleted after this open:
	// it no longer stands for the lease. Say busy; a later try creates a
	// new one.
	var std struct { // FILE_STANDARD_INFO
		AllocationSize, EndOfFile int64
		NumberOfLinks             uint32
		DeletePending, Directory  bool
	}
	err = windows.GetFileInformationByHandleEx(h, windows.FileStandardInfo, (*byte)(unsafe.Pointer(&std)), uint32(unsafe.Sizeof(std)))
	if err != nil || std.DeletePending {
		f.Close()
		return nil, errLocked
	}
	if fi, err := f.Stat(); err != nil || samePath(fi, path) != nil {
		f.Close()
		return nil, errLocked
	}
	return f, nil
}

// holdsFileAt reports whether the job file of the lease held by hold (its
// lease file: see holdLease) is still at dst. The lease keeps no handle of
// the job file, so only the name can be looked at.
func holdsFileAt(_ *os.File, dst string) (bool, error) {
	_, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
