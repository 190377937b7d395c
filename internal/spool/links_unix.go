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
