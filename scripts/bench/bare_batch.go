package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// bareBatch is the batch workload's baseline: the least one process must do
// to store n job files durably, in the spool's layout: write each to tmp/,
// flush them all (one syncfs(2) on Linux, else an fsync each), rename each
// into pending/, and fsync pending/.
// It returns the first error.
func bareBatch(dir string, n int) error {
	tmps := make([]string, n)
	for i := range n {
		tmps[i] = filepath.Join(dir, "tmp", fmt.Sprintf("x%06d.tmp", i))
		f, err := os.OpenFile(tmps[i], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(f, "{\"id\": \"x%06d\", \"command\": \"true\"}\n", i)
		if err == nil && !syncfsWorks {
			err = f.Sync() // as queuectl's batch does without syncfs(2)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if err := syncFS(filepath.Join(dir, "tmp")); err != nil {
		return err
	}
	pending := filepath.Join(dir, "pending")
	for i, tmp := range tmps {
		if err := os.Rename(tmp, filepath.Join(pending, fmt.Sprintf("x%06d.json", i))); err != nil {
			return err
		}
	}
	d, err := os.Open(pending)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
