//go:build !linux && !darwin && !windows

package spool

// onNetworkFS reports whether dir is on a network file system. It is not
// detected here; set watch = false in the configuration.
func onNetworkFS(string) bool { return false }
