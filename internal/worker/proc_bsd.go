//go:build unix && !linux

package worker

import "syscall"

// sysProcAttr puts a job in a process group of its own, so that a timeout
// or a stop can signal all of it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// leftovers: without a portable way to read another process's environment
// here, what is left of a dead worker's run is not found (the kernel does
// not kill it with the worker either).
func leftovers(string, string, func(string) bool) []int { return nil }

// onlyZombies is false: without /proc, a group is gone only when kill(2)
// finds none of it.
func onlyZombies(int) bool { return false }
