package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// Errors of Claim and Recover that callers branch on.
var (
	// ErrGone: the file moved on before it could be taken (another worker
	// claimed it, or it was removed).
	ErrGone = errors.New("job file is gone")
	// ErrBusy: another live process holds the job file's lock.
	ErrBusy = errors.New("job file is locked by a live process")
	// ErrRemoved: the leased file is no longer in processing/ (someone
	// removed it while the job ran): the lease's record is not written,
	// for that would bring the job back.
	ErrRemoved = errors.New("the job file was removed from processing/")
)

// NotDueError says that a job was not claimed because its time has not come.
type NotDueError struct{ Due time.Time }

func (e *NotDueError) Error() string { return "not due before " + e.Due.Format(time.RFC3339Nano) }

// DuplicateError says that a claimable file has the id of a job in another
// state: ids are unique across the spool, so the file is quarantined.
type DuplicateError struct {
	ID string
	Is State
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("a job with id %s is already %s", e.ID, e.Is)
}

// InvalidError says that an entry is not a valid job; Reason is fit for a
// quarantine file.
type InvalidError struct {
	Name   string
	Reason error
}

func (e *InvalidError) Error() string { return e.Name + ": " + e.Reason.Error() }
func (e *InvalidError) Unwrap() error { return e.Reason }

// Lease is a job claimed by this process. Its file in processing/ is locked
// for as long as the lease is held: the lock, which the kernel drops when
// the process dies, is how recoverers tell a live owner from a dead one.
type Lease struct {
	s   *Spool
	Job *job.Job

	mu       sync.Mutex // the file is rewritten by one method at a time
	f        *os.File   // what holds the lease: the locked file at processing/<id>.json (see holdLease)
	recorded bool       // the file holds the attempt, not only the claim's mark
	to       State      // where the outcome set for Commit sends the job
	moved    bool       // Commit has moved the job to l.to; only the flush is left

	from      State       // where the claim took the job from
	attempt   int         // the run's attempt number, as claimed
	base      int         // len(Job.History) before this run's entry (see addRun)
	unflushed bool        // the claim is marked and renamed, not yet fsynced (Flush)
	mode      fs.FileInfo // the claimed file as it was, to take the mark back

	spoolLocked bool // the caller holds the spool lock exclusively (see recoverShared)
}

// Record writes the running attempt into the leased file (attempts,
// started_at, worker), for those who read processing/ with other tools;
// queuectl itself reads the claim's mark the same way. It does nothing once
// the attempt or the outcome is written. The new contents are fsynced
// before they replace the file, and processing/ is not: if a crash undoes
// the rename, the marked file is still there and says the same.
func (l *Lease) Record() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recorded || l.f == nil {
		return nil
	}
	if err := l.rewrite(false); err != nil {
		return fmt.Errorf("record the attempt of %s: %w", l.Job.ID, err)
	}
	l.recorded = true
	return nil
}

// errLocked says that another process holds a job file's lock.
var errLocked = errors.New("locked by another process")

// closeHeld closes what openHeld returned.
func closeHeld(hold, f *os.File) {
	if f != hold {
		f.Close()
	}
	dropHold(hold)
}

// takeErr maps errors from opening a job file to take it.
func (s *Spool) takeErr(id string, err error) error {
	switch {
	case errors.Is(err, errLocked):
		return ErrBusy
	case errors.Is(err, fs.ErrNotExist):
		return ErrGone
	case errors.Is(err, ErrNotRegular):
		return &InvalidError{Name: id + ".json", Reason: err}
	}
	return fmt.Errorf("take %s: %w", id, err)
}

// samePath checks that the open file whose information is fi is still the
// one at path.
func samePath(fi fs.FileInfo, path string) error {
	if _, same := lookAt(fi, path); !same {
		return ErrGone
	}
	return nil
}

