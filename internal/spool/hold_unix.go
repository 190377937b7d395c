//go:build unix

package spool

import (
	"io/fs"
	"os"
)

// What a lease holds (Lease.f) differs by platform. Here it is the job
// file itself, locked: its lock follows the file through the claim's
// rename, and each record that replaces it is created locked (see
// Lease.replaceWith), so the lock on whatever file is at
// processing/<id>.json says whether its owner lives.

// holdLease returns what the claim of job id holds once the job is in
// processing/: f, the job file it opened and locked.
func (s *Spool) holdLease(_ string, f *os.File) (*os.File, error) { return f, nil }

// openHeld opens job id's file in state st and takes what tells a live
// owner from a dead one: the file's own lock. hold is what a lease on it
// keeps; here it is f.
func (s *Spool) openHeld(st State, id string) (hold, f *os.File, fi fs.FileInfo, err error) {
	f, fi, err = s.openLocked(s.path(st, id))
	return f, f, fi, err
}

// keepHold returns what a lease holds once the record rec, open and
// locked, has replaced its file: the record; the old file is closed.
func keepHold(old, rec *os.File) *os.File {
	old.Close()
	return rec
}

// dropHold ends what a lease holds: the file is closed, its lock released.
func dropHold(f *os.File) { f.Close() }

// holdsFileAt reports whether hold, what a lease holds, is the file at dst.
func holdsFileAt(hold *os.File, dst string) (bool, error) {
	fi, err := hold.Stat()
	if err != nil {
		return false, err
	}
	return samePath(fi, dst) == nil, nil
}
