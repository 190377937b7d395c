package main

// The recovery workload: how soon a job whose worker is killed runs again.
// Two workers; one job that appends a start record (date +%s%N) to a file
// each time it starts, then sleeps 30 s on its first run only. Once the
// first record is there, the heartbeats in workers/ tell which worker runs
// the job; after a random wait of up to 1 s (workers look for orphans on a
// ticker; without it every run would meet the same phase of it) that
// worker is killed with kill -9, and the time from the kill to the second
// start record is the recovery time. The killed run's
// process group is left behind for the surviving worker to kill when it
// recovers the job; the bench checks that it did. Each run uses a fresh
// spool.

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

func (b *bench) recovery() []result {
	var secs []float64
	for r := range *runs {
		secs = append(secs, b.recoverOnce(r))
		log.Printf("recovery run %d: %.3f s from kill -9 to the job's next start", r+1, secs[r])
	}
	m := "kill -9 of the busy worker to the job's next start"
	return []result{
		{Workload: "recovery", Subject: "queuectl, 2 workers", Metric: m + ", median", Median: median(secs), Unit: "s", Runs: *runs},
		{Workload: "recovery", Subject: "queuectl, 2 workers", Metric: m + ", max (goal <= 2 s)", Median: pct(secs, 100), Unit: "s", Runs: *runs},
	}
}

func (b *bench) recoverOnce(r int) float64 {
	dir, s := b.spool()
	stop := b.startWorkers(dir, 2)
	defer stop()
	starts := dir + "-starts.txt"
	id := fmt.Sprintf("victim%d", r)
	command := fmt.Sprintf(`date +%%s%%N >> %[1]s; [ "$(wc -l < %[1]s)" -ge 2 ] || sleep 30`, starts)
	if err := s.Enqueue(&job.Job{ID: id, Command: command}); err != nil {
		fatalf("%v", err)
	}
	waitRecords(starts, 1)
	var victim heartbeat
	deadline := time.Now().Add(10 * time.Second)
	for victim.PID == 0 {
		for _, hb := range heartbeats(dir) {
			if hb.Job == id && hb.JobPID > 0 && alive(hb.PID) {
				victim = hb
			}
		}
		if victim.PID == 0 {
			if time.Now().After(deadline) {
				fatalf("recovery: no heartbeat in %s names job %s", filepath.Join(dir, "workers"), id)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Workers look for orphans on a ticker: kill at a random phase of it,
	// or every run would see the same wait.
	time.Sleep(rand.N(time.Second))
	// The killed run's group: killed by recovery, else by the bench.
	leftover := victim.JobPID
	defer atExit(func() { killGroup(leftover) })()
	t0 := time.Now()
	if err := killPID(victim.PID); err != nil {
		fatalf("kill -9 %d: %v", victim.PID, err)
	}
	again := waitRecords(starts, 2)[1].Sub(t0)
	if groupAlive(leftover) {
		time.Sleep(time.Second)
	}
	if groupAlive(leftover) {
		log.Printf("note: recovery run %d: the killed worker's run of %s (process group %d) still runs after the job started again; killing it", r+1, id, leftover)
	} else {
		leftover = 0
	}
	waitState(s, id, spool.Done, 30*time.Second)
	stop()
	for _, hb := range heartbeats(dir) {
		if alive(hb.PID) {
			log.Printf("note: recovery run %d: worker pid %d alive after worker stop", r+1, hb.PID)
		}
	}
	return again.Seconds()
}

// waitRecords waits until file holds n start records (date +%s%N lines)
// and returns them.
func waitRecords(file string, n int) []time.Time {
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(file)
		if lines := strings.Split(string(data), "\n"); len(lines) > n { // a complete last line leaves "" after it
			var ts []time.Time
			for _, l := range lines[:n] {
				ns, err := strconv.ParseInt(l, 10, 64)
				if err != nil {
					fatalf("%s: bad record %q", file, l)
				}
				ts = append(ts, time.Unix(0, ns))
			}
			return ts
		}
		if time.Now().After(deadline) {
			fatalf("%s: %d start record(s) wanted, none more after 60 s:\n%s", file, n, data)
		}
		time.Sleep(time.Millisecond)
	}
}
