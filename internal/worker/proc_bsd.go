//go:build unix && !linux

package worker

import "syscall"

// sysProcAttr puts a job in a process group of its own, so that a timeout
// or a stop can signal all of it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
