//go:build !linux

package durable

import "os"

// OpenFile is os.OpenFile: elsewhere it does not try the runtime's poller
// for regular files (macOS and the BSDs ask fstat instead), so there is
// nothing to save (see the Linux version).
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
