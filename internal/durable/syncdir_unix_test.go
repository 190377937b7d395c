//go:build unix

package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestSyncDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error // nil: success
	}{
		{"directory", dir, nil},
		{"missing", filepath.Join(dir, "missing"), fs.ErrNotExist},
		{"regular file", file, syscall.ENOTDIR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SyncDir(tc.path)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *fs.PathError
			if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.Path != tc.path {
				t.Fatalf("SyncDir(%s) = %v, want a path error naming it, of %v", tc.path, err, tc.want)
			}
		})
	}
}
