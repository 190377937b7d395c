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

// runsJob reports whether process pid runs job id: it has the job's id in
// the environment the worker gave it.
func runsJob(pid int, id string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(string(env), "\x00"), "QUEUECTL_JOB_ID="+id)
}
