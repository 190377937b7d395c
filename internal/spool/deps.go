package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// Dependencies. A job that names others in after waits in pending/ until
// every one of them is in done/ (job.Waits). Workers decide when it may
// run; the spool keeps, for retention, which done jobs are still needed:
// deps/<id> lists, one a line, the jobs enqueued with id in their after.
// Lines are added under the exclusive spool lock at enqueue, and the file
// is removed once none of them waits any more (see Needed).
const dirDeps = "deps"

// UnknownDependencyError says that a job names in after an id that no job
// has. It matches ErrNotFound.
type UnknownDependencyError struct {
	ID  string // the job being enqueued
	Dep string
}

func (e *UnknownDependencyError) Error() string {
	return fmt.Sprintf("job %s is to run after %s, but there is no job %s: enqueue it first", e.ID, e.Dep, e.Dep)
}

func (e *UnknownDependencyError) Unwrap() error { return ErrNotFound }

// Messages of jobs buried for their dependencies.
func DependencyFailed(dep string) string  { return "dependency " + dep + " failed" }
func DependencyRemoved(dep string) string { return "dependency " + dep + " removed" }

// checkAfter checks that every id in j's after is a job of the spool, or
// one of earlier (the jobs of a batch that come before j). The caller holds
// the spool lock exclusively.
func (s *Spool) checkAfter(j *job.Job, earlier map[string]bool) error {
	for _, dep := range j.After {
		if earlier[dep] {
			continue
		}
		if _, err := s.Find(dep); errors.Is(err, ErrNotFound) {
			return &UnknownDependencyError{ID: j.ID, Dep: dep}
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *Spool) depPath(id string) string { return filepath.Join(s.root, dirDeps, id) }

// addWaiter notes in deps/ that job id waits for each of after, durably.
// The caller holds the spool lock exclusively.
func (s *Spool) addWaiter(after []string, id string) error {
	if len(after) == 0 {
		return nil
	}
	if err := s.ensureDir(dirDeps); err != nil {
		return err
	}
	created := false
	for _, dep := range after {
		p := s.depPath(dep)
		_, err := os.Lstat(p)
		created = created || errors.Is(err, fs.ErrNotExist)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, s.fileMode())
		if err != nil {
			return err
		}
		_, err = f.WriteString(id + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if created {
		return syncDir(filepath.Join(s.root, dirDeps))
	}
	return nil
}

// Needed reports whether job id is still needed by a job that waits for
// it: one that names it in after and is still in pending/. Retention must
// not remove a done job that is needed (the waiting job would then be
// buried with "dependency id removed"). It costs one lstat for a job that
// no job ever named in after; for one that was named, a read of its
// deps/ file and an lstat per job listed there, until one is found
// waiting. When none waits any more, the deps/ file is removed. When it
// cannot tell (an I/O error), Needed says true: keeping is safe.
//
// A job enqueued after Needed returned false may still name id (Enqueue
// accepts any job that exists): if id is removed then, that job is buried
// as "dependency removed", as it is after purge.
func (s *Spool) Needed(id string) bool {
	if job.CheckID(id) != nil {
		return false
	}
	data, err := os.ReadFile(s.depPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	for w := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		if job.CheckID(w) != nil {
			continue
		}
		if _, err := os.Lstat(s.path(Pending, w)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	// None waits: the file goes, unless an enqueue added a waiter since.
	unlock, err := s.lock(true)
	if err != nil {
		return false
	}
	defer unlock()
	if now, err := os.ReadFile(s.depPath(id)); err == nil && bytes.Equal(now, data) {
		os.Remove(s.depPath(id))
	}
	return false
}

// ForgetWaiters removes the deps/ file of job id, once id is dead or gone
// and every job that waited for it has been buried.
func (s *Spool) ForgetWaiters(id string) {
	if job.CheckID(id) == nil {
		os.Remove(s.depPath(id))
	}
}

// FindSure is Find under the exclusive spool lock, which no move between
// states holds while Find looks: a job that exists is never missed. For
// the rare cases where a miss would be acted on (a dependency that seems
// gone).
func (s *Spool) FindSure(id string) (State, error) {
	unlock, err := s.lock(true)
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.Find(id)
}

// BuryWaiting moves job id, which waits in from (pending/, or failed/ for a
// file dropped there) for dep, to dead/ with
// last_error msg (see DependencyFailed and DependencyRemoved). It takes the
// file as CancelWaiting does, so that of a burial and any number of claims
// exactly one wins; ErrGone or ErrBusy say that it lost. A job that no
// longer waits for dep (changed or put back meanwhile) is left where it is,
// and the error is ErrGone.
func (s *Spool) BuryWaiting(from State, id, dep, msg string) error {
	if from != Pending && from != Failed {
		return &StateError{ID: id, Is: from, Want: Pending}
	}
	l, err := s.takeWaiting(from, id)
	if err != nil {
		return err
	}
	if !l.Job.Waits() || !slices.Contains(l.Job.After, dep) {
		err := s.moveBack(s.path(Processing, id), s.path(from, id))
		l.Release()
		if err != nil {
			return fmt.Errorf("bury %s: %w", id, err)
		}
		return ErrGone
	}
	l.mu.Lock()
	l.Job.LastError = msg
	l.Job.ExitCode = nil
	l.Job.FinishedAt = s.now()
	l.Job.RunAt = time.Time{}
	l.to = Dead
	l.mu.Unlock()
	if err := s.Commit(l)[0]; err != nil {
		// In processing/, locked by this process: released, it is an
		// orphan that recovery puts back.
		l.Release()
		return err
	}
	return nil
}
