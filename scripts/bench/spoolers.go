package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/queuectl/queuectl/internal/spool"
)

// spoolers are the other command-line queues compared with queuectl in
// drain and pickup, where installed: task-spooler (tsp) and nq. The drain
// goal is to be ahead of tsp (as of the peers in peers.go); nq, serial by
// design, is context.
type spoolers struct {
	tsp, nq string // paths; empty when not installed
}

// nqMax caps nq's drain: nq leaves a waiting process per queued job.
const nqMax = 500

func findSpoolers() spoolers {
	var sp spoolers
	// Debian ships task-spooler as tsp; elsewhere it may be ts, a name
	// moreutils also uses, so the version text decides.
	for _, name := range []string{"tsp", "ts"} {
		if p, err := exec.LookPath(name); err == nil && isTaskSpooler(p) {
			sp.tsp = p
			break
		}
	}
	if sp.tsp == "" {
		log.Print("tsp not installed (apt-get install task-spooler); skipped")
	}
	if p, err := exec.LookPath("nq"); err == nil {
		sp.nq = p
	} else {
		log.Print("nq not installed (apt-get install nq); skipped")
	}
	return sp
}

func isTaskSpooler(path string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, "-V").CombinedOutput()
	return bytes.Contains(out, []byte("Task Spooler"))
}

// queue is one private queue of tsp or nq: its own socket or directory, so
// that no other queue on the machine interferes.
type queue struct {
	bin string
	env []string
}

func (q *queue) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(q.bin, args...)
	cmd.Env = q.env
	return cmd
}

func (q *queue) run(args ...string) {
	if out, err := q.cmd(args...).CombinedOutput(); err != nil {
		fatalf("%s %v: %v\n%s", filepath.Base(q.bin), args, err, out)
	}
}

