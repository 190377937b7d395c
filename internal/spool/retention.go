package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// retentionLock is the file in workers/ whose lock a worker holds while it
// runs a retention pass, and whose mtime says when the last pass ended. Its
// name starts with a dot: it is no worker's (Workers skips it).
const retentionLock = ".retention.lock"

// RetentionTurn is a worker's hold of the retention lock: while it holds
// it, no other worker of the spool runs a retention pass.
type RetentionTurn struct {
	f    *os.File
	path string
	last time.Time
}

// TryRetention takes the retention lock without waiting. It returns nil
// and no error when another process holds it: that one is running a pass,
// and a second pass at the same time would only repeat its work.
func (s *Spool) TryRetention() (*RetentionTurn, error) {
	path := filepath.Join(s.WorkerDir(), retentionLock)
	_, err := os.Lstat(path)
	fresh := errors.Is(err, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, s.fileMode())
	if err != nil {
		return nil, fmt.Errorf("retention lock: %w", err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, nil
		}
		return nil, fmt.Errorf("retention lock: %w", err)
	}
	t := &RetentionTurn{f: f, path: path}
	if fi, err := f.Stat(); err == nil && !fresh {
		t.last = fi.ModTime()
	}
	return t, nil
}

// LastPass returns when the last retention pass of any worker ended, as
// recorded by Passed; the zero time if none is known.
func (t *RetentionTurn) LastPass() time.Time { return t.last }

// Passed records that a pass ended now, for the LastPass of the next turn.
func (t *RetentionTurn) Passed() error {
	now := time.Now()
	return os.Chtimes(t.path, now, now)
}

// Release lets the retention lock go.
func (t *RetentionTurn) Release() error { return t.f.Close() }
