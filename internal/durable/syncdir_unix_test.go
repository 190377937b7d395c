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
		for name, sync := range map[string]func(string) error{"SyncDir": SyncDir, "SyncDirHeld": SyncDirHeld} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				err := sync(tc.path)
				if tc.want == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				var pe *fs.PathError
				if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.Path != tc.path {
					t.Fatalf("%s(%s) = %v, want a path error naming it, of %v", name, tc.path, err, tc.want)
				}
			})
		}
	}
}

// SyncHeld succeeds and fails where os.File.Sync does: a pipe gets the
// same error, a closed file a sync error naming it.
func TestSyncHeld(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("x"); err != nil {
		t.Fatal(err)
	}
	if err := SyncHeld(f); err != nil {
		t.Fatalf("SyncHeld of a regular file: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	want := w.Sync() // fsync(2) of a pipe: EINVAL
	if want == nil {
		t.Skip("this system flushes pipes")
	}
	var pe *fs.PathError
	if err := SyncHeld(w); !errors.As(err, &pe) || pe.Op != "sync" || !errors.Is(err, errors.Unwrap(want)) {
		t.Fatalf("SyncHeld of a pipe = %v, want a sync error as os.File.Sync's %v", err, want)
	}
	closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if err := SyncHeld(closed); !errors.As(err, &pe) || pe.Op != "sync" || pe.Path != closed.Name() {
		t.Fatalf("SyncHeld of a closed file = %v, want a sync error naming it", err)
	}
}
