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
// job id of the spool at root for a dead worker: the spool, the job's id
// and the worker's id are in the environment the worker gave the job's
// shell, which its children inherit, and dead says that worker is gone. Only processes of this user can be
// read, and only they could have been started by a worker of this spool.
func leftovers(root, id string, dead func(worker string) bool) []int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want, in := "QUEUECTL_JOB_ID="+id, "QUEUECTL_JOB_SPOOL="+root
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
		// The last value of a name is the one in effect.
		var job, spool, worker string
		for _, v := range vars {
			switch {
			case strings.HasPrefix(v, "QUEUECTL_JOB_ID="):
				job = v
			case strings.HasPrefix(v, "QUEUECTL_JOB_SPOOL="):
				spool = v
			case strings.HasPrefix(v, "QUEUECTL_WORKER="):
				worker = strings.TrimPrefix(v, "QUEUECTL_WORKER=")
			}
		}
		if job != want || spool != in {
			continue
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

// onlyZombies reports whether every process left in group pgid has exited
// and waits to be reaped by its parent (an init that reaps orphans only now
// and then keeps them for a second or two): nothing of the group runs.
func onlyZombies(pgid int) bool {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		if f[0] != "Z" && f[0] != "X" {
			return false
		}
	}
	return true
}
