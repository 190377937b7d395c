//go:build unix

package spool

import (
	"net"
	"syscall"
	"testing"
)

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// mksock leaves a unix socket at path for the rest of the test.
func mksock(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
}

// linkPublishTest runs the link(2) fallback of publish.
func linkPublishTest(src, dst string) error { return linkPublish(src, dst) }
