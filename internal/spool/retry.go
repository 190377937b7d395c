package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// Retry moves job id from the dead letter queue back to pending/ with its
// attempts reset, to be run as soon as a worker is free. The error matches
// ErrNotFound when no job has the id, and is a *StateError when the job is
// not dead. A job with a unique_key takes its key again; if another live
// job holds it meanwhile, the job stays dead and the error is a
// *KeyTakenError. Its interruptions are reset with its attempts.
//
// The job is first rewritten in place in dead/ (attempts reset), then moved
// by one rename: it is never in two directories, and a crash in between
// leaves a dead job with its attempts reset, which the next retry moves.
func (s *Spool) Retry(id string) (*job.Job, error) {
	// Exclusive: two retries of one job must not both rewrite and move it
	// (the second would recreate dead/<id>.json behind the first), and the
	// move goes against findOrder.
	unlock, err := s.lock(true)
	if err != nil {
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	defer unlock()
	st, err := s.Find(id)
	if err != nil {
		return nil, err
	}
	if st != Dead {
		return nil, &StateError{ID: id, Is: st, Want: Dead}
	}
	j, err := s.Read(Dead, id)
	if err != nil {
		return nil, err
	}
	if j.UniqueKey != "" {
		holder, hst, err := s.keyHolder(j.UniqueKey)
		if err != nil {
			return nil, fmt.Errorf("retry %s: %w", id, err)
		}
		if holder != "" && holder != id {
			return nil, fmt.Errorf("retry %s: %w: the job stays dead", id, &KeyTakenError{Key: j.UniqueKey, ID: holder, Is: hst})
		}
		if err := s.reserveKey(j.UniqueKey, id); err != nil {
			return nil, fmt.Errorf("retry %s: reserving its unique key: %w", id, err)
		}
	}
	j.Attempts, j.Interrupts = 0, 0
	j.RunAt = time.Time{}
	j.UpdatedAt = s.now()
	j.State = string(Pending)
	data, err := job.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	// A cancel request left behind (its cancel was interrupted) would bury
	// the job again at its next claim.
	s.ClearCancel(id)
	src := s.path(Dead, id)
	if err := s.replace(src, id, data); err != nil {
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	err = publish(src, s.path(Pending, id))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("retry %s: %w (it moved while being retried)", id, ErrNotFound)
	case errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("retry %s: %w (a file pending/%s.json was dropped meanwhile)", id, ErrExists, id)
	case err != nil:
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	if err := syncDir(s.dir(Pending)); err != nil {
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	if err := syncDir(s.dir(Dead)); err != nil {
		return nil, fmt.Errorf("retry %s: %w", id, err)
	}
	return j, nil
}
