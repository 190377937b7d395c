package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/queuectl/queuectl/internal/job"
)

// BatchError says which job of a batch made it fail; Index counts from 0.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return e.Err.Error() }
func (e *BatchError) Unwrap() error { return e.Err }

// EnqueueBatch stores many new jobs with far fewer flushes than Enqueue
// one by one: all files are written to tmp/, flushed together (one syncfs
// on Linux), checked for unique ids under the spool lock, published with
// renames that never overwrite, and pending/ is fsynced once. Either every
// job is enqueued or, on error, none is (the error says which job).
//
// Safe under a crash: a file is visible in pending/ only once complete
// and flushed; after a crash during the renames some jobs of the batch
// may be queued and others not, since the batch was not acknowledged.
func (s *Spool) EnqueueBatch(jobs []*job.Job) error {
	now := s.now()
	datas := make([][]byte, len(jobs))
	seen := make(map[string]int, len(jobs))
	for i, j := range jobs {
		if err := job.CheckID(j.ID); err != nil {
			return &BatchError{i, err}
		}
		if k, dup := seen[j.ID]; dup {
			return &BatchError{i, fmt.Errorf("id %s is also job %d of the batch", j.ID, k+1)}
		}
		seen[j.ID] = i
		if j.CreatedAt.IsZero() {
			j.CreatedAt = now
		}
		j.UpdatedAt = now
		j.State = string(Pending)
		if err := j.Validate(); err != nil {
			return &BatchError{i, err}
		}
		data, err := job.Marshal(j)
		if err != nil {
			return &BatchError{i, err}
		}
		datas[i] = data
	}
	tmps := make([]string, 0, len(jobs))
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for i, j := range jobs {
		path, err := s.createTemp(j.ID, datas[i], false)
		if err != nil {
			cleanup()
			return fmt.Errorf("enqueue batch: %w", err)
		}
		tmps = append(tmps, path)
	}
	// Every file on disk before any becomes visible in pending/.
	if err := syncFiles(s.dir(Pending), tmps); err != nil {
		cleanup()
		return fmt.Errorf("enqueue batch: %w", err)
	}
	unlock, err := s.lock(true)
	if err != nil {
		cleanup()
		return fmt.Errorf("enqueue batch: %w", err)
	}
	for i, j := range jobs {
		if st, err := s.Find(j.ID); err == nil {
			unlock()
			cleanup()
			return &BatchError{i, fmt.Errorf("enqueue %s: %w (it is %s)", j.ID, ErrExists, st)}
		} else if !errors.Is(err, ErrNotFound) {
			unlock()
			cleanup()
			return fmt.Errorf("enqueue batch: %w", err)
		}
	}
	for i, j := range jobs {
		if err := publish(tmps[i], s.path(Pending, j.ID)); err != nil {
			// Only a file dropped by another tool meanwhile, or an I/O
			// error, gets here: take back what was published and is
			// still pending; a job a worker has already claimed stays.
			var kept []string
			for k := range i {
				if perr := publish(s.path(Pending, jobs[k].ID), tmps[k]); perr != nil {
					kept = append(kept, jobs[k].ID)
				}
			}
			unlock()
			cleanup()
			_ = syncDir(s.dir(Pending))
			if errors.Is(err, fs.ErrExist) {
				err = fmt.Errorf("enqueue %s: %w (it is pending)", j.ID, ErrExists)
			}
			if len(kept) > 0 {
				// Not a BatchError: the batch is not all-or-nothing any more.
				return fmt.Errorf("%v; %d job(s) of the batch were already taken by workers and stay queued: %s", err, len(kept), strings.Join(kept, " "))
			}
			return &BatchError{i, err}
		}
	}
	unlock()
	crashPoint("enqueue/published")
	if err := syncDir(s.dir(Pending)); err != nil {
		// The jobs are visible but may not survive a crash, and workers
		// may have started them: this is no "nothing changed" (not %w).
		return fmt.Errorf("enqueue batch: flushing pending/: %v; the jobs are queued but may not survive a crash: check with queuectl list", err)
	}
	return nil
}
