//go:build !linux

package spool

// onNetworkFS reports whether dir is on a network file system. Only Linux
// is detected; elsewhere set watch = false in the configuration.
func onNetworkFS(string) bool { return false }
