package spool

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles flushes the files at paths, all on the file system of dir, with
// one syncfs(2) for the whole file system instead of one fsync per file.
func syncFiles(dir string, paths []string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
