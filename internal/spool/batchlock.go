package spool

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// batchLockName is the file a batch holds locked, shared, while its files
// wait in tmp/ to be published (see EnqueueBatch): however long a large
// batch takes, doctor does not call its files stale meanwhile (see
// staleTemps). Shared, so that batches do not wait for each other.
const batchLockName = ".batch.lock"

// holdBatch takes the batch lock, shared, and returns its release.
func (s *Spool) holdBatch() (func(), error) {
	l := s.lockFile(batchLockName)
	if err := l.RLock(); err != nil {
		return nil, err
	}
	return func() { l.Close() }, nil
}

// batchRunning reports whether a batch holds the batch lock. It creates
// nothing; where it cannot tell (the lock file cannot be opened or
// tried), it says a batch runs, so that no file a batch may still need is
// removed.
func (s *Spool) batchRunning() bool {
	l := flock.New(filepath.Join(s.root, batchLockName), flock.SetFlag(os.O_RDWR))
	free, err := l.TryLock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false // no batch has run here
	case err != nil:
		return true
	}
	l.Close()
	return !free
}
