//go:build crashpoints && unix

package spool

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// With the crashpoints tag, QUEUECTL_CRASH_AT=POINT[#N] kills the process
// with SIGKILL the N-th time (default: the first) it reaches POINT, after
// writing POINT[#N] to the file $QUEUECTL_CRASH_MARK if that is set.
func init() {
	at := os.Getenv("QUEUECTL_CRASH_AT")
	if at == "" {
		return
	}
	point, nth, _ := strings.Cut(at, "#")
	n, err := strconv.Atoi(nth)
	if err != nil || n < 1 {
		n = 1
	}
	var mu sync.Mutex
	seen := 0
	crashHook = func(p string) {
		if p != point {
			return
		}
		mu.Lock()
		seen++
		hit := seen == n
		mu.Unlock()
		if hit {
			// Say where it happened, so a test can tell this crash from
			// any other death.
			if mark := os.Getenv("QUEUECTL_CRASH_MARK"); mark != "" {
				_ = os.WriteFile(mark, []byte(at), 0o600)
			}
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
