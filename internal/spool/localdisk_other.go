//go:build !linux

package spool

// onLocalDisk reports false: flushes are held on Linux only (see
// durable.SyncHeld), so no other system needs to tell.
func onLocalDisk(string) bool { return false }
