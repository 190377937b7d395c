//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// alive reports whether process pid exists and is not a zombie (a killed
// detached process lingers as one until init reaps it, which on some
// systems takes seconds).
func alive(pid int) bool {
	if pid <= 0 || errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	st, _, ok := procStat(strconv.Itoa(pid))
	return !ok || st != 'Z'
}

// procStat returns the state and process group of process pid from
// /proc/PID/stat, where there is a /proc.
func procStat(pid string) (state byte, pgrp int, ok bool) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// After "pid (comm) ": state, ppid, pgrp, ...
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	return f[0][0], pgrp, err == nil
}

// killPID kills process pid at once (kill -9).
func killPID(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// groupAlive reports whether process group pgid has a member left that
// is not a zombie.
func groupAlive(pgid int) bool {
	if pgid <= 1 || errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc: a zombie counts as alive
	}
	for _, p := range procs {
		if st, pg, ok := procStat(p.Name()); ok && pg == pgid && st != 'Z' {
			return true
		}
	}
	return false
}

// killGroup kills process group pgid, if it exists.
func killGroup(pgid int) {
	if pgid > 1 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
