package durable

import (
	"os"

	"golang.org/x/sys/unix"
)

// OpenFile is os.OpenFile for regular files, with two system calls (the
// open and os.NewFile's fcntl) where os.OpenFile makes six: it tries to
// add every file it opens to the runtime's poller, which refuses regular
// files, setting O_NONBLOCK and back around the attempt (four fcntl and a
// failed epoll_ctl). A worker opens the pooled record this way for every
// job, and the job's log when the job prints; enqueue and batch each
// job's temp file. The file is
// opened close-on-exec, as os.OpenFile opens it: a job never inherits it.
// Only the permission bits of perm are used.
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := unix.Open(name, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
		switch {
		case err == unix.EINTR: // as os.OpenFile retries, on NFS and FUSE
			continue
		case err != nil:
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}
