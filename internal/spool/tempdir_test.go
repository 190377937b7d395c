package spool

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tempDir is t.TempDir, except under Wine ($QUEUECTL_TEST_WINE set by
// scripts/wine-test.sh), whose os.RemoveAll fails ("Invalid function": it
// lacks FileDispositionInformationEx): there the directory is made by
// hand and removed entry by entry with os.Remove, errors ignored (the
// script removes what is left).
func tempDir(t testing.TB) string {
	if os.Getenv("QUEUECTL_TEST_WINE") == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "queuectl-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(dir) })
	return dir
}

// removeTree removes dir and everything under it, deepest entries first.
func removeTree(dir string) {
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for _, p := range slices.Backward(paths) {
		_ = os.Remove(p)
	}
}
