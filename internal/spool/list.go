package spool

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	des, err := os.ReadDir(s.dir(st))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", st, err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		n := de.Name()
		if Ignored(n) || st == Rejected && strings.HasSuffix(n, ".reason") {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

// Count returns the number of entries in a state directory, without reading
// them.
func (s *Spool) Count(st State) (int, error) {
	names, err := s.names(st)
	return len(names), err
}

// List reads every entry of a state directory, in claim order for pending
// and failed jobs (priority, then due time) and by last update otherwise.
// Entries that are not valid jobs come last, with Err set.
func (s *Spool) List(st State) ([]Entry, error) {
	names, err := s.names(st)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(names))
	for _, n := range names {
		e := Entry{State: st, Name: n}
		if st == Rejected {
			e.Err = s.reason(n)
		} else {
			e.Job, e.Err = s.readName(st, n)
			if errors.Is(e.Err, fs.ErrNotExist) {
				continue // moved on since the directory was read
			}
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

// Before orders jobs for claiming: higher priority first, then earlier due
// time, then id.
func Before(a, b *job.Job) int {
	return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.Due().Compare(b.Due()), strings.Compare(a.ID, b.ID))
}

// readName reads and parses the file name in state st.
func (s *Spool) readName(st State, name string) (*job.Job, error) {
	id, err := IDFromName(name)
	if err != nil {
		return nil, err
	}
	data, fi, err := readEntryInfo(filepath.Join(s.dir(st), name))
	if err != nil {
		return nil, err
	}
	j, err := job.Parse(data, id)
	if err == nil && j.CreatedAt.IsZero() {
		// A file dropped by hand queues from when it was written, not
		// ahead of every job with a creation time.
		j.CreatedAt = fi.ModTime().UTC()
	}
	return j, err
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
