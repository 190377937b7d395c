package worker

import "syscall"

// sysProcAttr puts a job in a process group of its own, so that a timeout
// or a stop can signal all of it, and has the kernel kill the job's shell
// if the worker dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
