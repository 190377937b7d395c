//go:build unix

package spool

import (
	"syscall"
	"testing"

	"github.com/queuectl/queuectl/internal/job"
)

// A umask that takes away the owner's write bit must not make queuectl's
// own records in processing/ look like a claim's mark. (Not parallel: the
// umask belongs to the whole process.)
func TestRecordUnderUmaskNotMarked(t *testing.T) {
	s := open(t)
	if err := s.Enqueue(&job.Job{ID: "j", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Claim(Pending, "j", "w")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	old := syscall.Umask(0o277)
	err = l.Record()
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Read(Processing, "j")
	if err != nil {
		t.Fatal(err)
	}
	if j.Attempts != 1 {
		t.Errorf("the recorded attempt reads as attempts %d, want 1", j.Attempts)
	}
}
