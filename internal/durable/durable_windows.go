package durable

import "os"

// SyncDir does nothing: Windows cannot open a directory to flush it, and
// NTFS journals renames itself.
func SyncDir(string) error { return nil }

// SyncDirHeld is SyncDir: held calls (see the Linux SyncHeld) are made on
// Linux only.
func SyncDirHeld(dir string) error { return SyncDir(dir) }

// SyncHeld is f.Sync (see SyncDirHeld).
func SyncHeld(f *os.File) error { return f.Sync() }
