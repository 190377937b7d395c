package main

import "os"

// alive reports whether process pid exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// killPID ends process pid at once.
func killPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// groupAlive: Windows has no process groups to probe; a job left behind
// by a killed worker is not looked for.
func groupAlive(int) bool { return false }

// killGroup: see groupAlive.
func killGroup(int) {}
