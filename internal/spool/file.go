package spool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/queuectl/queuectl/internal/durable"
	"github.com/queuectl/queuectl/internal/job"
)

// errReplaced says that the file looked at was replaced by another under
// the same name before it could be opened: it is gone, which callers
// already handle (it matches fs.ErrNotExist).
var errReplaced = fmt.Errorf("%w: replaced while it was opened", fs.ErrNotExist)

// ErrNotRegular is wrapped by errors for entries that are not regular files
// (symlinks, directories, FIFOs, sockets, devices): they are never followed,
// read or run.
var ErrNotRegular = errors.New("not a regular file")

// tempPath returns a fresh name in tmp/ starting with hint, to tell whose
// the file is.
func (s *Spool) tempPath(hint string) string { return s.tempName(hint, tempExt) }

// Name endings in tmp/: a file being written (tempExt), or a record held
// locked from its creation until it is published or removed, or while a
// worker keeps it for reuse (recordExt, see createTempLocked). Only the
// latter can be told stale by its lock alone (see SweepTemp).
const (
	tempExt   = ".tmp"
	recordExt = ".rec"
)

func (s *Spool) tempName(hint, ext string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(s.root, dirTmp, hint+"."+hex.EncodeToString(b[:])+ext)
}

// writeTemp creates a new file in tmp/ (never an existing one), writes data
// to it and fsyncs it, so that a later rename publishes complete contents.
// hint starts the file's name, to tell whose it is. On error nothing is left
// behind.
func (s *Spool) writeTemp(hint string, data []byte) (string, error) {
	return s.createTemp(hint, data, true)
}

// createTemp is writeTemp, with the fsync left to the caller when sync is
// false (a batch flushes all its files at once).
func (s *Spool) createTemp(hint string, data []byte, sync bool) (string, error) {
	path := s.tempPath(hint)
	f, err := durable.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.fileMode())
	if err != nil {
		return "", err
	}
	if s.group {
		err = f.Chmod(s.fileMode()) // beyond the umask
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil && sync {
		crashPoint("temp/written")
		// The data must be on disk before any rename makes the file
		// visible under its final name; otherwise a crash could publish
		// an empty or partial job.
		err = f.Sync()
		crashPoint("temp/synced")
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// writeTempLocked is writeTemp for a file that is renamed while open and
// locked: it returns the file, still open and locked.
func (s *Spool) writeTempLocked(hint string, data []byte) (string, *os.File, error) {
	return s.createTempLocked(hint, data, true)
}

// createTempLocked is writeTempLocked, with the fsync left to the caller
// when sync is false (Commit flushes all its files at once).
func (s *Spool) createTempLocked(hint string, data []byte, sync bool) (string, *os.File, error) {
	path := s.tempName(hint, recordExt)
	f, err := createExcl(path, s.fileMode())
	if err != nil {
		return "", nil, err
	}
	// Beyond the umask, always: a record in processing/ without its
	// owner's write bit would read as a claim's mark (see markClaimed).
	err = f.Chmod(s.fileMode())
	if err == nil {
		err = tryLock(f)
	}
	if err == nil {
		if _, err = f.Write(data); err == nil {
			crashPoint("temp/written")
			if sync {
				err = f.Sync() // contents on disk before the rename publishes them
				crashPoint("temp/synced")
			}
		}
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return "", nil, err
	}
	return path, f, nil
}

// dirOf returns the directory of path.
func dirOf(path string) string { return filepath.Dir(path) }

// replace atomically replaces the file at path with data: a durable temp
// file renamed over it, then the directory fsynced so the rename persists.
func (s *Spool) replace(path, hint string, data []byte) error {
	tmp, err := s.writeTemp(hint, data)
	if err != nil {
		return err
	}
	if err := renameOver(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// readEntry reads a file that someone else may have written, safely: a
// symlink is not followed, a FIFO does not block, and anything but a regular
// file of at most job.MaxSize bytes is refused without reading it.
func readEntry(path string) ([]byte, error) {
	data, _, err := readEntryInfo(path)
	return data, err
}

// readEntryInfo is readEntry that also returns the file's information.
func readEntryInfo(path string) ([]byte, fs.FileInfo, error) {
	f, fi, err := openEntry(path)
	if err != nil {
		return nil, nil, err
	}
	return readOpen(f, fi)
}

// readOpen reads the open regular file f, of information fi, and closes it.
func readOpen(f *os.File, fi fs.FileInfo) ([]byte, fs.FileInfo, error) {
	defer f.Close()
	if fi.Size() > job.MaxSize {
		return nil, nil, job.ErrTooLarge
	}
	// One read of the size the file has, plus one byte to notice growth.
	data := make([]byte, fi.Size()+1)
	n, err := io.ReadFull(f, data)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return data[:n], fi, nil
	case err != nil:
		return nil, nil, err
	}
	// The file grew since fstat: read on, up to the limit.
	rest, err := io.ReadAll(io.LimitReader(f, job.MaxSize+1-int64(n)))
	if err != nil {
		return nil, nil, err
	}
	data = append(data, rest...)
	if len(data) > job.MaxSize {
		return nil, nil, job.ErrTooLarge
	}
	return data, fi, nil
}

// syncDir fsyncs a directory so that the renames into it survive a crash.
func syncDir(dir string) error { return durable.SyncDir(dir) }

// HoldSyncs makes the flushes of claims and outcomes (a claim's directory,
// an outcome's record and its directory, in Commit) held calls (see
// durable.SyncHeld), on a spool on a local disk file system (ext4, XFS,
// Btrfs, F2FS, tmpfs, overlayfs, bcachefs); elsewhere, on a network spool
// and where statfs fails, it does nothing. It is for a process with one
// worker: a held flush stops every other goroutine of its processor while
// it lasts, and the whole process when a collection stops the world.
func (s *Spool) HoldSyncs() {
	if !s.network && onLocalDisk(s.root) {
		s.held.Store(true)
	}
}

// syncJobDir flushes dir for a claim or an outcome (see HoldSyncs).
func (s *Spool) syncJobDir(dir string) error {
	if s.held.Load() {
		return durable.SyncDirHeld(dir)
	}
	return syncDir(dir)
}

// syncJobFile flushes f for an outcome (see HoldSyncs).
func (s *Spool) syncJobFile(f *os.File) error {
	if s.held.Load() {
		return durable.SyncHeld(f)
	}
	return f.Sync()
}

// kindOf names the kind of a directory entry for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}
