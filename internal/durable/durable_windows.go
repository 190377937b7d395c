package durable

// SyncDir does nothing: Windows cannot open a directory to flush it, and
// NTFS journals renames itself.
func SyncDir(string) error { return nil }
