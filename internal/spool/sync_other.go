//go:build !linux

package spool

import "os"

// syncFiles flushes the files at paths, one fsync each: there is no
// portable way to flush a whole file system.
func syncFiles(_ string, paths []string) error {
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
