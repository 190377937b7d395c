package spool

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// A held lease keeps recoverers off its job while the job file is
// rewritten under readers; once released, the job is an orphan and is put
// back with its run counted. (On Windows the lease is a lock file of its
// own, and the job file is replaced while nothing of queuectl's holds it.)
func TestLeaseAgainstRecovery(t *testing.T) {
	s := open(t)
	if err := s.Enqueue(&job.Job{ID: "j", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Claim(Pending, "j", "w1")
	if err != nil {
		t.Fatal(err)
	}
	// A reader holds the job file open for a moment while the attempt is
	// written into it.
	f, _, err := openEntry(s.path(Processing, "j"))
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { f.Close() })
	if err := l.Record(); err != nil {
		t.Fatalf("record while a reader has the file open: %v", err)
	}
	if ids, err := s.Orphans(); err != nil || len(ids) != 0 {
		t.Fatalf("orphans of a held lease: %v, %v", ids, err)
	}
	if _, _, err := s.Recover("j", 3, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("recover of a held lease: %v, want ErrBusy", err)
	}
	if _, err := s.Claim(Processing, "j", "w2"); err == nil {
		t.Fatal("a second claim of a leased job succeeded")
	}
	if j, err := s.Read(Processing, "j"); err != nil || j.Attempts != 1 || j.Worker != "w1" {
		t.Fatalf("leased job reads %+v, %v", j, err)
	}
	l.Release()
	if ids, err := s.Orphans(); err != nil || !slices.Equal(ids, []string{"j"}) {
		t.Fatalf("orphans after release: %v, %v", ids, err)
	}
	j, st, err := s.Recover("j", 3, 0)
	if err != nil || st != Pending || j.Attempts != 1 {
		t.Fatalf("recover: %v, %s, %+v", err, st, j)
	}
	if es, _ := os.ReadDir(s.dir(Processing)); len(es) != 0 {
		t.Errorf("processing/ not empty after recovery: %v", es)
	}
	// Put back, it is claimed and completed as any other job.
	l, err = s.Claim(Pending, "j", "w2")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Complete("ok\n"); err != nil {
		t.Fatal(err)
	}
	if j, err := s.Read(Done, "j"); err != nil || j.Attempts != 2 {
		t.Fatalf("done: %+v, %v", j, err)
	}
	if es, _ := os.ReadDir(s.dir(Processing)); len(es) != 0 {
		t.Errorf("processing/ not empty after the outcome: %v", es)
	}
}

// A job whose worker was terminated by worker stop is put back uncounted;
// one whose worker died otherwise is counted.
func TestRecoverTerminatedByStop(t *testing.T) {
	for _, tc := range []struct {
		name       string
		terminated bool
		want       int
	}{
		{"terminated by worker stop", true, 0},
		{"crashed", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if err := s.Enqueue(&job.Job{ID: "j", Command: "true"}); err != nil {
				t.Fatal(err)
			}
			reg, err := s.Register("w1")
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.Claim(Pending, "j", "w1")
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Record(); err != nil {
				t.Fatal(err)
			}
			if tc.terminated {
				if err := s.MarkTerminated("w1"); err != nil {
					t.Fatal(err)
				}
			}
			l.Release() // the worker is gone
			reg.lock.Close()
			j, st, err := s.Recover("j", 3, 0)
			if err != nil || st != Pending {
				t.Fatalf("recover: %v, %s", err, st)
			}
			if j.Attempts != tc.want {
				t.Errorf("attempts %d, want %d", j.Attempts, tc.want)
			}
			if _, err := s.Workers(true); err != nil {
				t.Fatal(err)
			}
			if s.terminatedByStop("w1") {
				t.Error("the mark outlived the dead worker's files")
			}
		})
	}
}

// readAll reads a file whole whatever the size it was told: the one seen,
// a smaller one (the file grew), a larger one (it shrank), and never past
// job.MaxSize+1 bytes.
func TestReadAll(t *testing.T) {
	p := filepath.Join(tempDir(t), "f")
	data := []byte(strings.Repeat("x", 1000))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int64{1000, 0, 10, 999, 1001, 5000} {
		got, err := readAll(f, size)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d: read %d bytes, %v", size, len(got), err)
		}
	}
	big := filepath.Join(tempDir(t), "big")
	if err := os.WriteFile(big, make([]byte, job.MaxSize+100), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, size := range []int64{job.MaxSize + 100, 10} {
		if got, err := readAll(g, size); err != nil || len(got) != job.MaxSize+1 {
			t.Errorf("oversized file told %d: read %d bytes, %v", size, len(got), err)
		}
	}
}
