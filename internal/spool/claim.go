package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

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
	f, fi, j, err := s.openJob(from, id)
	if err != nil {
		return nil, err
	}
	crashPoint("claim/locked")
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
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
		if found, same := lookAt(fi, s.path(st, id)); found {
			if same {
				return nil, ErrGone // a move cut short (see halfMoved), for recovery to finish
			}
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
	if err := l.s.syncJobDir(l.s.dir(Processing)); err != nil {
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

// openJob opens job id's file in from and locks it, checks that it is
// still the file at that name (a lock on a file that moved on is useless),
// and reads it: the first step of a claim and of a take (see takeWaiting).
// On error nothing is left open, and the error is ErrGone, ErrBusy or an
// InvalidError for callers to branch on.
func (s *Spool) openJob(from State, id string) (*os.File, fs.FileInfo, *job.Job, error) {
	src := s.path(from, id)
	f, fi, err := s.openLocked(src)
	if err != nil {
		return nil, nil, nil, s.takeErr(id, err)
	}
	if err := samePath(fi, src); err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	j, err := readJob(f, fi, id)
	if err != nil {
		f.Close()
		return nil, nil, nil, &InvalidError{Name: id + ".json", Reason: err}
	}
	return f, fi, j, nil
}
