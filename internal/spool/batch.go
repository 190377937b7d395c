package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/queuectl/queuectl/internal/job"
)

// BatchError says which job of a batch made it fail; Index counts from 0.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return e.Err.Error() }
func (e *BatchError) Unwrap() error { return e.Err }

// TwiceError is the Err of a BatchError whose job has the id of an earlier
// job of the batch, job First (counting from 0): it says which, so that a
// caller can name both jobs as its user knows them (lines of a file, say).
type TwiceError struct {
	ID    string
	First int
}

func (e *TwiceError) Error() string {
	return fmt.Sprintf("id %s is also job %d of the batch", e.ID, e.First+1)
}

// EnqueueBatch stores many new jobs with far fewer flushes than Enqueue
// one by one: all files are written to tmp/, flushed together (one syncfs
// on Linux), checked for unique ids under the spool lock (where logs left
// by earlier jobs of the ids are removed), published with
// renames that never overwrite, and pending/ is fsynced once. Either every
// job is enqueued or, on error, none is (the error says which job).
//
// Safe under a crash: a file is visible in pending/ only once complete
// and flushed; after a crash during the renames some jobs of the batch
// may be queued and others not, since the batch was not acknowledged.
//
// A job may name in after the jobs of the spool and those of the batch
// before it. A job whose unique_key is held by a live job, or by an
// earlier job of the batch, is not enqueued: held[i] is then the id of
// the job that holds it, and "" for every job enqueued.
func (s *Spool) EnqueueBatch(jobs []*job.Job) ([]string, error) {
	return s.EnqueueBatchProgress(jobs, nil)
}

// EnqueueBatchProgress is EnqueueBatch counting its steps in progress (if
// not nil), for a progress bar: one as each job's file is written to tmp/
// and one as each is published in pending/, twice the number of jobs in
// all. It is added to from several goroutines: read it with Load.
func (s *Spool) EnqueueBatchProgress(jobs []*job.Job, progress *atomic.Int64) ([]string, error) {
	if progress == nil {
		progress = new(atomic.Int64)
	}
	now := s.now()
	datas := make([][]byte, len(jobs))
	seen := make(map[string]int, len(jobs))
	for i, j := range jobs {
		if err := job.CheckID(j.ID); err != nil {
			return nil, &BatchError{i, err}
		}
		if k, dup := seen[j.ID]; dup {
			return nil, &BatchError{i, &TwiceError{ID: j.ID, First: k}}
		}
		seen[j.ID] = i
		if j.CreatedAt.IsZero() {
			j.CreatedAt = now
		}
		j.UpdatedAt = now
		j.State = string(Pending)
		if err := j.Validate(); err != nil {
			return nil, &BatchError{i, err}
		}
		data, err := job.Marshal(j)
		if err != nil {
			return nil, &BatchError{i, err}
		}
		datas[i] = data
	}
	release, err := s.holdBatch() // until every file of tmp/ is published or removed
	if err != nil {
		return nil, fmt.Errorf("enqueue batch: %w", err)
	}
	defer release()
	tmps, err := s.createTemps(jobs, datas, progress)
	cleanup := func() {
		for _, t := range tmps {
			if t != "" {
				os.Remove(t)
			}
		}
	}
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("enqueue batch: %w", err)
	}
	// Every file on disk before any becomes visible in pending/.
	if err := syncFiles(s.dir(Pending), tmps); err != nil {
		cleanup()
		return nil, fmt.Errorf("enqueue batch: %w", err)
	}
	unlock, err := s.lock(true)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("enqueue batch: %w", err)
	}
	if i, st, err := s.findAny(jobs); err != nil {
		unlock()
		cleanup()
		return nil, fmt.Errorf("enqueue batch: %w", err)
	} else if i >= 0 {
		unlock()
		cleanup()
		return nil, &BatchError{i, fmt.Errorf("enqueue %s: %w (it is %s)", jobs[i].ID, ErrExists, st)}
	}
	if i, err := s.removeStaleLogs(jobs); err != nil {
		unlock()
		cleanup()
		return nil, &BatchError{i, fmt.Errorf("enqueue %s: %w", jobs[i].ID, err)}
	}
	held, err := s.reserveBatch(jobs)
	if err != nil {
		unlock()
		cleanup()
		return nil, err
	}
	for i, j := range jobs {
		if held[i] != "" {
			continue
		}
		if err := publish(tmps[i], s.path(Pending, j.ID)); err != nil {
			// Only a file dropped by another tool meanwhile, or an I/O
			// error, gets here: take back what was published and is
			// still pending; a job a worker has already claimed stays.
			var kept []string
			for k := range i {
				if held[k] != "" {
					continue
				}
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
				return nil, fmt.Errorf("%v; %d job(s) of the batch were already taken by workers and stay queued: %s", err, len(kept), strings.Join(kept, " "))
			}
			return nil, &BatchError{i, err}
		}
		progress.Add(1)
	}
	unlock()
	for i := range jobs {
		if held[i] != "" {
			os.Remove(tmps[i])
		}
	}
	crashPoint("enqueue/published")
	if err := syncDir(s.dir(Pending)); err != nil {
		// The jobs are visible but may not survive a crash, and workers
		// may have started them: this is no "nothing changed" (not %w).
		return nil, fmt.Errorf("enqueue batch: flushing pending/: %v; the jobs are queued but may not survive a crash: check with queuectl list", err)
	}
	return held, nil
}

