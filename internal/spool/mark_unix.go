//go:build unix

package spool

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// markClaimed marks a job file as claimed by a run whose attempt is not
// yet written in it: the owner's write permission is taken away. Every file
// queuectl writes is created writable by its owner, so in processing/ a
// file without that bit can only be one that a claim moved there. The mark
// is one change to the inode, made before the claim's rename and made
// durable with it (see Claim). It returns false where there is no mark,
// and for a file with other hard links: its inode is shared with names
// outside the spool, which must not change, so its claim writes the
// attempt into a new file instead; so does the claim of another user's
// file.
func markClaimed(f *os.File, fi fs.FileInfo) (bool, error) {
	if !soleName(fi) {
		return false, nil
	}
	err := f.Chmod(fi.Mode().Perm() &^ 0o222)
	if errors.Is(err, fs.ErrPermission) {
		// Another user's file (a spool shared with a group): only its
		// owner may change its mode, so no mark.
		return false, nil
	}
	return err == nil, err
}

// unmarkClaimed takes a mark back, for a claim that did not happen.
func unmarkClaimed(f *os.File, fi fs.FileInfo) {
	_ = f.Chmod(fi.Mode().Perm())
}

// claimMark reports whether a file in processing/ carries the mark of
// markClaimed, and when it was made (the inode's change time: a claim's
// chmod and rename are the last changes to it).
func claimMark(fi fs.FileInfo) (bool, time.Time) {
	if fi.Mode().Perm()&0o200 != 0 {
		return false, time.Time{}
	}
	return true, changeTime(fi)
}
