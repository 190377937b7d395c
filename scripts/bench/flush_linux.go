package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// flushFiles makes the files at paths durable with one syncfs(2) of dir's
// file system, as queuectl's batch does on Linux.
func flushFiles(dir string, _ []string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
