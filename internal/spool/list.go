package spool

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// Entry is one file found in a state directory: a job, or the reason it is
// not one.
type Entry struct {
	State State
	Name  string   // file name in the state directory
	Job   *job.Job // nil when Err is set
	Err   error    // why the file is not a valid job
}

// names returns the file names in a state directory that may be jobs:
// neither dotfiles nor temporary files.
func (s *Spool) names(st State) ([]string, error) {
	des, err := s.entries(st)
	names := make([]string, len(des))
	for i, de := range des {
		names[i] = de.Name()
	}
	return names, err
}

// entries is names with the directory entries, whose types the listing
// gives without a stat.
func (s *Spool) entries(st State) ([]fs.DirEntry, error) {
	des, err := os.ReadDir(s.dir(st))
	if s.missing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", st, err)
	}
	out := des[:0]
	for _, de := range des {
		n := de.Name()
		if Ignored(n) || st == Rejected && strings.HasSuffix(n, ".reason") {
			continue
		}
		out = append(out, de)
	}
	return out, nil
}

// Count returns the number of entries in a state directory, without reading
// them.
func (s *Spool) Count(st State) (int, error) {
	names, err := s.names(st)
	return len(names), err
}

// List reads every entry of a state directory, in claim order for pending
// and failed jobs (see Before) and by last update otherwise.
// Entries that are not valid jobs come last, with Err set.
func (s *Spool) List(st State) ([]Entry, error) {
	des, err := s.entries(st)
	if err != nil {
		return nil, err
	}
	// Reading and parsing dominate: spread them over the processors.
	all := make([]Entry, len(des))
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(runtime.GOMAXPROCS(0)*2, len(des)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(des); i = int(next.Add(1) - 1) {
				e := Entry{State: st, Name: des[i].Name()}
				switch {
				case st == Rejected:
					e.Err = s.reason(e.Name)
				case des[i].Type().IsRegular():
					// The listing says regular: no lstat needed first.
					e.Job, e.Err = s.readNameOpen(st, e.Name, true)
				default:
					e.Job, e.Err = s.readName(st, e.Name)
				}
				all[i] = e
			}
		})
	}
	wg.Wait()
	entries := all[:0]
	for _, e := range all {
		if st != Rejected && errors.Is(e.Err, fs.ErrNotExist) {
			continue // moved on since the directory was read
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b Entry) int {
		if a.Job == nil || b.Job == nil {
			return cmp.Or(cmpBool(a.Job == nil, b.Job == nil), strings.Compare(a.Name, b.Name))
		}
		if st == Pending || st == Failed {
			return Before(a.Job, b.Job)
		}
		return cmp.Or(a.Job.UpdatedAt.Compare(b.Job.UpdatedAt), strings.Compare(a.Job.ID, b.Job.ID))
	})
	return entries, nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// Before orders jobs for claiming: higher priority first, then earlier
// run_at or creation time (job.Order), then id.
func Before(a, b *job.Job) int {
	return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.Order().Compare(b.Order()), strings.Compare(a.ID, b.ID))
}

// readName reads and parses the file name in state st.
func (s *Spool) readName(st State, name string) (*job.Job, error) {
	return s.readNameOpen(st, name, false)
}

// readNameOpen is readName; listedRegular says a directory listing found
// the entry to be a regular file, which saves the lstat before the open.
func (s *Spool) readNameOpen(st State, name string, listedRegular bool) (*job.Job, error) {
	id, err := IDFromName(name)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(s.dir(st), name)
	var data []byte
	var fi fs.FileInfo
	if listedRegular {
		var f *os.File
		if f, fi, err = openRegular(path, nil); err == nil {
			data, fi, err = readOpen(f, fi)
		}
	} else {
		data, fi, err = readEntryInfo(path)
	}
	if err != nil {
		return nil, err
	}
	j, err := job.Parse(data, id)
	if err == nil && j.CreatedAt.IsZero() {
		// A file dropped by hand queues from when it was written, not
		// ahead of every job with a creation time.
		j.CreatedAt = fi.ModTime().UTC()
	}
	if err == nil && st == Processing {
		claimed(j, fi)
	}
	return j, err
}

// claimed shows a file in processing/ that carries a claim's mark as what
// it stands for: the attempt that started, not yet written in the file.
func claimed(j *job.Job, fi fs.FileInfo) {
	if marked, at := claimMark(fi); marked {
		j.Attempts++
		j.State, j.Worker = string(Processing), ""
		if !at.IsZero() {
			j.StartedAt = at
		}
	}
}

// Read returns job id in state st; the error matches ErrNotFound if it is
// not there.
func (s *Spool) Read(st State, id string) (*job.Job, error) {
	if err := job.CheckID(id); err != nil {
		return nil, err
	}
	j, err := s.readName(st, id+".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s/", ErrNotFound, id, st)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/%s.json: %w", st, id, err)
	}
	return j, nil
}

// StateDir returns the directory of a state, for watching.
func (s *Spool) StateDir(st State) string { return s.dir(st) }

// Names returns the names in a state directory that may be jobs (neither
// dotfiles nor temporary files), without reading them.
func (s *Spool) Names(st State) ([]string, error) { return s.names(st) }

// Peek reads and parses the entry name of state st without taking it.
func (s *Spool) Peek(st State, name string) (*job.Job, error) { return s.readName(st, name) }

// OldestDue returns the earliest time at which a claimable job (in
// pending/, or in failed/ with its retry due) became due: its run_at, else
// its created_at. Jobs scheduled after now do not count, nor files that
// are not valid jobs. It reads every file of both directories.
func (s *Spool) OldestDue(now time.Time) (time.Time, bool, error) {
	var oldest time.Time
	found := false
	for _, st := range []State{Pending, Failed} {
		names, err := s.names(st)
		if err != nil {
			return time.Time{}, false, err
		}
		for _, n := range names {
			if Ignored(n) {
				continue
			}
			j, err := s.readName(st, n)
			if err != nil {
				continue
			}
			due := j.RunAt
			switch {
			case due.IsZero():
				due = j.CreatedAt
				if due.After(now) {
					due = now // a clock ahead holds nothing back
				}
			case due.After(now):
				continue // scheduled
			}
			if !found || due.Before(oldest) {
				oldest, found = due, true
			}
		}
	}
	return oldest, found, nil
}

// Get reads job id wherever it is, and says where. A job that moves on
// while it is looked for is looked for again.
func (s *Spool) Get(id string) (*job.Job, State, error) {
	for try := 0; ; try++ {
		st, err := s.Find(id)
		if err != nil {
			return nil, "", err
		}
		j, err := s.readName(st, id+".json")
		if errors.Is(err, fs.ErrNotExist) && try < 10 {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", s.path(st, id), err)
		}
		return j, st, nil
	}
}
