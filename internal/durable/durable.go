// Package durable writes files so that they survive a crash or power cut:
// data is fsynced before the rename that makes it visible, and the
// directory is fsynced after the rename.
package durable

import (
	"os"
	"path/filepath"
)

// WriteFile replaces the file at path with data, atomically: readers see the
// old contents or the new, never a mix, and after a crash one of the two.
// The new file gets mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}
