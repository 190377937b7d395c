package main

// The memory workload: what a deep pending/ costs in memory and in
// listing. With -depth jobs pending whose run_at is in the year 2100 (so
// nothing runs), one worker is started; once it has indexed them (it has
// run a probe job, see waitIndexed) its peak resident set (VmHWM in
// /proc/PID/status, Linux only) is read every 250 ms until it has not
// grown for 2 s, then the worker is stopped. Then `queuectl list --json`
// runs over the same spool, its output discarded; its time and its peak
// resident set (ru_maxrss) are taken. Each figure is set against the same
// over a backlog of 2,000, in the same run.

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os/exec"
	"time"

	"github.com/queuectl/queuectl/internal/spool"
)

const mib = 1 << 20

func (b *bench) memory() []result {
	type level struct {
		n                         int
		dir                       string
		s                         *spool.Spool
		rss, ready, list, listRSS []float64
	}
	levels := []*level{{n: shallowDepth()}, {n: *depth}}
	for _, l := range levels {
		l.dir, l.s = b.backlog(l.n)
	}
	for r := range *runs {
		for _, l := range levels {
			start := time.Now()
			stop := b.startWorkers(l.dir, 1)
			b.waitIndexed(l.dir, l.s, 1)
			l.ready = append(l.ready, time.Since(start).Seconds())
			rss, ok := settledPeakRSS(l.dir)
			stop()
			if ok {
				l.rss = append(l.rss, rss/mib)
			}
			secs, lrss, ok := b.list(l.dir)
			l.list = append(l.list, secs)
			if ok {
				l.listRSS = append(l.listRSS, lrss/mib)
			}
			log.Printf("memory run %d, %d pending: worker ready in %.2f s, peak RSS %.1f MiB; list --json %.2f s, peak RSS %.1f MiB",
				r+1, l.n, l.ready[r], rss/mib, secs, lrss/mib)
		}
	}
	shallow, deep := levels[0], levels[1]
	var rs []result
	add := func(subject, metric string, unit string, pick func(*level) []float64) {
		if len(pick(shallow)) == 0 || len(pick(deep)) == 0 {
			log.Printf("memory: %s %s not measured on this system; skipped", subject, metric)
			return
		}
		base := median(pick(shallow))
		for _, l := range levels {
			v := median(pick(l))
			rs = append(rs, result{Workload: "memory", Subject: subject,
				Metric: fmt.Sprintf(metric, l.n), Median: v, Unit: unit, Ratio: v / base, Runs: *runs})
		}
	}
	add("queuectl worker", "peak RSS (VmHWM), %d pending (goal <= 50 MiB)", "MiB", func(l *level) []float64 { return l.rss })
	add("queuectl worker", "start to first job done, %d pending", "s", func(l *level) []float64 { return l.ready })
	add("queuectl list --json", "time, %d jobs (goal < 3 s)", "s", func(l *level) []float64 { return l.list })
	add("queuectl list --json", "peak RSS (ru_maxrss), %d jobs", "MiB", func(l *level) []float64 { return l.listRSS })
	return rs
}

// settledPeakRSS returns the peak resident set of dir's live worker, in
// bytes, once it has grown by less than 1% (and 256 KiB) in 2 s, or after
// 30 s. An idle Go process keeps touching a few new pages for a while, so
// "not grown at all" may never come.
func settledPeakRSS(dir string) (float64, bool) {
	pid := 0
	for _, hb := range heartbeats(dir) {
		if alive(hb.PID) {
			pid = hb.PID
		}
	}
	ref, ok := peakRSS(pid)
	if !ok {
		return 0, false
	}
	last := ref
	steady, deadline := time.Now(), time.Now().Add(30*time.Second)
	for time.Since(steady) < 2*time.Second && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if last, ok = peakRSS(pid); !ok {
			return 0, false
		}
		if last-ref > max(ref/100, 256<<10) {
			ref, steady = last, time.Now()
		}
	}
	return float64(last), true
}

// list times `queuectl list --json` over dir and returns its seconds and,
// where the system reports it, its peak resident set in bytes.
func (b *bench) list(dir string) (secs, rss float64, ok bool) {
	cmd := exec.Command(b.bin, "--spool", dir, "list", "--json")
	cmd.Env = b.env()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fatalf("queuectl list --json: %v\n%s", err, stderr.Bytes())
	}
	secs = time.Since(start).Seconds()
	v, ok := maxRSS(cmd.ProcessState)
	return secs, float64(v), ok
}