// reserveBatch checks the dependencies and unique keys of a batch's jobs,
// then reserves the keys and notes the waiting jobs (see reserve): all
// checks come first, so that a batch refused changes nothing but stale
// markers. It returns, per job, the id of the job that holds its key
// ("" if it is to be enqueued). The caller holds the spool lock
// exclusively.
func (s *Spool) reserveBatch(jobs []*job.Job) ([]string, error) {
	held := make([]string, len(jobs))
	earlier := make(map[string]bool)
	keys := make(map[string]string) // unique key to the job of the batch that takes it
	for i, j := range jobs {
		if err := s.checkAfter(j, earlier); err != nil {
			return nil, &BatchError{i, fmt.Errorf("enqueue %s: %w", j.ID, err)}
		}
		if k := j.UniqueKey; k != "" {
			if id, ok := keys[k]; ok {
				held[i] = id
				continue
			}
			id, _, err := s.keyHolder(k)
			if err != nil {
				return nil, &BatchError{i, fmt.Errorf("enqueue %s: %w", j.ID, err)}
			}
			if id != "" {
				held[i] = id
				continue
			}
			keys[k] = j.ID
		}
		earlier[j.ID] = true
	}
	for i, j := range jobs {
		if held[i] != "" {
			continue
		}
		if j.UniqueKey != "" {
			if err := s.reserveKey(j.UniqueKey, j.ID); err != nil {
				return nil, &BatchError{i, fmt.Errorf("enqueue %s: reserving its unique key: %w", j.ID, err)}
			}
		}
		if err := s.addWaiter(j.After, j.ID); err != nil {
			return nil, &BatchError{i, fmt.Errorf("enqueue %s: noting its dependencies: %w", j.ID, err)}
		}
	}
	return held, nil
}

// createTemps writes each job's data to a new file in tmp/, a few files at
// a time (creating a file costs the kernel more than writing it), without
// flushing them, adding one to progress for each. It returns the files' paths by job, "" where none was
// made; on error the caller removes those made.
func (s *Spool) createTemps(jobs []*job.Job, datas [][]byte, progress *atomic.Int64) ([]string, error) {
	tmps := make([]string, len(jobs))
	errs := make([]error, min(runtime.GOMAXPROCS(0), 4, len(jobs)))
	var wg sync.WaitGroup
	var failed sync.Once
	stop := make(chan struct{})
	for w := range errs {
		wg.Go(func() {
			for i := w; i < len(jobs); i += len(errs) {
				select {
				case <-stop:
					return
				default:
				}
				path, err := s.createTemp(jobs[i].ID, datas[i], false)
				if err != nil {
					errs[w] = err
					failed.Do(func() { close(stop) })
					return
				}
				tmps[i] = path
				progress.Add(1)
			}
		})
	}
	wg.Wait()
	return tmps, errors.Join(errs...)
}

// findAny returns the index of the first job of jobs whose id a job in the
// spool has, and that job's state as Find gives it, or -1. The caller holds the spool lock exclusively,
// as for Find, and the states are looked through in the same order.
//
// Few jobs are looked up one by one, as Find does (five lstats each); for
// many, each state directory's names are read once instead, unless the
// directories are so large that reading them would cost more.
func (s *Spool) findAny(jobs []*job.Job) (int, State, error) {
	if !s.worthListing(len(jobs)) {
		for i, j := range jobs {
			st, err := s.Find(j.ID)
			if err == nil {
				return i, st, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return -1, "", err
			}
		}
		return -1, "", nil
	}
	index := make(map[string]int, len(jobs))
	for i, j := range jobs {
		index[j.ID+".json"] = i
	}
	found, state := -1, State("")
	for _, st := range findOrder {
		names, err := s.dirNames(st)
		if err != nil {
			return -1, "", fmt.Errorf("find: %w", err)
		}
		for _, n := range names {
			if i, ok := index[n]; ok && (found < 0 || i < found) {
				found, state = i, st
			}
		}
	}
	return found, state, nil
}

// worthListing reports whether reading the state directories' names costs
// less than n lookups in each: a directory's size says roughly how many
// names it holds (at least 32 bytes each on the common file systems).
func (s *Spool) worthListing(n int) bool {
	if n < 16 {
		return false
	}
	var size int64
	for _, st := range findOrder {
		fi, err := os.Stat(s.dir(st))
		if err != nil {
			return false
		}
		size += fi.Size()
	}
	// A name read from a directory costs about a twentieth of a lookup.
	return size/32 <= int64(n)*int64(len(findOrder))*20
}

// dirNames returns every name in a state directory, without a stat.
func (s *Spool) dirNames(st State) ([]string, error) { return readNames(s.dir(st)) }

// readNames returns every name in a directory, without a stat.
func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// removeStaleLogs is removeStaleLog for each job of a batch whose ids the
// caller, holding the spool lock exclusively, has found free. It returns
// the index of the job whose log could not be removed, with the error.
//
// An unlink that fails with ENOENT costs a lookup (4 to 7 µs on this
// project's machine: 75 to 150 ms, under the lock, for 20,000 jobs), so
// for a large batch the names in logs/ are read once instead (0.5 to 1 µs
// a name, as measured; a sixth of an unlink) and only the logs there are
// removed, unless logs/ is so large that reading it would cost more (its
// size says roughly how many names it holds, as in worthListing).
func (s *Spool) removeStaleLogs(jobs []*job.Job) (int, error) {
	listed := false
	var have map[string]bool
	if dir := filepath.Join(s.root, dirLogs); len(jobs) >= 16 {
		if fi, err := os.Stat(dir); err == nil && fi.Size()/32 <= int64(len(jobs))*6 {
			if names, err := readNames(dir); err == nil {
				listed, have = true, make(map[string]bool, len(names))
				for _, n := range names {
					have[n] = true
				}
			}
		}
	}
	for i, j := range jobs {
		if listed && !have[j.ID+".log"] {
			continue
		}
		if err := s.removeStaleLog(j.ID); err != nil {
			return i, err
		}
	}
	return -1, nil
}
