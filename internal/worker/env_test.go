package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// env is a spool with workers running in this process.
type env struct {
	t    *testing.T
	s    *spool.Spool
	cfg  *config.Config
	dir  string
	stop []context.CancelFunc
	wg   sync.WaitGroup

	prefix string // of the worker ids
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := tempDir(t)
	s, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.RetryDelay = 0.1
	e := &env{t: t, s: s, cfg: &cfg, dir: dir}
	t.Cleanup(e.shutdown)
	return e
}

// start runs n workers until the test ends.
func (e *env) start(n int) []*Worker {
	var ws []*Worker
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		w := New(Options{ID: fmt.Sprintf("%sw%d-%d", e.prefix, len(e.stop), i), Spool: e.s, Config: e.cfg,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		e.stop = append(e.stop, cancel)
		e.wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				e.t.Errorf("worker %s: %v", w.id, err)
			}
		})
		ws = append(ws, w)
	}
	return ws
}

func (e *env) shutdown() {
	for _, c := range e.stop {
		c()
	}
	e.wg.Wait()
}

func (e *env) enqueue(j *job.Job) {
	e.t.Helper()
	if j.MaxRetries == nil {
		j.MaxRetries = &e.cfg.MaxRetries
	}
	if err := e.s.Enqueue(j); err != nil {
		e.t.Fatal(err)
	}
}

// waitFor polls until cond holds; the deadline is generous (a busy 2-core
// machine running the whole suite under -race is slow): it only stops a
// hung test.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			counts := map[spool.State]int{}
			for _, st := range append(spool.States, spool.Rejected) {
				counts[st] = e.count(st)
			}
			e.t.Fatalf("timed out waiting for %s; jobs by state: %v", what, counts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) count(st spool.State) int {
	n, err := e.s.Count(st)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) read(st spool.State, id string) *job.Job {
	e.t.Helper()
	j, err := e.s.Read(st, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *env) lines(name string) []string {
	data, _ := os.ReadFile(filepath.Join(e.dir, name))
	return strings.Fields(string(data))
}

func retries(n int) *int { return &n }

// tempDir is t.TempDir, except under Wine ($QUEUECTL_TEST_WINE set by
// scripts/wine-test.sh), whose os.RemoveAll fails ("Invalid function": it
// lacks FileDispositionInformationEx): there the directory is made by
// hand and removed entry by entry with os.Remove, errors ignored (the
// script removes what is left).
func tempDir(t testing.TB) string {
	if os.Getenv("QUEUECTL_TEST_WINE") == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "queuectl-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		_ = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
			if err == nil {
				paths = append(paths, p)
			}
			return nil
		})
		for _, p := range slices.Backward(paths) {
			_ = os.Remove(p)
		}
	})
	return dir
}
