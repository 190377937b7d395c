package durable

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A file OpenFile opens is closed on exec, as os.OpenFile's are: no job
// inherits the worker's files.
func TestOpenFileCloseOnExec(t *testing.T) {
	f, err := OpenFile(filepath.Join(t.TempDir(), "a"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Fatal("the descriptor is inherited across exec")
	}
}
