//go:build unix

package spool

import (
	"io/fs"
	"syscall"
)

// otherNames reports whether the file fi has more names than one (hard
// links), or whether that cannot be told.
func otherNames(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || st.Nlink > 1
}

// soleName reports whether the file fi has exactly one name: the one in
// the spool, so that changing its inode changes nothing outside.
func soleName(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 1
}
