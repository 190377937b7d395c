package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// tmpfsSpool opens a spool on a small tmpfs mounted for the test (root
// only), and returns a function that fills the file system up.
func tmpfsSpool(t *testing.T) (*spool.Spool, func() func()) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	s, err := spool.Open(filepath.Join(mnt, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	fill := func() func() {
		filler := filepath.Join(mnt, "filler")
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
		return func() { os.Remove(filler) }
	}
	return s, fill
}

// TestEnqueueDiskFull: an enqueue that cannot be stored fails with a
// temporary error and leaves nothing behind; once space returns it works.
func TestEnqueueDiskFull(t *testing.T) {
	t.Parallel()
	s, fill := tmpfsSpool(t)
	free := fill()
	err := s.Enqueue(&job.Job{ID: "full", Command: strings.Repeat("x", 8000)})
	if err == nil || !spool.IsTemporary(err) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("enqueue on a full disk: %v (temporary: %v)", err, spool.IsTemporary(err))
	}
	for _, d := range []string{"tmp", "pending"} {
		if des, _ := os.ReadDir(filepath.Join(s.Root(), d)); len(des) != 0 {
			t.Errorf("%s/ holds %d entries after a failed enqueue", d, len(des))
		}
	}
	free()
	if err := s.Enqueue(&job.Job{ID: "full", Command: "true"}); err != nil {
		t.Fatalf("enqueue once space returned: %v", err)
	}
}

// TestWorkerDiskFull: a worker that cannot record a job's outcome keeps the
// job (no one else runs it), retries about once a second rather than in a
// busy loop, and finishes it once space returns.
func TestWorkerDiskFull(t *testing.T) {
	t.Parallel()
	s, fill := tmpfsSpool(t)
	marker := filepath.Join(t.TempDir(), "started")
	full := filepath.Join(t.TempDir(), "full")
	retries := 0
	// The job ends once the disk is full, however long filling it takes.
	if err := s.Enqueue(&job.Job{ID: "j", Command: "touch " + marker + "; while [ ! -e " + full + " ]; do sleep 0.05; done"}); err != nil {
		t.Fatal(err)
	}
	// Jobs due while the disk is full: none may start, their outcomes
	// could not be stored either.
	later := filepath.Join(t.TempDir(), "later")
	for _, id := range []string{"k1", "k2", "k3"} {
		if err := s.Enqueue(&job.Job{ID: id, Command: "touch " + later + "." + id, RunAt: time.Now().Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	cfg := config.Default()
	w := New(Options{ID: "w", Spool: s, Config: &cfg, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, func() bool { _, err := os.Stat(marker); return err == nil })
	free := fill()
	if err := os.WriteFile(full, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if st, err := s.Find("j"); err != nil || st != spool.Processing {
		t.Fatalf("while the disk is full the job is %s, %v; want processing", st, err)
	}
	if ids, _ := s.Orphans(); len(ids) != 0 {
		t.Fatalf("the job was let go while its worker lives: %v", ids)
	}
	if ran, _ := filepath.Glob(later + ".*"); len(ran) != 0 {
		t.Errorf("jobs started while an outcome could not be stored: %v", ran)
	}
	retries = strings.Count(logs.String(), "cannot record outcome yet")
	if retries < 1 || retries > 5 {
		t.Errorf("%d attempts to record the outcome in about 2.5 s; want a few, not a busy loop", retries)
	}
	free()
	waitUntil(t, func() bool {
		n, _ := s.Count(spool.Done)
		return n == 4
	})
	j, err := s.Read(spool.Done, "j")
	if err != nil || j.Attempts != 1 {
		t.Fatalf("done job %+v, %v", j, err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
