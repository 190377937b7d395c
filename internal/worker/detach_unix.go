//go:build unix

package worker

import (
	"os"
	"syscall"
)

// DetachAttr makes a started worker process independent of the terminal and
// shell that started it: a session of its own.
func DetachAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// Terminate asks the process pid to stop at once (its job is put back).
func Terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}

// Kill ends the process pid.
func Kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGKILL)
}
