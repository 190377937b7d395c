package worker

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts a job in a process group of its own, so that a timeout
// or a stop can signal all of it, and has the kernel kill the job's shell
// if the worker dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// runsJob reports whether process group pgid still runs job id: one of
// its members has the job's id in the environment the worker gave it. (The
// group's leader, the job's shell, is usually gone already: the kernel
// killed it with the worker.)
func runsJob(pgid int, id string) bool {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	want := "QUEUECTL_JOB_ID=" + id
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		env, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err == nil && slices.Contains(strings.Split(string(env), "\x00"), want) {
			return true
		}
	}
	return false
}
