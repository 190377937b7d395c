package spool

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// dirNames lists what dir holds.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestOpenExisting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(root string) // makes what root is
		noSpool bool              // want a *NoSpoolError
	}{
		{"missing", func(string) {}, true},
		{"a file", func(root string) { os.WriteFile(root, []byte("x"), 0o600) }, true},
		{"an empty directory", func(root string) { os.Mkdir(root, 0o700) }, true},
		{"a directory of other things", func(root string) {
			os.MkdirAll(filepath.Join(root, "ssh"), 0o700)
			os.WriteFile(filepath.Join(root, "hosts"), []byte("x"), 0o600)
			os.Mkdir(filepath.Join(root, "tmp"), 0o700)
		}, true},
		{"only pending/", func(root string) { os.MkdirAll(filepath.Join(root, "pending"), 0o700) }, false},
		{"only dead/", func(root string) { os.MkdirAll(filepath.Join(root, "dead"), 0o700) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(tempDir(t), "spool")
			tt.setup(root)
			var before []string
			if fi, err := os.Stat(root); err == nil && fi.IsDir() {
				before = dirNames(t, root)
			}
			s, err := OpenExisting(root, Options{ReadOnly: true})
			var ns *NoSpoolError
			if tt.noSpool != errors.As(err, &ns) {
				t.Fatalf("OpenExisting: %v, want a NoSpoolError: %v", err, tt.noSpool)
			}
			if tt.noSpool {
				if ns.Root != root {
					t.Errorf("the error names %q, want %q", ns.Root, root)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				// Missing directories read as empty, and reading them,
				// the workers or the spool lock creates nothing.
				for _, st := range append(slices.Clone(States), Rejected) {
					if n, err := s.Count(st); err != nil || n != 0 {
						t.Errorf("Count(%s) = %d, %v; want 0, nil", st, n, err)
					}
				}
				if ws, err := s.Workers(false); err != nil || len(ws) != 0 {
					t.Errorf("Workers = %v, %v; want none", ws, err)
				}
				if _, err := s.Find("job"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Find: %v, want ErrNotFound", err)
				}
				unlock, err := s.lock(true)
				if err != nil {
					t.Fatal(err)
				}
				unlock()
			}
			if fi, err := os.Stat(root); err == nil && fi.IsDir() {
				if after := dirNames(t, root); !slices.Equal(before, after) {
					t.Errorf("root held %v, now %v", before, after)
				}
			} else if tt.name == "missing" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("root was created: %v", err)
			}
		})
	}
}
