package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Cancelled is the last_error of a job that was cancelled.
const Cancelled = "cancelled"

// A cancel request for a running job is the file workers/<job-id>.cancel:
// every worker watches workers/ already (for its stop flag), so the request
// reaches the job's owner within milliseconds, and recovery reads it when
// the owner has died (see Recover). It is written durably, because a crash
// must not turn a cancelled job into one that runs again.
const cancelExt = ".cancel"

// RequestCancel asks for job id to be cancelled by writing its cancel
// request, durably: the file is fsynced in tmp/, renamed into workers/, and
// workers/ is fsynced. A request that exists already is kept.
func (s *Spool) RequestCancel(id string) error {
	tmp, err := s.writeTemp("cancel-"+id, nil)
	if err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	err = publish(tmp, s.workerPath(id, cancelExt))
	if errors.Is(err, fs.ErrExist) {
		os.Remove(tmp)
		err = nil
	}
	if err == nil {
		err = syncDir(s.WorkerDir())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	return nil
}

// CancelRequested reports whether job id has a cancel request: one lstat.
func (s *Spool) CancelRequested(id string) bool {
	return exists(s.workerPath(id, cancelExt))
}

// ClearCancel removes the cancel request of job id, once the job is
// settled (in done/ or dead/) or back in the queue by dlq retry.
func (s *Spool) ClearCancel(id string) {
	os.Remove(s.workerPath(id, cancelExt))
}

// CancelFlagJob returns the job id that a name in WorkerDir asks to cancel,
// if it is a cancel request.
func CancelFlagJob(name string) (string, bool) {
	id, ok := strings.CutSuffix(name, cancelExt)
	return id, ok && id != "" && !strings.HasPrefix(id, ".")
}

// staleCancels lists the job ids whose cancel request is left over: the
// job has ended (done or dead) or does not exist, and the request is older
// than a cancel in progress keeps it after the job settles. Those of jobs
// still waiting or running stand: the next claim or recovery honours them.
func (s *Spool) staleCancels() ([]string, error) {
	ids, err := s.cancelRequests()
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, id := range ids {
		if st, err := s.Find(id); err == nil && st != Done && st != Dead {
			continue
		}
		fi, err := os.Lstat(s.workerPath(id, cancelExt))
		if err != nil || s.Now().Sub(fi.ModTime()) < 2*time.Second {
			continue
		}
		stale = append(stale, id)
	}
	return stale, nil
}

// cancelRequests lists the job ids that have a cancel request.
func (s *Spool) cancelRequests() ([]string, error) {
	des, err := os.ReadDir(s.WorkerDir())
	if s.missing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list cancel requests: %w", err)
	}
	var ids []string
	for _, de := range des {
		if id, ok := CancelFlagJob(de.Name()); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// SetCancelled sets the outcome of a cancelled job, for Commit: dead/, with
// last_error "cancelled", no exit code, and the tail of the output of the
// run that was ended. ran is false for a job buried right after its claim,
// before its command started: its attempt is not counted.
func (l *Lease) SetCancelled(output string, ran bool) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		return l.to
	}
	l.setCancelled(output, ran)
	return l.to
}

func (l *Lease) setCancelled(output string, ran bool) {
	if !ran {
		l.Job.Attempts = max(l.attempt-1, 0)
	}
	l.Job.LastError = Cancelled
	l.Job.ExitCode = nil
	l.Job.Output = output
	l.Job.FinishedAt = l.s.now()
	l.Job.RunAt = time.Time{}
	l.to = Dead
	if ran && l.attempt > 0 {
		// A run was cut short (a lease of a waiting job has no run:
		// its attempt is 0).
		l.addRun(false)
	}
}

// Cancel records a cancelled job (see SetCancelled) and moves it to dead/.
func (l *Lease) Cancel(output string, ran bool) error {
	l.SetCancelled(output, ran)
	return l.s.Commit(l)[0]
}

// CancelWaiting cancels job id, which waits in from (pending/ or failed/,
// due or not): it goes to dead/ with last_error "cancelled". It is taken
// the way a claim takes it, so that of a cancel and any number of claims
// exactly one wins: the file is opened and locked where it is, checked to
// be the file at that name, moved into processing/ by a rename that never
// overwrites (no run starts: the file is not marked and attempts stay as
// they are), then written and moved to dead/ by Commit, which fsyncs
// dead/. ErrGone or ErrBusy say that it lost the race (a worker claimed
// it, or is still putting it back): look where it is now and try again.
func (s *Spool) CancelWaiting(from State, id string) error {
	if from != Pending && from != Failed {
		return &StateError{ID: id, Is: from, Want: Pending}
	}
	l, err := s.takeWaiting(from, id)
	if err != nil {
		return err
	}
	l.setCancelled(l.Job.Output, true) // attempts as they are: no run starts here
	if err := s.Commit(l)[0]; err != nil {
		// The job is in processing/, locked by this process: released,
		// it is an orphan that recovery puts back (its cancel is not
		// written, so it is not honoured).
		l.Release()
		return err
	}
	return nil
}

// takeWaiting takes job id out of from (pending/ or failed/) into
// processing/ as a claim does, but without starting a run: the file is
// opened and locked where it is, checked to be the file at that name, and
// moved by a rename that never overwrites; it is not marked and its
// attempts stay as they are. The lease returned has no run (its attempt is
// 0), for an outcome set by its caller and written by Commit.
func (s *Spool) takeWaiting(from State, id string) (*Lease, error) {
	src := s.path(from, id)
	f, fi, j, err := s.openJob(from, id)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	hold, err := s.holdLease(id, f) // as a claim does (see hold_windows.go)
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
	dst := s.path(Processing, id)
	if err := publish(src, dst); err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, ErrGone
		case errors.Is(err, fs.ErrExist):
			return nil, &DuplicateError{ID: id, Is: Processing}
		}
		return nil, fmt.Errorf("take %s: %w", id, err)
	}
	if err := samePath(fi, dst); err != nil {
		// A foreign mv put another file at the name meanwhile (see
		// ClaimUnflushed): put it back.
		if err := s.moveBack(dst, src); err != nil {
			return nil, fmt.Errorf("take %s: the file was replaced while taken, and could not be put back: %w", id, err)
		}
		return nil, ErrGone
	}
	if hold != f {
		f.Close() // the lease holds its own lock: the job file must be free to be replaced
	}
	ok = true
	return &Lease{s: s, Job: j, f: hold, from: from}, nil
}

// Orphaned reports whether job id is in processing/ with no live owner
// (its lock can be taken). It only looks: Recover decides again under the
// lock.
func (s *Spool) Orphaned(id string) bool {
	hold, f, _, err := s.openHeld(Processing, id)
	if err != nil {
		return false
	}
	closeHeld(hold, f)
	return true
}
