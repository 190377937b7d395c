//go:build !linux

package durable

import "os"

// OpenFile is os.OpenFile: elsewhere it adds no system calls for regular
// files (see the Linux version).
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
