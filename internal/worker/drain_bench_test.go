//go:build unix

package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// BenchmarkDrain runs $QUEUECTL_BENCH_JOBS (default 2,000) `true` jobs,
// queued first, through $QUEUECTL_BENCH_WORKERS workers (default 1) per iteration: for CPU profiles of the
// job path (go test -run X -bench Drain -cpuprofile cpu.out). It reports
// jobs per second.
func BenchmarkDrain(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("QUEUECTL_BENCH_JOBS")); err == nil && v > 0 {
		n = v
	}
	workers := 1
	if v, err := strconv.Atoi(os.Getenv("QUEUECTL_BENCH_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	var took time.Duration
	for i := range b.N {
		b.StopTimer()
		s, err := spool.Open(filepath.Join(b.TempDir(), "spool"))
		if err != nil {
			b.Fatal(err)
		}
		jobs := make([]*job.Job, n)
		for k := range jobs {
			jobs[k] = &job.Job{ID: fmt.Sprintf("d%d-%06d", i, k), Command: "true"}
		}
		if _, err := s.EnqueueBatch(jobs); err != nil {
			b.Fatal(err)
		}
		c := config.Default()
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, workers)
		b.StartTimer()
		start := time.Now()
		for k := range workers {
			w := New(Options{ID: fmt.Sprintf("bench%d-%d", i, k), Spool: s, Config: &c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			go func() { done <- w.Run(ctx) }()
		}
		for {
			names, err := s.Names(spool.Done)
			if err != nil {
				b.Fatal(err)
			}
			if len(names) == n {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		took += time.Since(start)
		b.StopTimer()
		stop()
		for range workers {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/took.Seconds(), "jobs/s")
}
