//go:build unix && !linux

package durable

import "os"

// SyncDir fsyncs a directory, making the creations, renames and removals in
// it durable. os.File.Sync is F_FULLFSYNC on macOS: through the drive's
// cache.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDirHeld is SyncDir: held calls (see the Linux SyncHeld) are made on
// Linux only, where the benchmark measured them.
func SyncDirHeld(dir string) error { return SyncDir(dir) }

// SyncHeld is f.Sync (see SyncDirHeld).
func SyncHeld(f *os.File) error { return f.Sync() }
