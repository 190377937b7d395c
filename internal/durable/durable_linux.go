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
func SyncDir(dir string) error { return syncDir(dir, fsync) }

// SyncDirHeld is SyncDir with the fsync made as a held call (see SyncHeld).
func SyncDirHeld(dir string) error { return syncDir(dir, fsyncHeld) }

// SyncHeld fsyncs f as a held call: the Go scheduler is not told of it, so
// the thread keeps its processor (the runtime's P) for the call's duration
// instead of releasing it.
//
// A released processor is retaken by the runtime's monitor thread (sysmon)
// at its next tick that finds the call still running (ticks are 20 µs
// apart while sysmon is busy), unless the processor has nothing else to
// run and another one is idle; each retake keeps sysmon at its 20 µs
// tick. A worker process has one processor per worker, and a worker makes
// three fsyncs per job: on the 2-core machine of the README's benchmark,
// sysmon then woke 12 to 14 times per job and took 0.17 to 0.25 ms of CPU
// per job, and the handovers cost as much again. With the job path's fsyncs held, two workers
// draining 2,000 true jobs switched context 12 to 13 times per job instead
// of 28 to 29, and spent 0.61 to 0.70 ms of CPU per job instead of 0.90 to
// 1.02.
//
// The price: while the call lasts, no other goroutine runs on that
// processor (timers fire late), and a stop of the world (the garbage
// collector's) waits for it. That was a fraction of a millisecond on the
// benchmark's disk; it can be tens of milliseconds on a busy or spinning
// disk, and it is unbounded on a network file system or FUSE, where a
// server may not answer. Held calls are for local disk file systems only,
// and for a process with one worker (see spool.Spool.HoldSyncs).
func SyncHeld(f *os.File) error {
	rc, err := f.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) { err = fsyncHeld(int(fd)) })
		if cerr != nil {
			err = cerr // closed
		}
	}
	if err != nil {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: err}
	}
	return nil
}

func fsync(fd int) error {
	err := unix.Fsync(fd)
	for err == unix.EINTR {
		err = unix.Fsync(fd)
	}
	return err
}

// fsyncHeld is fsync(2) as a held call (see SyncHeld).
func fsyncHeld(fd int) error { return held(unix.SYS_FSYNC, uintptr(fd), 0, 0) }

// held makes system call trap as a raw one, which does not enter the
// scheduler, again while it is interrupted.
func held(trap, a1, a2, a3 uintptr) error {
	for {
		_, _, e := unix.RawSyscall(trap, a1, a2, a3)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

// syncDir opens dir and flushes it with flush.
func syncDir(dir string, flush func(fd int) error) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR { // as os.Open retries, on NFS and FUSE
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	err = flush(fd)
	cerr := unix.Close(fd)
	switch {
	case err != nil:
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	case cerr != nil:
		return &os.PathError{Op: "close", Path: dir, Err: cerr}
	}
	return nil
}