// newTsp starts a private task-spooler server with the given slots. The
// returned function kills it and removes its directory; so does an early
// exit.
func (b *bench) newTsp(slots int) (*queue, func()) {
	dir := b.tempDir("tsp")
	q := &queue{bin: b.spoolers.tsp, env: append(os.Environ(),
		"TS_SOCKET="+filepath.Join(dir, "socket"), "TMPDIR="+dir,
		"TS_SLOTS="+strconv.Itoa(slots), "TS_MAXFINISHED=100000")}
	done := atExit(func() {
		if out, err := q.cmd("-K").CombinedOutput(); err != nil {
			log.Printf("tsp -K: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	q.run("-S", strconv.Itoa(slots)) // starts the server before any timing
	return q, done
}

// tspQueueMax is the most jobs queued in tsp before its drain is timed.
const tspQueueMax = 900

// tspBlock queues two jobs that hold q's two slots until the returned
// function is called: each waits for a shared lock on a file the bench
// holds locked exclusively. The lock, unlike a signal file, wakes them at
// once and cannot be missed by a blocker that starts late.
func (b *bench) tspBlock(q *queue, flockBin string) (release func()) {
	path := filepath.Join(b.tempDir("gate"), "lock")
	l := flock.New(path)
	if err := l.Lock(); err != nil {
		fatalf("lock %s: %v", path, err)
	}
	for range 2 {
		q.run("-n", flockBin, "-s", path, "true")
	}
	return func() {
		if err := l.Unlock(); err != nil {
			fatalf("unlock %s: %v", path, err)
		}
	}
}

// tspBusy reports whether the tsp queue still has a job not finished.
func tspBusy(q *queue) bool {
	out, err := q.cmd("-l").Output()
	if err != nil {
		fatalf("tsp -l: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines[1:] { // the first is a header
		if f := strings.Fields(l); len(f) > 1 && f[1] != "finished" {
			return true
		}
	}
	return false
}

func (b *bench) newNq() (*queue, func()) {
	dir := b.tempDir("nq")
	q := &queue{bin: b.spoolers.nq, env: append(os.Environ(), "NQDIR="+dir)}
	return q, atExit(func() { os.RemoveAll(dir) })
}

// tempDir returns a new directory in the bench's work directory.
func (b *bench) tempDir(prefix string) string {
	checkExit()
	b.n++
	dir := filepath.Join(b.work, prefix+strconv.Itoa(b.n))
	if err := os.Mkdir(dir, 0o700); err != nil {
		fatalf("%v", err)
	}
	return dir
}

// spoolerDrain measures tsp with 2 slots and nq (serial by design) over
// `sh -c true` jobs. tsp's jobs are queued before its timing starts: two
// blocker jobs hold its slots, waiting for a lock the bench holds, while
// the jobs queue behind them; the time runs from the lock's release to the
// last job done, as queuectl's runs from its workers' start with its jobs
// queued. (Without flock(1), the time runs from the first enqueue.) nq
// cannot hold jobs back: its time runs from the first enqueue. xargs is the
// drain workload's baseline rate.
func (b *bench) spoolerDrain(xargs float64) []result {
	var rs []result
	if b.spoolers.tsp != "" {
		flockBin, err := exec.LookPath("flock")
		queued := err == nil
		n := *nDrain
		if queued {
			// Each job queued in tsp is a client process connected to its
			// server, which select(2)s over them: past about 1,000 the
			// server stops accepting.
			n = min(n, tspQueueMax)
		}
		var rates []float64
		for r := range *runs {
			q, done := b.newTsp(2)
			var release func()
			if queued {
				release = b.tspBlock(q, flockBin)
			}
			start := time.Now()
			for range n {
				q.run("-n", "sh", "-c", "true")
			}
			if queued {
				start = time.Now()
				release()
			}
			q.run("-w") // the last job added
			for tspBusy(q) {
				time.Sleep(2 * time.Millisecond)
			}
			rates = append(rates, float64(n)/time.Since(start).Seconds())
			done()
			log.Printf("drain run %d: tsp -S 2 %.0f jobs/s (queued first: %v)", r+1, rates[r], queued)
		}
		metric := fmt.Sprintf("%d sh -c true jobs, queued first", n)
		if !queued {
			metric = fmt.Sprintf("%d sh -c true jobs, enqueue+drain", *nDrain)
		}
		rs = append(rs, result{Workload: "drain", Subject: "tsp, 2 slots", Metric: metric,
			Median: median(rates), Unit: "jobs/s", Ratio: median(rates) / xargs, Runs: *runs})
	}
	if b.spoolers.nq != "" {
		n := min(*nDrain, nqMax)
		var rates []float64
		for r := range *runs {
			q, done := b.newNq()
			start := time.Now()
			for range n {
				q.run("-q", "sh", "-c", "true")
			}
			q.run("-w") // every job of the queue
			rates = append(rates, float64(n)/time.Since(start).Seconds())
			done()
			log.Printf("drain run %d: nq %.0f jobs/s (enqueue+drain, serial)", r+1, rates[r])
		}
		rs = append(rs, result{Workload: "drain", Subject: "nq (serial)",
			Metric: fmt.Sprintf("%d sh -c true jobs (capped at %d), enqueue+drain", n, nqMax),
			Median: median(rates), Unit: "jobs/s", Ratio: median(rates) / xargs, Runs: *runs})
	}
	return rs
}

// spoolerPickup measures, like pickup, the time to a job's first
// instruction on an idle queue, but from the start of the enqueueing
// command, as tsp and nq offer no other way in: for queuectl enqueue, tsp
// and nq alike. p50 and p99 are the direct spawn's, to compare with.
func (b *bench) spoolerPickup(p50, p99 float64) (rs50, rs99 []result) {
	type subject struct {
		name  string
		setup func() (submit func(id, command string), settle func(id string), done func())
	}
	subjects := []subject{{"queuectl enqueue command, idle worker", func() (func(string, string), func(string), func()) {
		dir, s := b.spool()
		stop := b.startWorkers(dir, 1)
		b.waitIndexed(dir, s, 1)
		submit := func(id, command string) { b.queuectl(dir, "enqueue", "--id", id, "--command", command) }
		settle := func(id string) { waitState(s, id, spool.Done, 30*time.Second) }
		return submit, settle, stop
	}}}
	if b.spoolers.tsp != "" {
		subjects = append(subjects, subject{"tsp, idle server", func() (func(string, string), func(string), func()) {
			q, done := b.newTsp(1)
			submit := func(_, command string) { q.run("-n", "sh", "-c", command) }
			settle := func(string) { q.run("-w") }
			return submit, settle, done
		}})
	}
	if b.spoolers.nq != "" {
		subjects = append(subjects, subject{"nq, idle queue", func() (func(string, string), func(string), func()) {
			q, done := b.newNq()
			submit := func(_, command string) { q.run("-q", "sh", "-c", command) }
			settle := func(string) { q.run("-w") }
			return submit, settle, done
		}})
	}
	m := fmt.Sprintf("%d jobs, from enqueue command start", *nPickup)
	for _, sub := range subjects {
		var s50, s99 []float64
		for r := range *runs {
			submit, settle, done := sub.setup()
			stamps := b.tempDir("stamps")
			var lat []float64
			for i := range *nPickup {
				out := filepath.Join(stamps, strconv.Itoa(i))
				id := fmt.Sprintf("c%06d", i)
				t0 := time.Now()
				submit(id, "date +%s%N > "+out)
				lat = append(lat, ms(waitStamp(out).Sub(t0)))
				settle(id)
				time.Sleep(5 * time.Millisecond)
			}
			done()
			s50, s99 = append(s50, pct(lat, 50)), append(s99, pct(lat, 99))
			log.Printf("pickup run %d: %s p50 %.2f ms p99 %.2f ms (from enqueue command start)", r+1, sub.name, s50[r], s99[r])
		}
		rs50 = append(rs50, result{Workload: "pickup", Subject: sub.name, Metric: "p50 " + m, Median: median(s50), Unit: "ms", Ratio: median(s50) / p50, Runs: *runs})
		rs99 = append(rs99, result{Workload: "pickup", Subject: sub.name, Metric: "p99 " + m, Median: median(s99), Unit: "ms", Ratio: median(s99) / p99, Runs: *runs})
	}
	return rs50, rs99
}
