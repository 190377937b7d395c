//go:build !linux

package spool

import "os"

// exchange would swap the files at a and b; here it cannot (see
// recordPool).
func exchange(_, _ string) error { return errNoExchange }

func poolable(_ *os.File, _ string) bool { return false }

func openWrite(path string) (*os.File, error) { return nil, errNoExchange }
