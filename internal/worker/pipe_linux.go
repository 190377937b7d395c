package worker

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// outputPipe returns the pipe of a job's output. The read end is the
// worker's and waits in the runtime's poller; the write end is the job's
// and blocks, as a child expects. (os.Pipe would make both ends
// non-blocking and poll both, and exec would make the job's end blocking
// again: seven more system calls for every job.)
func outputPipe() (r, w *os.File, err error) {
	p, err := pipe2()
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	r = os.NewFile(uintptr(p[0]), "|0")
	if r.SetReadDeadline(time.Time{}) != nil {
		// Not in the poller (its registration failed): a non-blocking
		// read would fail with EAGAIN, so block instead.
		if err := unix.SetNonblock(p[0], false); err != nil {
			r.Close()
			unix.Close(p[1])
			return nil, nil, os.NewSyscallError("fcntl", err)
		}
	}
	return r, os.NewFile(uintptr(p[1]), "|1"), nil
}

// gatePipe returns the pipe of a job's gate (see gatedShell): both ends
// block, as the worker writes one line to it, once.
func gatePipe() (r, w *os.File, err error) {
	p, err := pipe2()
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// pipe2 returns a pipe's two descriptors, blocking and close-on-exec: the
// read end first.
func pipe2() ([2]int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return p, os.NewSyscallError("pipe2", err)
	}
	return p, nil
}
