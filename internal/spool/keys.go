package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Unique keys. While a job with a unique_key is pending, processing or
// failed, its key is reserved by the marker file keys/<hash of the key>,
// which holds the job's id and the key, one a line. The marker is checked
// and written under the exclusive spool lock, together with the check of
// the id (see Enqueue), so that of any number of racing enqueues with one
// key exactly one makes a job. It is removed when its job reaches done/ or
// dead/ (see Commit); a marker left behind (a crash, a job removed by hand)
// names a job that is done, dead or gone, and counts as free.
const dirKeys = "keys"

// KeyTakenError says that a job was not enqueued because a live job
// (pending, processing or failed) has its unique key.
type KeyTakenError struct {
	Key string
	ID  string // the job that holds the key
	Is  State  // that job's state
}

func (e *KeyTakenError) Error() string {
	return fmt.Sprintf("unique key %q is taken by job %s (%s)", e.Key, e.ID, e.Is)
}

// keyPath returns the marker file of a unique key: keys are any text, so
// the file is named by a hash of it.
func (s *Spool) keyPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.root, dirKeys, hex.EncodeToString(sum[:16]))
}

// keyHolder returns the live job that holds key, or "" if the key is free.
// The caller holds the spool lock exclusively, so that Find misses no job.
func (s *Spool) keyHolder(key string) (string, State, error) {
	data, err := os.ReadFile(s.keyPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("unique key %q: %w", key, err)
	}
	id, rest, _ := strings.Cut(string(data), "\n")
	if strings.TrimSuffix(rest, "\n") != key {
		return "", "", nil // not this key's marker (a hash collision, or damaged)
	}
	st, err := s.Find(id)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("unique key %q: %w", key, err)
	case st == Done || st == Dead:
		return "", "", nil
	}
	// A marker left by a crash may name an id that another job, without
	// the key, took since.
	if j, err := s.Read(st, id); err == nil && j.UniqueKey != key {
		return "", "", nil
	}
	return id, st, nil
}

// reserveKey writes the marker of key for job id, durably, replacing a
// stale one. The caller holds the spool lock exclusively and has checked
// that the key is free.
func (s *Spool) reserveKey(key, id string) error {
	if err := s.ensureDir(dirKeys); err != nil {
		return err
	}
	tmp, err := s.writeTemp("key-"+id, []byte(id+"\n"+key+"\n"))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, s.keyPath(key)); err != nil {
		os.Remove(tmp)
		return err
	}
	// The reservation must survive a crash before the job is acknowledged.
	return syncDir(filepath.Join(s.root, dirKeys))
}

// releaseKey removes the marker of key if it still names job id (another
// job may have taken the key since the marker went stale). Not flushed: a
// marker that comes back after a crash names a job that is done or dead,
// which counts as free.
func (s *Spool) releaseKey(key, id string) {
	unlock, err := s.lock(true)
	if err != nil {
		return // the marker stays; it counts as free once the job has ended
	}
	defer unlock()
	p := s.keyPath(key)
	data, err := os.ReadFile(p)
	if err == nil && strings.HasPrefix(string(data), id+"\n") {
		os.Remove(p)
	}
}

// ensureDir creates the spool directory name if it is missing, and makes
// it survive a crash: keys/ and deps/ appear with their first use.
func (s *Spool) ensureDir(name string) error {
	p := filepath.Join(s.root, name)
	err := os.Mkdir(p, s.dirMode().Perm())
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err == nil && s.group {
		err = os.Chmod(p, s.dirMode())
	}
	if err == nil {
		err = syncDir(s.root)
	}
	return err
}
