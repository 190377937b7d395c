package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// ErrMayRun is wrapped by the error of a purge of pending/, processing/ or
// failed/: jobs there may still run, and are never purged.
var ErrMayRun = errors.New("jobs that may still run are never purged")

// PurgeOptions say which entries Purge removes.
type PurgeOptions struct {
	// All removes every entry; otherwise only those last updated before
	// Before. A job's last update is its updated_at, or its file's mtime
	// when it has none (or does not parse); an entry of rejected/ (not a
	// job) is judged by its mtime.
	All    bool
	Before time.Time
	// Keep, if set, is asked about each job that would be removed, by id,
	// and keeps it when it returns true (retention keeps the jobs that
	// waiting jobs depend on). It is not asked about rejected/.
	Keep func(id string) bool
}

// Chunking of Purge's removals: files are judged purgeChunk at a time, and
// the spool lock is then taken once for all of them, or a few times when
// the disk is slow: one hold lasts about purgeHold at most, and the lock
// is left free between two (see removeVictims). A purge of 100,000 files
// takes the lock some hundreds or thousands of times, not 100,000, and
// enqueues and the moves that take the lock wait a few milliseconds at
// most. Each read of the directory takes purgeRead names.
const (
	purgeChunk = 256
	purgeRead  = 512
	purgeHold  = 5 * time.Millisecond
	purgePause = time.Millisecond
)

// orphanGrace is how old a reason file in rejected/ whose entry is missing
// must be before Purge removes it: Quarantine publishes the reason just
// before the entry.
const orphanGrace = time.Minute

// victim is an entry that Purge judged to remove, as it was then.
type victim struct {
	name   string      // in the state directory
	id     string      // the job's id; "" in rejected/
	fi     fs.FileInfo // as judged: the entry removed must still be this one
	orphan bool        // a reason file of rejected/ whose entry is gone
}

// Purge removes the entries of st (Done, Dead or Rejected) that o selects,
// each job with its log, each rejected entry with its reason file, and
// returns how many entries it removed (reason files not counted). A
// purge of any other state fails with ErrMayRun. It stops early, with
// ctx's error, when ctx ends.
//
// A job's id becomes free once its file is gone, and an enqueue of that id
// may follow at once; so each removal is made under the exclusive spool
// lock, which makes an enqueue's check that an id is free atomic with its
// publish (see Enqueue): the file is first checked to be the one judged
// (same file, same size and mtime; one replaced meanwhile, by a new job of
// the id say, is left), then its log is removed, then the file. An enqueue
// never sees the id free while the old log is there, and the new job and
// its log are never removed. Files are judged (read) outside the lock and
// removed in chunks of purgeChunk per hold of the lock.
func (s *Spool) Purge(ctx context.Context, st State, o PurgeOptions) (int, error) {
	switch st {
	case Done, Dead, Rejected:
	default:
		return 0, fmt.Errorf("purge %s: %w: use cancel, which moves them to dead/, then purge dead", st, ErrMayRun)
	}
	d, err := os.Open(s.dir(st))
	if s.missing(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", st, err)
	}
	defer d.Close()
	removed := 0
	var chunk []victim
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		n, err := s.removeVictims(st, chunk)
		removed += n
		chunk = chunk[:0]
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		des, rerr := d.ReadDir(purgeRead)
		for _, de := range des {
			v, ok, err := s.judge(st, de, o)
			if err != nil {
				return removed, fmt.Errorf("purge %s: %w", st, err)
			}
			if !ok {
				continue
			}
			chunk = append(chunk, v)
			if len(chunk) == purgeChunk {
				if err := flush(); err != nil {
					return removed, err
				}
				if err := ctx.Err(); err != nil {
					return removed, err
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return removed, fmt.Errorf("purge %s: %w", st, rerr)
		}
	}
	if err := flush(); err != nil {
		return removed, err
	}
	if removed > 0 {
		// Not needed for safety (a removal undone by a crash leaves a job
		// to purge again, or a log that the next enqueue of its id
		// removes), but what purge reported stays done.
		if err := syncDir(s.dir(st)); err != nil {
			return removed, fmt.Errorf("purge %s: %w", st, err)
		}
	}
	return removed, nil
}

// judge decides whether Purge removes the directory entry de of st, and
// returns it as a victim if so. An entry that vanished meanwhile is not
// one; a name that is not a job's (in done/ and dead/) is left to doctor.
func (s *Spool) judge(st State, de fs.DirEntry, o PurgeOptions) (victim, bool, error) {
	name := de.Name()
	if Ignored(name) {
		return victim{}, false, nil
	}
	path := filepath.Join(s.dir(st), name)
	if st == Rejected {
		v := victim{name: name}
		if base, ok := strings.CutSuffix(name, reasonSuffix); ok {
			// Removed with its entry, unless that is gone.
			if _, err := os.Lstat(filepath.Join(s.dir(st), base)); !errors.Is(err, fs.ErrNotExist) {
				return victim{}, false, nil
			}
			v.orphan = true
		}
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return victim{}, false, nil
		}
		if err != nil {
			return victim{}, false, err
		}
		v.fi = fi
		if v.orphan && !fi.ModTime().Before(s.now().Add(-orphanGrace)) {
			return victim{}, false, nil
		}
		return v, o.All || fi.ModTime().Before(o.Before), nil
	}
	id, err := IDFromName(name)
	if err != nil {
		return victim{}, false, nil
	}
	v := victim{name: name, id: id}
	var updated time.Time
	if !o.All && de.Type().IsRegular() {
		// The time and the identity come from the same open file. A file
		// that cannot be read or parsed is judged by its mtime.
		f, fi, err := openRegular(path, nil)
		if err == nil {
			var data []byte
			if data, fi, err = readOpen(f, fi); err == nil {
				v.fi = fi
				if j, perr := job.Parse(data, id); perr == nil {
					updated = j.UpdatedAt
				}
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return victim{}, false, nil
		}
	}
	if v.fi == nil {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return victim{}, false, nil
		}
		if err != nil {
			return victim{}, false, err
		}
		v.fi = fi
	}
	if updated.IsZero() {
		updated = v.fi.ModTime()
	}
	if !o.All && !updated.Before(o.Before) {
		return victim{}, false, nil
	}
	if o.Keep != nil && o.Keep(id) {
		return victim{}, false, nil
	}
	return v, true, nil
}

