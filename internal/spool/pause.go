package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// pauseName is the pause flag's name in workers/, which every worker
// watches: while it exists, no worker claims a job.
const pauseName = "paused"

func (s *Spool) pausePath() string { return filepath.Join(s.root, dirWorkers, pauseName) }

// IsPauseFlag reports whether a name in WorkerDir is the pause flag.
func IsPauseFlag(name string) bool { return name == pauseName }

// Paused reports whether the spool is paused.
func (s *Spool) Paused() bool { return exists(s.pausePath()) }

// Pause sets the pause flag; was says it was set already. The flag is
// made durable (file and directory fsynced), so a paused spool stays paused
// across a crash. A worker checks the flag after each claim, before the
// job runs: once Pause has returned, no job starts that was not in
// processing/ by then.
func (s *Spool) Pause() (was bool, err error) {
	if s.Paused() {
		return true, nil
	}
	tmp, err := s.writeTemp("paused", []byte(s.now().Format(time.RFC3339Nano)+"\n"))
	if err != nil {
		return false, fmt.Errorf("pause: %w", err)
	}
	err = publish(tmp, s.pausePath())
	if errors.Is(err, fs.ErrExist) {
		os.Remove(tmp)
		return true, nil
	}
	if err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("pause: %w", err)
	}
	if err := syncDir(s.WorkerDir()); err != nil {
		return false, fmt.Errorf("pause: %w", err)
	}
	return false, nil
}

// Resume removes the pause flag; was says it was set.
func (s *Spool) Resume() (was bool, err error) {
	err = os.Remove(s.pausePath())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("resume: %w", err)
	}
	if err := syncDir(s.WorkerDir()); err != nil {
		return true, fmt.Errorf("resume: %w", err)
	}
	return true, nil
}

// PausedSince returns when the pause flag was set, if it is.
func (s *Spool) PausedSince() (time.Time, bool) {
	fi, err := os.Lstat(s.pausePath())
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime().UTC(), true
}
