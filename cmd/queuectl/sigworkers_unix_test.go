//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// sigworkers SIGNAL [N] sends SIGNAL (TERM or INT) N times (default 1)
// to every worker that has a heartbeat in ./spool/workers, as a service
// manager would (testscript's kill sends only INT and KILL).
func sigworkers() {
	sigs := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT}
	if len(os.Args) < 2 || len(os.Args) > 3 || sigs[os.Args[1]] == 0 {
		fmt.Fprintln(os.Stderr, "usage: sigworkers TERM|INT [N]")
		os.Exit(2)
	}
	n := 1
	if len(os.Args) == 3 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	files, _ := filepath.Glob(filepath.Join("spool", "workers", "*.json"))
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "sigworkers: no worker heartbeats in spool/workers")
		os.Exit(1)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var hb struct{ PID int }
		if json.Unmarshal(data, &hb) != nil || hb.PID <= 0 {
			continue
		}
		for i := range n {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if err := syscall.Kill(hb.PID, sigs[os.Args[1]]); err != nil {
				fmt.Fprintf(os.Stderr, "sigworkers: %d: %v\n", hb.PID, err)
				os.Exit(1)
			}
		}
	}
}
