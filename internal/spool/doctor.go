package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// StaleTemp is how old a file in tmp/ must be before Check calls it stale:
// writers keep their files there for milliseconds.
const StaleTemp = 10 * time.Minute

// Finding is one problem Check found in a spool.
type Finding struct {
	Kind string // missing-dir, not-private, duplicate, orphan, stale-temp, invalid, stale-worker, stale-cancel
	Path string // relative to the spool
	Msg  string // what is wrong, in plain words
	Fix  string // what --repair does about it; "" if it must be fixed by hand

	keep State // of a duplicate: the copy that Repair keeps
}

// Check looks the spool over and reports what is wrong. It changes nothing.
func (s *Spool) Check() ([]Finding, error) {
	if fi, err := os.Stat(s.root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("check: %s is not a spool directory", s.root)
	}
	var out []Finding
	missing := map[string]bool{}
	for _, d := range s.layout() {
		if fi, err := os.Lstat(filepath.Join(s.root, d)); err != nil || !fi.IsDir() {
			missing[d] = true
			out = append(out, Finding{Kind: "missing-dir", Path: d + "/", Msg: "the directory is missing", Fix: "create it"})
		}
	}
	if len(missing) == 0 {
		if err := s.CheckPrivate(); err != nil {
			out = append(out, Finding{Kind: "not-private", Path: ".", Msg: err.Error(), Fix: "remove write access for group and others"})
		}
	}
	where := map[string][]State{}
	for _, st := range States {
		if missing[string(st)] {
			continue
		}
		entries, err := s.List(st)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			p := string(st) + "/" + e.Name
			if e.Err != nil {
				if !invalid(e.Err) || st == Processing || s.young(st, e.Name) {
					// An I/O error is no verdict on the file; a file in
					// processing/ may be a live worker's; a young one may
					// still be being written.
					continue
				}
				out = append(out, Finding{Kind: "invalid", Path: p, Msg: "not a valid job: " + e.Err.Error(), Fix: "move it to rejected/ with its reason"})
				continue
			}
			where[e.Job.ID] = append(where[e.Job.ID], st)
		}
	}
	// The listings above were taken one after another: a job that moved
	// between two of them shows in both. Look at each again.
	var suspects []string
	for id, sts := range where {
		if len(sts) > 1 {
			suspects = append(suspects, id)
		}
	}
	twins, err := s.confirmTwins(suspects)
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(twins))
	for _, id := range ids {
		f := Finding{Kind: "duplicate", Path: id, Msg: fmt.Sprintf("job %s is in %d directories: %v", id, len(twins[id]), twins[id])}
		if keep, why, err := s.keepOf(id, twins[id]); err != nil {
			f.Msg += fmt.Sprintf(" (%v); keep the right one by hand", err)
		} else {
			f.keep = keep
			others := "the other copy"
			if len(twins[id]) > 2 {
				others = "the other copies"
			}
			f.Fix = fmt.Sprintf("keep %s/%s.json (%s), move %s to rejected/", keep, id, why, others)
		}
		out = append(out, f)
	}
	if !missing[string(Processing)] {
		orphans, err := s.Orphans()
		if err != nil {
			return nil, err
		}
		for _, id := range orphans {
			out = append(out, Finding{Kind: "orphan", Path: "processing/" + id + ".json", Msg: "no live worker holds this job", Fix: "put it back in pending/ (or dead/ if that was its last run)"})
		}
	}
	if !missing[dirTmp] {
		names, err := s.staleTemps("")
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			out = append(out, Finding{Kind: "stale-temp", Path: "tmp/" + name,
				Msg: fmt.Sprintf("a temporary file older than %s, left by a writer that stopped", StaleTemp), Fix: "remove it (it never became a job)"})
		}
	}
	if !missing[dirWorkers] {
		ws, err := s.Workers(false)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if !w.Alive {
				out = append(out, Finding{Kind: "stale-worker", Path: "workers/" + w.ID + ".lock", Msg: "files of a worker that is no longer running", Fix: "remove them"})
			}
		}
		stale, err := s.staleCancels()
		if err != nil {
			return nil, err
		}
		for _, id := range stale {
			out = append(out, Finding{Kind: "stale-cancel", Path: "workers/" + id + cancelExt, Msg: "a cancel request for a job that has ended or does not exist (its cancel was interrupted)", Fix: "remove it"})
		}
	}
	return out, nil
}