// readJob reads and parses the job in the open file f, whose information
// is fi.
func readJob(f *os.File, fi fs.FileInfo, id string) (*job.Job, error) {
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, kindOf(fi.Mode()))
	}
	if fi.Size() > job.MaxSize {
		return nil, job.ErrTooLarge
	}
	data, err := readAll(f, fi.Size())
	if err != nil {
		return nil, err
	}
	j, err := job.Parse(data, id)
	if err == nil && j.CreatedAt.IsZero() {
		j.CreatedAt = fi.ModTime().UTC() // as in readName
	}
	return j, err
}

// readAll reads the whole of the open file f, of size bytes when it was
// looked at, and at most job.MaxSize+1: in one read where the size still
// holds (a read of size+1 bytes that stops short at the end), where
// io.ReadAll would make two or more.
func readAll(f *os.File, size int64) ([]byte, error) {
	buf := make([]byte, min(size, job.MaxSize)+1)
	n, err := f.ReadAt(buf, 0)
	switch {
	case int64(n) < int64(len(buf)) && (err == nil || err == io.EOF):
		return buf[:n], nil
	case err != nil && err != io.EOF:
		return nil, err
	}
	// The file grew since it was looked at.
	return io.ReadAll(io.NewSectionReader(f, 0, job.MaxSize+1))
}

// moveBack returns a file from processing/ to where it was, under the
// shared spool lock (the move goes against findOrder).
func (s *Spool) moveBack(src, dst string) error {
	unlock, err := s.lock(false)
	if err != nil {
		return err
	}
	defer unlock()
	if err := publish(src, dst); err != nil {
		return err
	}
	crashPoint("move/published")
	return syncDir(dirOf(dst))
}

// rewrite replaces the leased file with the lease's job, keeping the new
// file locked; with durable, the directory is fsynced so the new contents
// survive a crash.
func (l *Lease) rewrite(durable bool) error {
	data, err := job.Marshal(l.Job)
	if err != nil {
		return err
	}
	path, f, err := l.s.writeTempLocked(l.Job.ID, data)
	if err != nil {
		return err
	}
	if err := l.replaceWith(path, f); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	if err := syncDir(l.s.dir(Processing)); err != nil {
		return err
	}
	crashPoint("rewrite/dir-synced")
	return nil
}

// replaceWith renames the new record at path, open and locked as f, over
// the leased file in processing/, and makes f the lease's file. On error
// the record is removed and the lease keeps its file. If the leased file
// is no longer at its name in processing/ (removed by hand while the job
// ran), the error is ErrRemoved: a user who removes a running job's file
// does not want it back.
func (l *Lease) replaceWith(path string, f *os.File) error {
	dst := l.s.path(Processing, l.Job.ID)
	err := l.stillThere(dst)
	swapped := false
	if err == nil {
		// Where names can be exchanged, the old file moves to the
		// record's name, to be reused for a later record (recordPool).
		err = errNoExchange
		if l.s.pool.on.Load() {
			err = exchange(path, dst)
		}
		if err == nil {
			swapped = true
		} else if errors.Is(err, errNoExchange) {
			err = replaceOpen(path, f, dst)
		}
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	crashPoint("rewrite/renamed")
	if swapped {
		if poolable(l.f, path) {
			l.s.pool.put(l.f, path, time.Now())
		} else {
			os.Remove(path)
			l.f.Close()
		}
		l.f = f
		return nil
	}
	l.f = keepHold(l.f, f) // the old file is gone from processing/
	return nil
}

// errNoExchange says that two names cannot be exchanged in one step here.
var errNoExchange = errors.New("cannot exchange names")

// Release drops the lease's lock without moving the job; a recoverer will
// put it back. For the end of a completed move, and for tests.
func (l *Lease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.release()
}

// stillThere checks that the leased file is the one at dst.
func (l *Lease) stillThere(dst string) error {
	ok, err := holdsFileAt(l.f, dst)
	if err == nil && !ok {
		err = ErrRemoved
	}
	return err
}

func (l *Lease) release() {
	if l.f != nil {
		dropHold(l.f)
		l.f = nil
	}
}
