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
	l := s.lockFile(lockName)
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

// lockFile returns the lock on the file name in the spool's root, opened
// as this spool opens its lock files: created with the spool's file mode,
// read-only on a spool opened ReadOnly (creating nothing), and for
// writing on a network spool.
func (s *Spool) lockFile(name string) *flock.Flock {
	opts := []flock.Option{flock.SetPermissions(s.fileMode())}
	switch {
	case s.readOnly:
		opts = append(opts, flock.SetFlag(os.O_RDONLY))
	case s.network:
		// NFSv4 emulates flock with POSIX locks, and an exclusive one
		// needs a descriptor open for writing.
		opts = append(opts, flock.SetFlag(os.O_CREATE|os.O_RDWR))
	}
	return flock.New(filepath.Join(s.root, name), opts...)
}

// Enqueue stores a new job in pending/. The job must have a valid id that no
// job in any state has; otherwise the error matches ErrExists. Every id in
// its after must be a job's (else an *UnknownDependencyError, which matches
// ErrNotFound). If its unique_key is held by a live job, nothing is stored
// and the error is a *KeyTakenError naming that job. When Enqueue returns
// nil the job is on disk and survives a crash or power cut.
//
// Order: the file is written and fsynced in tmp/ first; then, under the
// exclusive spool lock, Enqueue checks every state for the id and for the
// jobs of after, checks and reserves the unique key (see keys.go), notes
// the job as waiting for its dependencies (see deps.go), removes a log
// that an earlier job of the id left (see removeStaleLog), and publishes the
// file into pending/ with a rename that never overwrites (so even a file
// dropped by another tool is not replaced); last it fsyncs pending/ so the
// new name survives a crash. A crash after the reservation and before the
// publication leaves a marker that names no job, which counts as free.
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
	if err := s.reserve(j, nil); err != nil {
		unlock()
		os.Remove(tmp)
		return err
	}
	if err := s.removeStaleLog(j.ID); err != nil {
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

// removeStaleLog removes logs/<id>.log, which belongs to an earlier job of
// the id when no job has it (a job removed by purge, retention or by hand):
// a new job of that id starts with no log. The caller holds the spool lock
// exclusively and has just found the id free, so no job of the id can
// start writing the log meanwhile; the unlink must come before the publish
// that lets a worker claim the new job. It usually fails with ENOENT,
// which is success.
func (s *Spool) removeStaleLog(id string) error {
	err := os.Remove(s.LogPath(id))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("removing the log an earlier job of this id left: %w", err)
}

// reserve checks j's dependencies (each a job of the spool, or in earlier)
// and its unique key, then reserves the key and notes j as waiting for its
// dependencies. The caller holds the spool lock exclusively.
func (s *Spool) reserve(j *job.Job, earlier map[string]bool) error {
	if err := s.checkAfter(j, earlier); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	if j.UniqueKey != "" {
		id, st, err := s.keyHolder(j.UniqueKey)
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", j.ID, err)
		}
		if id != "" {
			return &KeyTakenError{Key: j.UniqueKey, ID: id, Is: st}
		}
		if err := s.reserveKey(j.UniqueKey, j.ID); err != nil {
			return fmt.Errorf("enqueue %s: reserving its unique key: %w", j.ID, err)
		}
	}
	if err := s.addWaiter(j.After, j.ID); err != nil {
		return fmt.Errorf("enqueue %s: noting its dependencies: %w", j.ID, err)
	}
	return nil
}

// IsTemporary reports whether err is a condition that may pass by itself
// (disk full, I/O error): the operation changed nothing and may be retried.
func IsTemporary(err error) bool { return isTemporary(err) }