// removeVictims removes the victims of st under the exclusive spool lock,
// each only if its entry is still the one judged, and returns how many it
// removed.
//
// One hold of the lock lasts about purgeHold at most: an unlink costs
// anything from 10 µs to over a millisecond on a busy disk, and a chunk
// of 256 files must not keep enqueues waiting for a quarter of a second.
// Between two holds the lock is left free for as long as the hold lasted
// (purgePause at least), so that a waiting enqueue gets it soon and the
// purge holds the lock half of the time at most; which also paces the
// unlinks, whose journal commits every fsync of the spool pays for.
func (s *Spool) removeVictims(st State, vs []victim) (int, error) {
	n := 0
	for len(vs) > 0 {
		if s.beforePurgeLock != nil {
			s.beforePurgeLock()
		}
		start := time.Now()
		tried, removed, err := s.removeSome(st, vs)
		n += removed
		if err != nil {
			return n, err
		}
		vs = vs[tried:]
		if len(vs) > 0 {
			time.Sleep(max(purgePause, time.Since(start)))
		}
	}
	return n, nil
}

// removeSome is one hold of the lock for removeVictims: it goes through
// vs in order for up to purgeHold and returns how many of them it went
// through, and how many of those it removed. A job's log goes before its
// file: while the file is there, the id is taken, so no new job of the id
// can have a log yet.
func (s *Spool) removeSome(st State, vs []victim) (tried, removed int, err error) {
	unlock, err := s.lock(true)
	if err != nil {
		return 0, 0, fmt.Errorf("purge %s: %w", st, err)
	}
	defer unlock()
	start := time.Now()
	for i, v := range vs {
		if i > 0 && time.Since(start) >= purgeHold {
			return i, removed, nil
		}
		path := filepath.Join(s.dir(st), v.name)
		fi, err := os.Lstat(path)
		if err != nil || !sameEntry(v.fi, fi) {
			continue // gone, or replaced since it was judged
		}
		if v.orphan {
			if _, err := os.Lstat(strings.TrimSuffix(path, reasonSuffix)); !errors.Is(err, fs.ErrNotExist) {
				continue // its entry arrived
			}
		}
		if v.id != "" {
			if err := os.Remove(s.LogPath(v.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return i, removed, fmt.Errorf("purge %s/%s: removing its log: %w", st, v.name, err)
			}
		}
		if fi.IsDir() {
			err = os.RemoveAll(path) // a directory moved into rejected/
		} else {
			err = os.Remove(path)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return i, removed, fmt.Errorf("purge %s/%s: %w", st, v.name, err)
		}
		if v.orphan {
			continue
		}
		if st == Rejected {
			if err := os.Remove(path + reasonSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return i, removed, fmt.Errorf("purge %s/%s: %w", st, v.name+reasonSuffix, err)
			}
		}
		removed++
	}
	return len(vs), removed, nil
}

// sameEntry reports whether b, found at a name, is the entry a was found
// to be there: the same file (device and inode), and, since a file
// removed and a new one created may get the same inode number, the same
// size and modification time.
func sameEntry(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
