package spool

import (
	"cmp"
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

// Claim takes job id out of state from (pending or failed) into processing/
// for worker, and makes the new attempt durable before returning. Of any
// number of processes claiming one job, exactly one succeeds; the others
// get ErrGone or ErrBusy.
//
// Order: the file is opened and locked where it is, checked to still be
// the file at that name (so a lock on a file that moved on is useless),
// parsed and checked for due time. It is then marked as claimed (its write
// permission goes, see markClaimed), moved by a rename that never
// overwrites, checked to be at its new name (a foreign mv may have put
// another file at the old one), and processing/ is fsynced. That fsync is the only flush
// before the command runs, and it is what counts the attempt: a file in
// processing/ with the mark stands for "attempts in the file, plus the run
// that started", which is how Recover and List read it. The mark is made
// before the rename, so journaling file systems, which commit metadata in
// order (ext4, XFS), persist it with the rename or earlier. A crash before
// the fsync may undo the rename, and with it the claim: the job is then
// where it was, its run not started.
//
// The attempt is written into the file (attempts + 1, started_at, worker)
// only by Record, which the worker calls once a run lasts, or by the
// outcome: a short job's file is rewritten once, not twice. Where there is
// no mark (Windows, a file with other hard links, another user's file),
// the attempt is written and flushed before returning.
func (s *Spool) Claim(from State, id, worker string) (*Lease, error) {
	l, err := s.ClaimUnflushed(from, id, worker)
	if err != nil {
		return nil, err
	}
	if err := l.Flush(); err != nil {
		if l.Held() {
			l.Release() // a recoverer puts it back
		}
		return nil, err
	}
	return l, nil
}

// ClaimUnflushed is Claim without its last step, the fsync of processing/
// that counts the attempt: the caller must call Flush before the job's
// command runs. A worker flushes while the job's shell starts up.
func (s *Spool) ClaimUnflushed(from State, id, worker string) (*Lease, error) {
	src := s.path(from, id)
	f, fi, err := s.openLocked(src)
	if err != nil {
		return nil, s.takeErr(id, err)
	}
	crashPoint("claim/locked")
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if err := samePath(fi, src); err != nil {
		return nil, err
	}
	j, err := readJob(f, fi, id)
	if err != nil {
		return nil, &InvalidError{Name: id + ".json", Reason: err}
	}
	now := s.now()
	if due := j.Due(); due.After(now) {
		return nil, &NotDueError{Due: due}
	}
	// A file dropped under the id of an existing job must not run: its
	// outcome could not be stored without overwriting the other job.
	for _, st := range findOrder {
		if st == from {
			continue
		}
		if _, err := os.Lstat(s.path(st, id)); err == nil {
			return nil, &DuplicateError{ID: id, Is: st}
		}
	}
	hold, err := s.holdLease(id, f)
	if err != nil {
		return nil, s.takeErr(id, err)
	}
	if hold != f {
		defer func() {
			if !ok {
				dropHold(hold)
			}
		}()
	}
	marked := false
	if !s.network { // a claim there names its worker in the file at once (see shared)
		marked, err = markClaimed(f, fi)
	}
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", id, err)
	}
	crashPoint("claim/marked")
	dst := s.path(Processing, id)
	if err := publish(src, dst); err != nil {
		if marked {
			unmarkClaimed(f, fi)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrGone
		}
		if errors.Is(err, fs.ErrExist) {
			return nil, &DuplicateError{ID: id, Is: Processing}
		}
		return nil, fmt.Errorf("claim %s: %w", id, err)
	}
	crashPoint("claim/renamed")
	if err := samePath(fi, dst); err != nil {
		// Another file took the name between the check and the rename
		// (a foreign tool's mv): what moved is not the file locked and
		// read here. Put it back; its own Create event re-indexes it.
		if err := s.moveBack(dst, src); err != nil {
			return nil, fmt.Errorf("claim %s: the file was replaced while claimed, and could not be put back: %w", id, err)
		}
		return nil, ErrGone
	}
	if hold != f {
		f.Close() // the lease holds its own lock: the job file must be free to be replaced
	}
	j.Attempts++
	j.StartedAt, j.FinishedAt, j.UpdatedAt = now, time.Time{}, now
	j.Worker = worker
	j.State = string(Processing)
	l := &Lease{s: s, Job: j, f: hold, from: from, unflushed: marked, mode: fi, attempt: j.Attempts, base: len(j.History)}
	ok = true // from here on, the lease owns what it holds
	if !marked {
		l.recorded = true
		if err := l.rewrite(true); err != nil {
			err = l.undo(err)
			l.release()
			return nil, err
		}
	}
	return l, nil
}