// invalid reports whether err says a file is not a job, as opposed to a
// failure to read it.
func invalid(err error) bool {
	var fe *job.FieldError
	return errors.As(err, &fe) || errors.Is(err, job.ErrTooLarge) || errors.Is(err, ErrNotRegular) || errors.Is(err, job.ErrBadID) ||
		strings.Contains(err.Error(), "does not end in .json")
}

// young reports whether an entry changed within the grace period that a
// file still being written gets.
func (s *Spool) young(st State, name string) bool {
	fi, err := os.Lstat(filepath.Join(s.dir(st), name))
	return err == nil && s.Now().Sub(fi.ModTime()) < 2*time.Second
}

// Repair fixes a finding if that is safe; it never deletes a job. Orphans
// are left to the caller, which must kill what is left of their run first.
func (s *Spool) Repair(f Finding) error {
	switch f.Kind {
	case "missing-dir":
		return os.MkdirAll(filepath.Join(s.root, f.Path), s.dirMode().Perm())
	case "not-private":
		for _, d := range append([]string{"."}, s.layout()...) {
			p := filepath.Join(s.root, d)
			fi, err := os.Lstat(p)
			if err != nil || !fi.IsDir() {
				continue
			}
			mask := os.FileMode(0o022)
			if s.group {
				mask = 0o002
			}
			if err := os.Chmod(p, fi.Mode()&^mask); err != nil {
				return err
			}
		}
		return nil
	case "invalid":
		st, name := filepath.Split(f.Path)
		_, err := s.Quarantine(State(filepath.Clean(st)), name, f.Msg)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	case "stale-temp":
		return os.Remove(filepath.Join(s.root, f.Path))
	case "duplicate":
		return s.repairTwin(f.Path, f.keep)
	case "stale-worker":
		_, err := s.Workers(true)
		return err
	case "stale-cancel":
		err := os.Remove(filepath.Join(s.root, f.Path))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return fmt.Errorf("%s: cannot be repaired automatically", f.Path)
}

// layout lists the spool's directories.
func (s *Spool) layout() []string {
	dirs := []string{dirTmp, dirWorkers, dirLogs, string(Rejected)}
	for _, st := range States {
		dirs = append(dirs, string(st))
	}
	return dirs
}

// staleTemps returns the names of the regular files in tmp/ older than
// StaleTemp that no live process holds (see tempInUse): what a writer that
// died left, and the files a killed worker kept for reuse. Of those ending
// in ext only, if ext is not empty. While a batch runs, files being written
// (tempExt) are never stale: a large batch's wait in tmp/ may be longer
// than StaleTemp, and they are not locked one by one (see holdBatch).
func (s *Spool) staleTemps(ext string) ([]string, error) {
	des, err := os.ReadDir(filepath.Join(s.root, dirTmp))
	if err != nil {
		return nil, err
	}
	var names []string
	batch := sync.OnceValue(s.batchRunning) // asked once, if a *.tmp file is there
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), ext) {
			continue // a FIFO would block the probe's open
		}
		if strings.HasSuffix(de.Name(), tempExt) && batch() {
			continue
		}
		fi, err := de.Info()
		if err == nil && s.Now().Sub(fi.ModTime()) > StaleTemp && !s.tempInUse(de.Name()) {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

// SweepTemp removes the stale records of tmp/ (see staleTemps), and returns
// how many it removed. Retention passes run it: a worker killed with kill
// -9, or by a power cut, leaves up to 256 records it kept for reuse there.
// A record is held locked for as long as it is in use, so an unlocked old
// one is free; other files of tmp/ (an enqueue's, a batch's, unlocked while
// they wait for the spool lock) are left to doctor --repair.
func (s *Spool) SweepTemp() (int, error) {
	names, err := s.staleTemps(recordExt)
	n := 0
	for _, name := range names {
		if rerr := os.Remove(filepath.Join(s.root, dirTmp, name)); rerr == nil {
			n++
		} else if !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return n, err
}

// tempInUse reports whether a live process holds the file name in tmp/
// locked: a record being written, or a file kept for reuse (recordPool),
// whose time of change may be old.
func (s *Spool) tempInUse(name string) bool {
	f, err := openProbe(filepath.Join(s.root, dirTmp, name))
	if err != nil {
		// Gone is free; a file that cannot be opened (another user's)
		// is taken to be in use.
		return !errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	return errors.Is(tryLock(f), errLocked)
}
