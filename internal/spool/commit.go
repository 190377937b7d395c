package spool

import (
	"fmt"
	"os"

	"github.com/queuectl/queuectl/internal/job"
)

// Commit writes the outcome set on each lease (SetComplete, SetFail,
// SetRequeue) and moves each job to the state it chose, with the flushes
// shared: all records are written, then fsynced one after the other (the
// first flush commits the file system's journal for all of them, the others
// only write their own data), then each replaces its job file and moves,
// and each destination directory is fsynced once. A worker whose jobs end
// faster than a flush hands them over in batches, and the cost of
// durability is paid per batch, not per job.
//
// Each job goes through the order of a single move. Its record is complete
// on disk before it replaces the job file in processing/, which stays
// locked, so no recoverer takes it; then one rename moves it. A crash in
// between leaves the job in processing/ with its outcome written, and
// recovery finishes the move. processing/ is not fsynced: if a crash undoes
// the record's rename, the claimed file is still there and recovery runs
// the job again (at-least-once). The fsync of the destination makes the
// outcome durable; on file systems that commit metadata in order (the ext4
// and XFS journals) it also makes the record's rename durable. On others a
// power cut can leave the old file in processing/ beside the moved job:
// recovery then finds the id taken and quarantines the stale copy, and
// nothing is lost.
//
// The errors are per lease, in order. A lease that succeeded is released;
// one that failed keeps its lock and its outcome, and a later Commit of it
// goes on from where this one stopped.
func (s *Spool) Commit(ls ...*Lease) []error {
	errs := s.commit(ls)
	// A job that reached done/ or dead/ frees its unique key. After the
	// moves, and outside commit, which may hold the spool lock shared.
	for i, l := range ls {
		if errs[i] == nil && l.Job.UniqueKey != "" && (l.to == Done || l.to == Dead) {
			s.releaseKey(l.Job.UniqueKey, l.Job.ID)
		}
	}
	return errs
}

func (s *Spool) commit(ls []*Lease) []error {
	errs := make([]error, len(ls))
	for _, l := range ls {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	type record struct {
		path string
		f    *os.File
	}
	recs := make([]record, len(ls))
	now := s.now()
	back := false // a job goes to pending/ or failed/
	for i, l := range ls {
		switch {
		case l.f == nil:
			errs[i] = fmt.Errorf("%s: the lease was released", l.Job.ID)
			continue
		case l.moved:
			continue
		}
		back = back || !l.spoolLocked && (l.to == Pending || l.to == Failed)
		l.recorded = true // from now on the file is written only here
		l.Job.UpdatedAt = now
		l.Job.State = string(l.to)
		data, err := job.Marshal(l.Job)
		if err == nil {
			recs[i].path, recs[i].f, err = s.createRecord(l.Job.ID, data, false)
		}
		errs[i] = err
	}
	for i, r := range recs {
		if r.f != nil {
			if errs[i] = s.syncJobFile(r.f); errs[i] == nil {
				crashPoint("temp/synced")
			}
		}
	}
	// Moves to pending/ and failed/ go against findOrder: they are made
	// under the shared spool lock, and flushed before it is let go.
	if back {
		unlock, err := s.lock(false)
		if err != nil {
			for i, l := range ls {
				if recs[i].f != nil && (l.to == Pending || l.to == Failed) {
					recs[i].f.Close()
					os.Remove(recs[i].path)
					recs[i].f, errs[i] = nil, err
				}
			}
		} else {
			defer unlock()
		}
	}
	for i, l := range ls {
		r := recs[i]
		if r.f == nil {
			continue
		}
		if errs[i] == nil {
			errs[i] = l.replaceWith(r.path, r.f)
		} else {
			r.f.Close()
			os.Remove(r.path)
		}
		if errs[i] != nil {
			continue
		}
		crashPoint("move/recorded")
		if errs[i] = publish(s.path(Processing, l.Job.ID), s.path(l.to, l.Job.ID)); errs[i] == nil {
			l.moved = true
			crashPoint("move/published")
		}
	}
	flushed := map[State]error{}
	for i, l := range ls {
		if !l.moved || errs[i] != nil {
			continue
		}
		err, done := flushed[l.to]
		if !done {
			err = s.syncJobDir(s.dir(l.to))
			flushed[l.to] = err
		}
		if errs[i] = err; err == nil {
			crashPoint("move/done")
			l.release()
		}
	}
	for i, l := range ls {
		if errs[i] != nil {
			errs[i] = fmt.Errorf("%s %s: %w", l.to, l.Job.ID, errs[i])
		}
	}
	return errs
}
