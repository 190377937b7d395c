package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// BenchmarkCancelRunning measures the latency of cancelling a running job:
// from the start of Cancel to the job in dead/ and no live process left in
// its process group. It reports the median and the maximum.
func BenchmarkCancelRunning(b *testing.B) {
	dir := b.TempDir()
	s, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		b.Fatal(err)
	}
	c := config.Default()
	cfg := &c
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	w := New(Options{ID: "bench", Spool: s, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { stop(); <-done }()
	var took []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		id := fmt.Sprintf("c%d", i)
		pgidFile := filepath.Join(dir, id+".pgid")
		if err := s.Enqueue(&job.Job{ID: id, Command: "echo $$ > " + pgidFile + ".tmp && mv " + pgidFile + ".tmp " + pgidFile + "; sleep 30"}); err != nil {
			b.Fatal(err)
		}
		var pgid int
		for deadline := time.Now().Add(time.Minute); pgid == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the job does not start")
			}
			data, err := os.ReadFile(pgidFile)
			if err == nil {
				pgid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			}
		}
		b.StartTimer()
		start := time.Now()
		st, cancelled, err := Cancel(context.Background(), s, id, cfg)
		if err != nil || !cancelled || st != spool.Dead {
			b.Fatalf("Cancel: %s, %v, %v", st, cancelled, err)
		}
		for !(errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) || onlyZombies(pgid)) {
			time.Sleep(100 * time.Microsecond)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "ms-max")
}
