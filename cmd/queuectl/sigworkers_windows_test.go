package main

import (
	"fmt"
	"os"
)

// sigworkers is not available on Windows, which has no SIGTERM.
func sigworkers() {
	fmt.Fprintln(os.Stderr, "sigworkers: no signals on Windows")
	os.Exit(2)
}
