//go:build unix

package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// runChain enqueues a chain of n jobs, each --after the one before, runs
// it with workers workers (failing after limit), and returns, for each job after the first, the
// time from the end of the job before it (its finished_at) to its own
// start (its started_at, the claim).
func runChain(tb testing.TB, n, workers int, limit time.Duration) []time.Duration {
	tb.Helper()
	s, err := spool.Open(filepath.Join(tb.TempDir(), "spool"))
	if err != nil {
		tb.Fatal(err)
	}
	jobs := make([]*job.Job, n)
	ids := make([]string, n)
	for i := range jobs {
		ids[i] = fmt.Sprintf("c%04d", i)
		jobs[i] = &job.Job{ID: ids[i], Command: "true"}
		if i > 0 {
			jobs[i].After = []string{ids[i-1]}
		}
	}
	if _, err := s.EnqueueBatch(jobs); err != nil {
		tb.Fatal(err)
	}
	c := config.Default()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range workers {
		w := New(Options{ID: fmt.Sprintf("chain%d", i), Spool: s, Config: &c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				tb.Error(err)
			}
		})
	}
	defer func() { stop(); wg.Wait() }()
	wait, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	err = s.Await(wait, ids[n-1:], 100*time.Millisecond, func(id string, st spool.State) error {
		if st != spool.Done {
			return fmt.Errorf("%s is %s", id, st)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	gaps := make([]time.Duration, 0, n-1)
	var prev *job.Job
	for _, id := range ids {
		j, err := s.Read(spool.Done, id)
		if err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
		if j.Attempts != 1 {
			tb.Errorf("%s ran %d times", id, j.Attempts)
		}
		if prev != nil {
			gap := j.StartedAt.Sub(prev.FinishedAt)
			if gap < 0 {
				tb.Errorf("%s started at %s, before %s ended at %s", id, j.StartedAt, prev.ID, prev.FinishedAt)
			}
			gaps = append(gaps, gap)
		}
		prev = j
	}
	return gaps
}

// TestChainRunsInOrder runs a chain of jobs with several workers: each
// starts only after the one before it has ended, each runs once, and the
// last one is reached (every wake-up came from a notification: the safety
// rescan is 30 s away).
func TestChainRunsInOrder(t *testing.T) {
	t.Parallel()
	runChain(t, 100, 3, time.Minute)
}

// BenchmarkChain runs a chain of 1,000 jobs and reports the time from one
// job's end to the next one's start: median and maximum.
func BenchmarkChain(b *testing.B) {
	var gaps []time.Duration
	for b.Loop() {
		gaps = append(gaps, runChain(b, 1000, 2, 10*time.Minute)...)
	}
	slices.Sort(gaps)
	b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "ms-gap-median")
	b.ReportMetric(float64(gaps[len(gaps)*99/100].Microseconds())/1000, "ms-gap-p99")
	b.ReportMetric(float64(gaps[len(gaps)-1].Microseconds())/1000, "ms-gap-max")
}

// TestJittered checks that a retry delay with jitter is never shorter than
// the backoff's and at most 1 + jitter times it, and that it spreads.
func TestJittered(t *testing.T) {
	t.Parallel()
	d := 10 * time.Second
	for _, tt := range []struct {
		jitter, r float64
		want      time.Duration
	}{
		{0, 0.9, d}, {0.1, 0, d}, {0.1, 0.5, 10500 * time.Millisecond}, {1, 0.999, 19990 * time.Millisecond},
	} {
		t.Run(fmt.Sprint(tt.jitter, tt.r), func(t *testing.T) {
			if got := jittered(d, tt.jitter, tt.r); got != tt.want {
				t.Fatalf("jittered(%s, %g, %g) = %s, want %s", d, tt.jitter, tt.r, got, tt.want)
			}
		})
	}
	c := config.Default()
	c.BackoffJitter = 0.5
	seen := map[time.Duration]bool{}
	for range 100 {
		got := retryDelay(&c, 3)
		if base := backoff(&c, 3); got < base || got > base+base/2 {
			t.Fatalf("retryDelay = %s, outside [%s, %s]", got, base, base+base/2)
		}
		seen[got] = true
	}
	if len(seen) < 50 {
		t.Fatalf("100 retry delays took only %d values", len(seen))
	}
	c.BackoffJitter = 0
	if got, want := retryDelay(&c, 3), backoff(&c, 3); got != want {
		t.Fatalf("without jitter: %s, want %s", got, want)
	}
}
