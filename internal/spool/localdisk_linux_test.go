package spool

import (
	"path/filepath"
	"testing"
)

// Only the local disk file systems it knows hold their flushes: not procfs,
// and not a directory statfs cannot look at.
func TestOnLocalDiskRefusesOthers(t *testing.T) {
	for _, dir := range []string{"/proc", filepath.Join(t.TempDir(), "missing")} {
		if onLocalDisk(dir) {
			t.Errorf("onLocalDisk(%s) = true", dir)
		}
	}
}
