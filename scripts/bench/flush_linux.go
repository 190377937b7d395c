package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncfsWorks says that syncFS flushes a whole file system.
const syncfsWorks = true

// syncFS makes every file of dir's file system durable with one syncfs(2),
// as queuectl's batch does on Linux.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
