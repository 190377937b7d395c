package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/queuectl/queuectl/internal/job"
)

// A job in two directories (a twin) cannot come from queuectl's own moves,
// each of which is one rename, but a listing can seem to show one: Check
// lists the directories one after the other, and a job that moves between
// two listings is seen in both. So a suspected twin is looked at again
// before it is reported or repaired (see twinStates).

// twinRank orders the states of a twin's copies: the copy furthest along is
// the one kept.
func twinRank(st State) int {
	switch st {
	case Pending:
		return 0
	case Processing:
		return 1
	case Failed:
		return 2
	}
	return 3 // done and dead
}

// confirmTwins returns, of the ids that a listing found in more than one
// state, those that really are, with the states that hold them.
func (s *Spool) confirmTwins(ids []string) (map[string][]State, error) {
	out := map[string][]State{}
	if len(ids) == 0 {
		return out, nil
	}
	unlock, err := s.lock(true)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	defer unlock()
	for _, id := range ids {
		if sts := s.twinStates(id); len(sts) > 1 {
			out[id] = sts
		}
	}
	return out, nil
}

// twinStates returns the states that hold distinct files of job id, in
// the order of States. The caller holds the spool lock exclusively, so no
// job moves against findOrder meanwhile (those moves take the lock); the
// others (claim, complete, bury) move a job only along findOrder. Each
// directory is looked at against that order, so a job that moves is never
// seen twice: it can only leave a directory looked at after the one it
// enters. The look is taken twice, and a copy counts only if it is the same
// file both times (a copy removed and another dropped meanwhile does not),
// and only once if two names are one file (a move by link and unlink, seen
// between its steps).
func (s *Spool) twinStates(id string) []State {
	type copyOf struct {
		st State
		fi fs.FileInfo
	}
	look := func() []copyOf {
		var cs []copyOf
		for _, st := range slices.Backward(findOrder) {
			if fi, err := os.Lstat(s.path(st, id)); err == nil {
				cs = append(cs, copyOf{st, fi})
			}
		}
		return cs
	}
	first, again := look(), look()
	var kept []copyOf
	for _, c := range first {
		i := slices.IndexFunc(again, func(a copyOf) bool { return a.st == c.st })
		if i < 0 || !os.SameFile(c.fi, again[i].fi) {
			continue
		}
		if slices.ContainsFunc(kept, func(k copyOf) bool { return os.SameFile(k.fi, c.fi) }) {
			continue
		}
		kept = append(kept, c)
	}
	var sts []State
	for _, st := range States {
		if slices.ContainsFunc(kept, func(k copyOf) bool { return k.st == st }) {
			sts = append(sts, st)
		}
	}
	return sts
}

// keepOf decides which copy of twin id to keep: the one furthest along
// (pending, then processing, then failed, then done or dead), and of two
// equally far the one updated last (done on a tie of the times). It says
// why, in words for a reason file.
func (s *Spool) keepOf(id string, sts []State) (State, string, error) {
	var keep State
	var kept *job.Job
	why := "it is furthest along"
	for _, st := range sts {
		j, err := s.readName(st, id+".json")
		if err != nil {
			return "", "", fmt.Errorf("read %s/%s.json: %w", st, id, err)
		}
		switch {
		case kept == nil, twinRank(st) > twinRank(keep):
			keep, kept = st, j
		case twinRank(st) == twinRank(keep):
			why = "it was updated last"
			if j.UpdatedAt.After(kept.UpdatedAt) {
				keep, kept = st, j
			}
		}
	}
	return keep, why, nil
}

// repairTwin settles twin id without deleting anything: it keeps the copy
// that keepOf chooses and moves the others into rejected/, as they are,
// with a reason. planned is the copy Check said it would keep; if the
// copies changed since, nothing is moved. A copy whose file another
// process holds locked (a live worker's job in processing/, or a claim
// under way) is never moved.
func (s *Spool) repairTwin(id string, planned State) error {
	unlock, err := s.lock(true)
	if err != nil {
		return fmt.Errorf("repair %s: %w", id, err)
	}
	defer unlock()
	sts := s.twinStates(id)
	if len(sts) < 2 {
		return nil // settled meanwhile: a worker rejects a twin it claims
	}
	keep, why, err := s.keepOf(id, sts)
	if err != nil {
		return fmt.Errorf("repair %s: %w", id, err)
	}
	if keep != planned {
		return fmt.Errorf("repair %s: its copies changed since the check (now in %v); run doctor again", id, sts)
	}
	var errs []error
	for _, st := range sts {
		if st == keep {
			continue
		}
		if err := s.rejectTwin(st, id, fmt.Sprintf("job %s is also in %s/, and that copy was kept (%s): doctor --repair moved this one here from %s/", id, keep, why, st)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rejectTwin moves the copy of job id in state st to rejected/ with
// reason, holding the file's lock meanwhile so that no worker claims or
// recovers it.
func (s *Spool) rejectTwin(st State, id, reason string) error {
	path := s.path(st, id)
	f, fi, err := s.openLocked(path)
	switch {
	case errors.Is(err, errLocked):
		return fmt.Errorf("%s/%s.json is held by a live process (a worker's job): not moved; run doctor --repair again once it has ended", st, id)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("repair %s/%s.json: %w", st, id, err)
	}
	defer f.Close()
	if samePath(fi, path) != nil {
		return nil // moved on
	}
	if _, err := s.Quarantine(st, id+".json", reason); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
