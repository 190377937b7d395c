//go:build !linux

package main

import "os"

// flushFiles makes the files at paths durable, one fsync each, as
// queuectl's batch does where there is no syncfs(2).
func flushFiles(_ string, paths []string) error {
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
