package main

// The depth workload: what a deep pending/ costs a worker. Drain rate
// (2 workers, -drain `true` jobs) and pickup latency (one idle worker,
// -pickup jobs) are measured on a spool that also holds a backlog of
// -depth jobs, against the same measurements over a backlog of 2,000, in
// the same run.
//
// The backlog jobs have run_at in the year 2100: the worker reads and
// indexes every one of them (its scans list them, its index holds them in
// the not-yet-due heap), but claims none, so what is timed is the measured
// jobs only, and an idle worker stays idle. Priorities would not do: once
// the measured jobs were done the workers would start on the backlog, and
// pickup would no longer meet an idle worker.
//
// Workers are started on the backlog and the clock starts only once each
// has run a probe job (see waitIndexed): the initial scan of the backlog is
// the memory workload's figure, not the drain's. The drain's jobs are
// written beside the spool and renamed into pending/ when the clock starts.

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// farFuture is the run_at of backlog jobs: never due during a bench.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// shallowDepth is the backlog that deep backlogs are compared with.
func shallowDepth() int { return min(2000, *depth/10) }

// backlog returns a fresh spool with n jobs pending that are not due
// before 2100. The files are written directly into pending/ while no
// worker runs (`enqueue --batch` takes about 30 s for 100,000 jobs on a
// slow disk; durability of the backlog is not what is measured).
func (b *bench) backlog(n int) (string, *spool.Spool) {
	dir, s := b.spool()
	start := time.Now()
	const chunk = 10000
	for i := 0; i < n; i += chunk {
		jobs := make([]*job.Job, 0, chunk)
		for k := i; k < min(i+chunk, n); k++ {
			jobs = append(jobs, &job.Job{ID: fmt.Sprintf("k%07d", k), Command: "true", RunAt: farFuture})
		}
		writeJobs(s.StateDir(spool.Pending), jobs)
	}
	log.Printf("backlog of %d jobs written in %.1f s", n, time.Since(start).Seconds())
	return dir, s
}

func (b *bench) depth() []result {
	type level struct {
		n                int
		dir              string
		s                *spool.Spool
		rate, p50s, p99s []float64
	}
	levels := []*level{{n: shallowDepth()}, {n: *depth}}
	for _, l := range levels {
		l.dir, l.s = b.backlog(l.n)
	}
	for r := range *runs {
		for _, l := range levels {
			l.rate = append(l.rate, b.depthDrain(l.dir, l.s, r))
			p50, p99 := b.depthPickup(l.dir, l.s, r)
			l.p50s, l.p99s = append(l.p50s, p50), append(l.p99s, p99)
			log.Printf("depth run %d, %d pending: drain %.0f jobs/s, pickup p50 %.2f ms p99 %.2f ms",
				r+1, l.n, l.rate[r], p50, p99)
		}
	}
	shallow, deep := levels[0], levels[1]
	row := func(l *level, metric string, v []float64, unit string, base []float64) result {
		return result{Workload: "depth", Subject: fmt.Sprintf("queuectl, %d pending", l.n), Metric: metric,
			Median: median(v), Unit: unit, Ratio: median(v) / median(base), Runs: *runs}
	}
	drain := fmt.Sprintf("drain %d true jobs, 2 workers", *nDrain)
	p50 := fmt.Sprintf("pickup p50, %d jobs", *nPickup)
	p99 := fmt.Sprintf("pickup p99, %d jobs", *nPickup)
	return []result{
		row(shallow, drain, shallow.rate, "jobs/s", shallow.rate),
		row(deep, drain+" (goal ratio >= 0.95)", deep.rate, "jobs/s", shallow.rate),
		row(shallow, p50, shallow.p50s, "ms", shallow.p50s),
		row(deep, p50+" (goal ratio <= 1.2)", deep.p50s, "ms", shallow.p50s),
		row(shallow, p99, shallow.p99s, "ms", shallow.p99s),
		row(deep, p99, deep.p99s, "ms", shallow.p99s),
	}
}

// depthDrain returns the rate at which 2 indexed workers drain -drain
// `true` jobs that appear at once in pending/ beside the backlog.
func (b *bench) depthDrain(dir string, s *spool.Spool, r int) float64 {
	stop := b.startWorkers(dir, 2)
	defer stop()
	b.waitIndexed(dir, s, 2)
	stage := b.tempDir("stage")
	jobs := make([]*job.Job, *nDrain)
	for i := range jobs {
		jobs[i] = &job.Job{ID: fmt.Sprintf("d%d-%06d", r, i), Command: "true"}
	}
	writeJobs(stage, jobs)
	done := watchDone(s)
	defer done.close()
	base := len(done.seen)
	pending := s.StateDir(spool.Pending)
	start := time.Now()
	for _, j := range jobs {
		name := j.ID + ".json"
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(pending, name)); err != nil {
			fatalf("%v", err)
		}
	}
	end := done.wait(base+len(jobs), 10*time.Minute, fmt.Sprintf("depth drain (%d done before it)", base))
	el := end.Sub(start)
	os.Remove(stage)
	return float64(len(jobs)) / el.Seconds()
}

// depthPickup returns the p50 and p99, in ms, from enqueue returning to a
// job's first instruction, for an indexed idle worker beside the backlog.
func (b *bench) depthPickup(dir string, s *spool.Spool, r int) (p50, p99 float64) {
	stop := b.startWorkers(dir, 1)
	defer stop()
	b.waitIndexed(dir, s, 1)
	stamps := b.tempDir("stamps")
	var lat []float64
	for i := range *nPickup {
		out := filepath.Join(stamps, strconv.Itoa(i))
		id := fmt.Sprintf("p%d-%06d", r, i)
		if err := s.Enqueue(&job.Job{ID: id, Command: "date +%s%N > " + out}); err != nil {
			fatalf("%v", err)
		}
		t0 := time.Now()
		lat = append(lat, ms(waitStamp(out).Sub(t0)))
		waitState(s, id, spool.Done, 30*time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	return pct(lat, 50), pct(lat, 99)
}
