package spool

import (
	"io/fs"
	"syscall"
	"time"
)

// changeTime returns the inode change time of fi.
func changeTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix()).UTC()
	}
	return time.Time{}
}