// Unflushed reports whether the claim still needs Flush.
func (l *Lease) Unflushed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unflushed
}

// Flush makes the claim durable, and with it the attempt: processing/ is
// fsynced. If that fails the claim is undone (the job goes back where it
// was, its run not started) and the lease released; if even the undo
// fails (no descriptor for the spool lock, say), the lease is kept (Held)
// for the caller to put the job back later (PutBack).
func (l *Lease) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.unflushed {
		return nil
	}
	if err := syncDir(l.s.dir(Processing)); err != nil {
		return l.undo(err)
	}
	l.unflushed = false
	crashPoint("claim/synced")
	return nil
}

// undo puts back a claim whose attempt could not be made durable, and
// releases the lease. (If an attempt record was written but not flushed,
// the count stays raised.) If the job cannot be moved back, the lease is
// kept: released, the job would wait for a recoverer, which counts the run
// that never started.
func (l *Lease) undo(err error) error {
	src, dst := l.s.path(l.from, l.Job.ID), l.s.path(Processing, l.Job.ID)
	if uerr := l.s.moveBack(dst, src); uerr != nil {
		return fmt.Errorf("claim %s: %w", l.Job.ID, errors.Join(err, uerr))
	}
	if l.unflushed {
		unmarkClaimed(l.f, l.mode)
	}
	l.release() // rewrite may have swapped in a new locked file
	return fmt.Errorf("claim %s: %w", l.Job.ID, err)
}

// Held reports whether the lease still holds its job: false once the
// outcome is committed, or the claim undone, or the lease released.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f != nil
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
	pi, err := os.Lstat(path)
	if err != nil || !os.SameFile(fi, pi) {
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
	data, err := io.ReadAll(io.NewSectionReader(f, 0, job.MaxSize+1))
	if err != nil {
		return nil, err
	}
	j, err := job.Parse(data, id)
	if err == nil && j.CreatedAt.IsZero() {
		j.CreatedAt = fi.ModTime().UTC() // as in readName
	}
	return j, err
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

// Complete records a successful run and moves the job to done/.
func (l *Lease) Complete(output string) error {
	l.SetComplete(output)
	return l.s.Commit(l)[0]
}

// Fail records a failed run and the tail of its output. With retries left
// the job goes to failed/, due again after delay; otherwise to dead/. It
// returns the state reached.
func (l *Lease) Fail(msg string, exitCode *int, output string, maxRetries int, delay time.Duration) (State, error) {
	to := l.SetFail(msg, exitCode, output, maxRetries, delay)
	return to, l.s.Commit(l)[0]
}

// Requeue puts an interrupted job back in pending/ to run again at once, or
// in dead/ if the interrupted run was its last. It returns the state reached.
func (l *Lease) Requeue(msg string, maxRetries int) (State, error) {
	to := l.SetRequeue(msg, maxRetries)
	return to, l.s.Commit(l)[0]
}

// SetComplete sets the outcome of a successful run, for Commit: done/.
func (l *Lease) SetComplete(output string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		// The job already sits where its outcome sent it; only the
		// flush is left, and a second look must not send it elsewhere.
		return
	}
	zero := 0
	l.Job.ExitCode = &zero
	l.Job.Output = output
	l.Job.LastError = ""
	l.Job.FinishedAt = l.s.now()
	l.addRun(false)
	l.to = Done
}

