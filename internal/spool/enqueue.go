package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
	"github.com/queuectl/queuectl/internal/job"
)

// findOrder is the order in which Find looks through the states. A job
// moves between directories while Find runs; it can only be missed if it
// moves from a directory not yet looked at to one already passed. Moves in
// this order's direction (claim, complete, bury) need nothing; the moves
// against it (fail: processing to failed, recover: processing to pending,
// retry: dead to pending) hold the spool lock shared, and Enqueue holds it
// exclusively while it looks, so it never misses a job that exists.
var findOrder = []State{Pending, Failed, Processing, Done, Dead}

// Find returns the state of job id, or ErrNotFound.
func (s *Spool) Find(id string) (State, error) {
	if err := job.CheckID(id); err != nil {
		return "", err
	}
	for _, st := range findOrder {
		_, err := os.Lstat(s.path(st, id))
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("find %s: %w", id, err)
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, id)
}

// lock takes the spool lock, exclusive or shared, and returns its release.
// A spool opened ReadOnly creates no lock file: where there is none, no
// process has ever taken the lock, and the release does nothing.
func (s *Spool) lock(exclusive bool) (func(), error) {
	opts := []flock.Option{flock.SetPermissions(s.fileMode())}
	switch {
	case s.readOnly:
		opts = append(opts, flock.SetFlag(os.O_RDONLY))
	case s.network:
		// NFSv4 emulates flock with POSIX locks, and an exclusive one
		// needs a descriptor open for writing.
		opts = append(opts, flock.SetFlag(os.O_CREATE|os.O_RDWR))
	}
	l := flock.New(filepath.Join(s.root, lockName), opts...)
	var err error
	if exclusive {
		err = l.Lock()
	} else {
		err = l.RLock()
	}
	if s.readOnly && errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	return func() { l.Close() }, nil
}

// Enqueue stores a new job in pending/. The job must have a valid id that no
// job in any state has; otherwise the error matches ErrExists. When Enqueue
// returns nil the job is on disk and survives a crash or power cut.
//
// Order: the file is written and fsynced in tmp/ first; then, under the
// exclusive spool lock, Enqueue checks every state for the id and publishes
// the file into pending/ with a rename that never overwrites (so even a
// file dropped by another tool is not replaced); last it fsyncs pending/ so
// the new name survives a crash.
func (s *Spool) Enqueue(j *job.Job) error {
	if err := job.CheckID(j.ID); err != nil {
		return err
	}
	now := s.now()
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	j.UpdatedAt = now
	j.State = string(Pending)
	if err := j.Validate(); err != nil {
		return err
	}
	data, err := job.Marshal(j)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	tmp, err := s.writeTemp(j.ID, data)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	unlock, err := s.lock(true)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	st, err := s.Find(j.ID)
	if err == nil {
		unlock()
		os.Remove(tmp)
		return fmt.Errorf("enqueue %s: %w (it is %s)", j.ID, ErrExists, st)
	}
	if !errors.Is(err, ErrNotFound) {
		unlock()
		os.Remove(tmp)
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	dst := s.path(Pending, j.ID)
	err = publish(tmp, dst)
	// Once published, the name is visible to the next Find: the lock can go
	// before the slow directory fsync.
	unlock()
	crashPoint("enqueue/published")
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("enqueue %s: %w (it is pending)", j.ID, ErrExists)
		}
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	if err := syncDir(s.dir(Pending)); err != nil {
		// The job is visible but may not survive a crash: take it back
		// rather than acknowledge it. If a worker claimed it meanwhile,
		// the claim made it durable and it is accepted after all.
		back := s.tempPath(j.ID)
		if perr := publish(dst, back); errors.Is(perr, fs.ErrNotExist) {
			return nil
		} else if perr != nil {
			return fmt.Errorf("enqueue %s: %w; the job may or may not be queued: check with queuectl list", j.ID, errors.Join(err, perr))
		}
		os.Remove(back)
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	crashPoint("enqueue/dir-synced")
	return nil
}

// IsTemporary reports whether err is a condition that may pass by itself
// (disk full, I/O error): the operation changed nothing and may be retried.
func IsTemporary(err error) bool { return isTemporary(err) }
