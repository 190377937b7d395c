//go:build !linux

package worker

import "os"

// outputPipe returns the pipe of a job's output.
func outputPipe() (r, w *os.File, err error) { return os.Pipe() }

// gatePipe returns the pipe of a job's gate (see gatedShell).
func gatePipe() (r, w *os.File, err error) { return os.Pipe() }
