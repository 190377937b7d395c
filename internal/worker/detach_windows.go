package worker

import (
	"os"
	"syscall"
)

const detachedProcess = 0x00000008

// DetachAttr makes a started worker process independent of the console
// that started it.
func DetachAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: detachedProcess | syscall.CREATE_NEW_PROCESS_GROUP}
}

// Terminate ends the process pid: Windows has no SIGTERM, so its job is
// recovered afterwards instead of put back by the worker.
func Terminate(pid int) error { return Kill(pid) }

// Kill ends the process pid.
func Kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
