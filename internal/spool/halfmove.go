package spool

import (
	"fmt"
	"io/fs"
	"os"
)

// halfMoved returns the state other than from whose directory holds the
// very file fi of job id under a second name (a hard link, not a copy).
//
// Where rename(2) cannot refuse to overwrite (NFS has no
// RENAME_NOREPLACE), publish moves a job with link(2) and unlink(2); a
// host that dies between the two leaves the job under both names. The
// move was made but for its last step: the name outside from is the one
// that counts (the claimer or the owner that was moving it is dead, or its
// lock would not have been had).
func (s *Spool) halfMoved(fi fs.FileInfo, from State, id string) (State, bool) {
	if !otherNames(fi) {
		return "", false // one name: no lookups (each a round trip on NFS)
	}
	for _, st := range findOrder {
		if st == from {
			continue
		}
		if oi, err := os.Lstat(s.path(st, id)); err == nil && os.SameFile(fi, oi) {
			return st, true
		}
	}
	return "", false
}

// finishMove ends a move that halfMoved found cut short: the name in
// processing/ goes, and the lease with it.
func (s *Spool) finishMove(l *Lease, to State) error {
	defer l.Release()
	if err := os.Remove(s.path(Processing, l.Job.ID)); err != nil {
		return fmt.Errorf("recover %s: finish its move to %s: %w", l.Job.ID, to, err)
	}
	return syncDir(s.dir(Processing))
}
