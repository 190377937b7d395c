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

// leftovers returns the process groups of the processes that still run
// job id for a dead worker: the job's id and the worker's id are in the
// environment the worker gave the job's shell, which its children inherit,
// and dead says that worker is gone. Only processes of this user can be
// read, and only they could have been started by a worker of this spool.
func leftovers(id string, dead func(worker string) bool) []int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := "QUEUECTL_JOB_ID=" + id
	self := syscall.Getpgrp()
	var groups []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(env), "\x00")
		if !slices.Contains(vars, want) {
			continue
		}
		worker := ""
		for _, v := range vars {
			if w, ok := strings.CutPrefix(v, "QUEUECTL_WORKER="); ok {
				worker = w // the last one is the one in effect
			}
		}
		if worker == "" || !dead(worker) {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g > 1 && g != self && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return groups
}