// addRun sets the run's entry in the job's history from the outcome just
// set: its attempt, times, worker, exit code and error. Setting an outcome
// again (a Commit that failed is tried again) replaces the entry rather
// than adding one; Marshal keeps the latest job.MaxHistory entries.
func (l *Lease) addRun(stopped bool) {
	r := job.Run{
		Attempt: l.attempt, StartedAt: l.Job.StartedAt, FinishedAt: l.Job.FinishedAt,
		Worker: l.Job.Worker, ExitCode: l.Job.ExitCode, Error: l.Job.LastError, Stopped: stopped,
	}
	if stopped {
		r.ExitCode, r.Error = nil, "stopped: the run is not counted"
	}
	l.Job.History = append(l.Job.History[:min(l.base, len(l.Job.History))], r)
}

// SetFail sets the outcome of a failed run, with the tail of its output,
// for Commit: failed/, due again after delay, or dead/ once its retries are
// spent. It returns that state.
func (l *Lease) SetFail(msg string, exitCode *int, output string, maxRetries int, delay time.Duration) State {
	return l.setFail(msg, exitCode, output, false, maxRetries, delay)
}

// SetFailFinal sets the outcome of a failed run that is not to be retried
// (its exit code says the job cannot succeed), for Commit: dead/, whatever
// retries are left.
func (l *Lease) SetFailFinal(msg string, exitCode *int, output string) State {
	return l.setFail(msg, exitCode, output, true, 0, 0)
}

func (l *Lease) setFail(msg string, exitCode *int, output string, final bool, maxRetries int, delay time.Duration) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		// The job already sits where its outcome sent it; only the
		// flush is left, and a second look must not send it elsewhere.
		return l.to
	}
	now := l.s.now()
	l.Job.LastError = msg
	l.Job.ExitCode = exitCode
	l.Job.Output = output
	l.Job.FinishedAt = now
	l.addRun(false)
	l.to = Failed
	if final || l.Job.Attempts >= 1+l.Job.Retries(maxRetries) {
		l.to = Dead
		l.Job.RunAt = time.Time{}
	} else {
		l.Job.RunAt = now.Add(delay)
	}
	return l.to
}

// SetRequeue sets the outcome of an interrupted run, for Commit: pending/,
// to run again at once, or dead/ if the run was its last. It returns that
// state.
func (l *Lease) SetRequeue(msg string, maxRetries int) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		// The job already sits where its outcome sent it; only the
		// flush is left, and a second look must not send it elsewhere.
		return l.to
	}
	l.to = requeueState(l.Job, maxRetries)
	l.Job.LastError = msg
	l.Job.ExitCode = nil
	l.Job.FinishedAt = l.s.now()
	l.Job.RunAt = time.Time{}
	l.addRun(false)
	return l.to
}

// SetStopped sets the outcome of a run that its worker stopped (worker
// stop, SIGTERM, Ctrl-C) or could not start for a fault of its own (no
// descriptors or memory left), for Commit: the job goes back where it was
// claimed from as if the run had not started, its attempt not counted.
// (A run whose worker crashed is counted: see Recover.)
func (l *Lease) SetStopped() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		return l.to
	}
	l.to = cmp.Or(l.from, Pending)
	l.Job.FinishedAt = l.s.now()
	l.addRun(true)
	l.Job.Attempts = max(l.attempt-1, 0)
	return l.to
}

// PutBack records a stopped run (see SetStopped) and moves the job back.
func (l *Lease) PutBack() (State, error) {
	to := l.SetStopped()
	return to, l.s.Commit(l)[0]
}

func requeueState(j *job.Job, maxRetries int) State {
	if j.Attempts >= 1+j.Retries(maxRetries) {
		return Dead
	}
	return Pending
}

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
