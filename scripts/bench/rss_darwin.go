package main

import (
	"os"
	"syscall"
)

// peakRSS needs /proc: not on macOS.
func peakRSS(int) (int64, bool) { return 0, false }

// maxRSS returns the peak resident set size of a finished child in bytes
// (macOS reports ru_maxrss in bytes).
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss, true
}
