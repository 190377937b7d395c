package main

// The retention workload: what a retention pass costs the claims of the
// worker that runs it. One idle worker, jobs enqueued one at a time: the
// time from the start of each enqueue (which waits for the spool lock
// that the pass takes chunk by chunk) to the job's first instruction,
// while the worker's janitor removes -depth done jobs with their logs,
// against the same worker with no pass running, in the same run.
//
// The done jobs were last updated in 2020. The worker starts with
// done_retention = 0 (no pass), is measured idle, then the configuration
// file is rewritten with done_retention = 1 day: the reload reaches the
// worker, whose janitor starts a pass within a second. Pickups are
// measured from the pass's first removal to the line the pass logs at its
// end, which also says how long it took.

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// doneBacklog writes n done jobs, last updated in 2020, each with a log,
// straight into the spool while no worker runs.
func doneBacklog(s *spool.Spool, n int) {
	start := time.Now()
	long := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		checkExit()
		id := fmt.Sprintf("old%07d", i)
		code := 0
		j := &job.Job{ID: id, Command: "true", CreatedAt: long, UpdatedAt: long, FinishedAt: long,
			Attempts: 1, ExitCode: &code, State: string(spool.Done)}
		data, err := job.Marshal(j)
		if err != nil {
			fatalf("job %s: %v", id, err)
		}
		if err := os.WriteFile(s.Path(spool.Done, id), data, 0o600); err != nil {
			fatalf("write job: %v", err)
		}
		if err := os.WriteFile(s.LogPath(id), []byte("=== attempt 1\nhello\n"), 0o600); err != nil {
			fatalf("write log: %v", err)
		}
	}
	log.Printf("%d done jobs with logs written in %.1f s", n, time.Since(start).Seconds())
}

// passLine matches the line a retention pass logs, with its duration.
var passLine = regexp.MustCompile(`msg="retention pass".* done=(\d+) took=(\S+)`)

func (b *bench) retention() []result {
	var idleP50, idleP99, passP50, passP99, passSecs, samples []float64
	for r := range *runs {
		dir, s := b.spool()
		doneBacklog(s, *depth)
		conf := filepath.Join(b.tempDir("conf"), "queuectl.toml")
		setRetention := func(secs int) {
			tmp := conf + ".tmp"
			if err := os.WriteFile(tmp, fmt.Appendf(nil, "done_retention = %d\n", secs), 0o600); err != nil {
				fatalf("%v", err)
			}
			if err := os.Rename(tmp, conf); err != nil {
				fatalf("%v", err)
			}
		}
		setRetention(0)
		stop := b.startWorkers(dir, 1, "--config", conf)
		b.waitIndexed(dir, s, 1)
		stamps := b.tempDir("stamps")
		i := 0
		var enq []float64 // how long each Enqueue call took
		pickup := func() float64 {
			i++
			out := filepath.Join(stamps, strconv.Itoa(i))
			id := fmt.Sprintf("p%d-%06d", r, i)
			t0 := time.Now()
			if err := s.Enqueue(&job.Job{ID: id, Command: "date +%s%N > " + out}); err != nil {
				fatalf("%v", err)
			}
			enq = append(enq, ms(time.Since(t0)))
			lat := ms(waitStamp(out).Sub(t0))
			waitState(s, id, spool.Done, 30*time.Second)
			time.Sleep(5 * time.Millisecond)
			return lat
		}
		var idle []float64
		for range *nPickup {
			idle = append(idle, pickup())
		}
		idleEnq := enq
		enq = nil

		base, err := s.Count(spool.Done)
		if err != nil {
			fatalf("%v", err)
		}
		setRetention(86400)
		deadline := time.Now().Add(time.Minute)
		for {
			n, err := s.Count(spool.Done)
			if err != nil {
				fatalf("%v", err)
			}
			if n < base {
				break // the pass has removed its first chunk
			}
			if time.Now().After(deadline) {
				fatalf("retention: no pass began within a minute of the configuration change")
			}
			time.Sleep(10 * time.Millisecond) // a count reads all of done/: not too often
		}
		var during []float64
		var took time.Duration
		for took == 0 {
			if m := passLine.FindStringSubmatch(workerLogs(dir)); m != nil {
				if took, err = time.ParseDuration(m[2]); err != nil || m[1] == "0" {
					fatalf("retention: pass line %q", m[0])
				}
				break
			}
			during = append(during, pickup())
		}
		stop()
		if len(during) == 0 {
			log.Printf("note: retention run %d: the pass (%v) ended before a pickup could be measured", r+1, took)
			during = []float64{0}
		}
		idleP50, idleP99 = append(idleP50, pct(idle, 50)), append(idleP99, pct(idle, 99))
		passP50, passP99 = append(passP50, pct(during, 50)), append(passP99, pct(during, 99))
		passSecs, samples = append(passSecs, took.Seconds()), append(samples, float64(len(during)))
		log.Printf("retention run %d: pass over %d done jobs took %.2f s; pickup idle p50 %.2f ms p99 %.2f ms; during the pass (%d jobs) p50 %.2f ms p99 %.2f ms",
			r+1, *depth, took.Seconds(), idleP50[r], idleP99[r], len(during), passP50[r], passP99[r])
		log.Printf("retention run %d: of which the enqueue call (lock wait, fsync of pending/): idle p50 %.2f ms p99 %.2f ms; during the pass p50 %.2f ms p99 %.2f ms",
			r+1, pct(idleEnq, 50), pct(idleEnq, 99), pct(enq, 50), pct(enq, 99))
	}
	w := fmt.Sprintf("retention, %d done jobs", *depth)
	return []result{
		{Workload: w, Subject: "pickup p50, no pass", Metric: fmt.Sprintf("%d jobs, from enqueue's start", *nPickup), Median: median(idleP50), Unit: "ms", Ratio: 1, Runs: *runs},
		{Workload: w, Subject: "pickup p50, during the pass", Metric: fmt.Sprintf("%.0f jobs (median)", median(samples)), Median: median(passP50), Unit: "ms", Ratio: median(passP50) / median(idleP50), Runs: *runs},
		{Workload: w, Subject: "pickup p99, no pass", Metric: fmt.Sprintf("%d jobs, from enqueue's start", *nPickup), Median: median(idleP99), Unit: "ms", Ratio: 1, Runs: *runs},
		{Workload: w, Subject: "pickup p99, during the pass", Metric: fmt.Sprintf("%.0f jobs (median)", median(samples)), Median: median(passP99), Unit: "ms", Ratio: median(passP99) / median(idleP99), Runs: *runs},
		{Workload: w, Subject: "the pass", Metric: "removing every job and its log", Median: median(passSecs), Unit: "s", Runs: *runs},
	}
}

// workerLogs returns the logs of dir's detached workers, joined.
func workerLogs(dir string) string {
	paths, _ := filepath.Glob(filepath.Join(dir, "workers", "*.log"))
	var all []byte
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		all = append(all, data...)
	}
	return string(all)
}
