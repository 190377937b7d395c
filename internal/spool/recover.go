package spool

import (
	"cmp"
	"fmt"
	"io/fs"

	"github.com/queuectl/queuectl/internal/job"
)

// Recover puts job id back from processing/ if its owner is dead (its lock
// can be taken): to pending/, or to dead/ if the interrupted run was its
// last. The interrupted run stays counted in attempts, and in the job's
// interruptions: a job recovered maxInterrupts times (its runs keep dying
// with their workers: a poison job that kills them, say) goes to dead/
// instead, saying so in last_error; 0 is no limit. It returns the job
// and the state reached; ErrBusy if the owner lives, ErrGone if the file
// moved on. Two recoverers never recover one job twice: the second waits
// for the lock, then finds the file moved or replaced. A job with a cancel
// request (see RequestCancel) goes to dead/ as cancelled instead, unless
// its run had ended done or dead.
//
// On a network spool the owner is judged as recoverShared says.
func (s *Spool) Recover(id string, maxRetries, maxInterrupts int) (*job.Job, State, error) {
	if s.network {
		return s.recoverShared(id, maxRetries, maxInterrupts)
	}
	src := s.path(Processing, id)
	hold, f, fi, err := s.openHeld(Processing, id)
	if err != nil {
		return nil, "", s.takeErr(id, err)
	}
	if err := samePath(fi, src); err != nil {
		closeHeld(hold, f)
		return nil, "", err
	}
	j, err := readJob(f, fi, id)
	if err != nil {
		closeHeld(hold, f)
		return nil, "", &InvalidError{Name: id + ".json", Reason: err}
	}
	if hold != f {
		f.Close()
	}
	return s.recoverLease(&Lease{s: s, Job: j, f: hold}, fi, maxRetries, maxInterrupts)
}

// recoverLease puts back the job of an owner found dead, held as l, its
// file fi as read.
func (s *Spool) recoverLease(l *Lease, fi fs.FileInfo, maxRetries, maxInterrupts int) (*job.Job, State, error) {
	j := l.Job
	id := j.ID
	if st, ok := s.halfMoved(fi, Processing, id); ok {
		// Its owner died in the middle of a move (see halfMoved): finish
		// it rather than move the job anywhere else.
		if err := s.finishMove(l, st); err != nil {
			return nil, "", err
		}
		return j, st, nil
	}
	// Claimed, and the run started, but its attempt not written: count
	// it here.
	claimed(j, fi)
	l.attempt, l.base = j.Attempts, len(j.History)
	to := State(j.State)
	if (to != Done && to != Dead) && s.CancelRequested(id) {
		// Cancelled while it ran, or after it failed but before the
		// move: the cancel is honoured, and it does not run again. The
		// interrupted run stays counted.
		l.setCancelled(j.Output, true)
		if err := s.Commit(l)[0]; err != nil {
			l.Release()
			return nil, "", err
		}
		s.ClearCancel(id)
		return j, Dead, nil
	}
	switch to {
	case Done, Failed, Dead:
		// The outcome was recorded but the owner died before the move
		// that follows: finish the move rather than run the job again.
		l.to = to
		if err := s.Commit(l)[0]; err != nil {
			l.Release()
			return nil, "", err
		}
		return j, to, nil
	}
	if to == Processing && j.Worker != "" && s.terminatedByStop(j.Worker) {
		// worker stop terminated the owner, which could not put the job
		// back itself: a stop never uses up a retry.
		st, err := l.PutBack()
		if err != nil {
			l.Release()
			return nil, "", err
		}
		return j, st, nil
	}
	owner := cmp.Or(j.Worker, "unknown")
	msg := fmt.Sprintf("interrupted: worker %s stopped during attempt %d", owner, j.Attempts)
	j.Interrupts++
	l.SetRequeue(msg, maxRetries)
	if maxInterrupts > 0 && j.Interrupts >= maxInterrupts {
		// Fixed after SetRequeue, whose history entry keeps the plain
		// message of this run.
		j.LastError = fmt.Sprintf("%s; not run again: its runs were interrupted %d times (max_interruptions %d), each with its worker", msg, j.Interrupts, maxInterrupts)
		l.to = Dead
	}
	st := l.to
	if err := s.Commit(l)[0]; err != nil {
		l.Release()
		return nil, "", err
	}
	return j, st, nil
}

// Orphans lists the ids in processing/ whose owner is dead. It only looks:
// Recover decides again under the lock.
func (s *Spool) Orphans() ([]string, error) {
	if s.network {
		if ids, ok := s.expiredOrphans(); ok {
			return ids, nil
		}
	}
	names, err := s.names(Processing)
	if err != nil {
		return nil, err
	}
	if s.network {
		return s.orphansShared(names), nil
	}
	var ids []string
	for _, n := range names {
		id, err := IDFromName(n)
		if err != nil {
			continue
		}
		hold, f, _, err := s.openHeld(Processing, id)
		if err != nil {
			continue
		}
		closeHeld(hold, f)
		ids = append(ids, id)
	}
	return ids, nil
}
