//go:build !linux && !darwin

package main

import "os"

// peakRSS needs /proc: Linux only.
func peakRSS(int) (int64, bool) { return 0, false }

// maxRSS: the unit of ru_maxrss differs between systems, and Windows has
// none; only Linux and macOS report it.
func maxRSS(*os.ProcessState) (int64, bool) { return 0, false }
