package durable

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncDir fsyncs a directory, making the creations, renames and removals in
// it durable.
//
// It goes through the descriptor alone: an *os.File would first try to add
// the directory to the runtime's poller and set its flags back, four more
// system calls on a path that runs twice for every job. (Elsewhere
// os.File.Sync is kept: on macOS it flushes the drive's cache too, with
// F_FULLFSYNC, which a plain fsync does not.)
func SyncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR { // as os.Open retries, on NFS and FUSE
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	err = unix.Fsync(fd)
	for err == unix.EINTR {
		err = unix.Fsync(fd)
	}
	cerr := unix.Close(fd)
	switch {
	case err != nil:
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	case cerr != nil:
		return &os.PathError{Op: "close", Path: dir, Err: cerr}
	}
	return nil
}
