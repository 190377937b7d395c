//go:build unix

// Command chaos checks queuectl's promise under worker crashes: every
// acknowledged job runs, none is lost, nothing runs that was not enqueued,
// and a job runs more than once only where a fault hit it.
//
//	go run ./scripts/chaos                          # 1,000 jobs, seeds 1-3
//	go run ./scripts/chaos -jobs 10000 -seeds 1-20  # the long form
//
// For each seed it starts 4 workers, enqueues the jobs with `queuectl
// enqueue` while they run, and kills a random worker with SIGKILL every
// 0.5-3 s, starting a new one in its place. Each job runs a probe that
// appends "start" and "end" records (job, attempt, worker, pid, time) to a
// history file. After the drain, the checker reads the history, the
// acknowledged ids and the injected faults, and reports lost, unexpected
// and duplicated jobs, files left in tmp/ or processing/, and how long each
// killed worker's job waited to run again. Any lost or unexpected job, any
// duplicate without a fault, or a job left in processing/ fails the run
// (exit 1).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/queuectl/queuectl/internal/spool"
)

var (
	nJobs    = flag.Int("jobs", 1000, "jobs per seed")
	seedList = flag.String("seeds", "1-3", "seeds: a range such as 1-20, or a comma-separated list")
	nWorkers = flag.Int("workers", 4, "workers running at once")
	killMin  = flag.Duration("kill-min", 500*time.Millisecond, "shortest time between kills")
	killMax  = flag.Duration("kill-max", 3*time.Second, "longest time between kills")
	jobSleep = flag.String("job-sleep", "0.02", "seconds each probe job sleeps between its records")
	deadline = flag.Duration("timeout", 10*time.Minute, "give up on a seed after this long")
	keep     = flag.Bool("keep", false, "keep each seed's spool and history for inspection")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	seeds, err := parseSeeds(*seedList)
	if err != nil {
		log.Fatal(err)
	}
	work, err := os.MkdirTemp("", "queuectl-chaos-")
	if err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "queuectl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/queuectl").CombinedOutput(); err != nil {
		log.Fatalf("build: %v\n%s", err, out)
	}
	var all []time.Duration
	failed := false
	total := summary{}
	for _, seed := range seeds {
		r := runSeed(work, bin, seed)
		fmt.Println(r.line())
		all = append(all, r.recovery...)
		total.add(r)
		if !r.ok() {
			failed = true
		}
	}
	total.recovery = all
	fmt.Printf("total: seeds %d, %s\n", len(seeds), total.counts())
	if *keep {
		fmt.Println("kept in", work)
	}
	if failed {
		os.Exit(1)
	}
}

func parseSeeds(s string) ([]uint64, error) {
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, err1 := strconv.ParseUint(a, 10, 64)
		hi, err2 := strconv.ParseUint(b, 10, 64)
		if err1 != nil || err2 != nil || hi < lo {
			return nil, fmt.Errorf("bad seed range %q", s)
		}
		var out []uint64
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
		return out, nil
	}
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad seed %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// summary is what one seed (or all of them) found.
type summary struct {
	seed                              uint64
	jobs, acked, done, dead, kills    int
	lost, unexpected, dups, dupsFault int
	leftovers                         int // jobs left in processing/
	tmpFiles                          int // temporary files left by killed writers
	torn                              int // history lines with bytes of a killed probe
	recovery                          []time.Duration
	elapsed                           time.Duration
	problems                          []string
}

func (s *summary) ok() bool {
	return s.lost == 0 && s.unexpected == 0 && s.dups == s.dupsFault && s.leftovers == 0 && len(s.problems) == 0
}

func (s *summary) add(o summary) {
	s.jobs += o.jobs
	s.acked += o.acked
	s.done += o.done
	s.dead += o.dead
	s.kills += o.kills
	s.lost += o.lost
	s.unexpected += o.unexpected
	s.dups += o.dups
	s.dupsFault += o.dupsFault
	s.leftovers += o.leftovers
	s.tmpFiles += o.tmpFiles
	s.torn += o.torn
}

func (s *summary) counts() string {
	rec := "recovery: none"
	if len(s.recovery) > 0 {
		r := slices.Clone(s.recovery)
		slices.Sort(r)
		rec = fmt.Sprintf("recovery median %.2fs max %.2fs (n=%d)", r[len(r)/2].Seconds(), r[len(r)-1].Seconds(), len(r))
	}
	return fmt.Sprintf("jobs %d acked %d done %d dead %d kills %d lost %d unexpected %d duplicates %d (%d after a fault) left in processing %d, temp files left %d, torn probe records %d, %s",
		s.jobs, s.acked, s.done, s.dead, s.kills, s.lost, s.unexpected, s.dups, s.dupsFault, s.leftovers, s.tmpFiles, s.torn, rec)
}

func (s *summary) line() string {
	status := "ok"
	if !s.ok() {
		status = "FAIL"
	}
	out := fmt.Sprintf("seed %d: %s in %.1fs: %s", s.seed, status, s.elapsed.Seconds(), s.counts())
	for _, p := range s.problems {
		out += "\n  " + p
	}
	return out
}

// cluster is the workers of one seed.
type cluster struct {
	bin, spoolDir, cfg string
	mu                 sync.Mutex
	procs              map[string]*exec.Cmd // worker id -> process
	n                  int
}

func (c *cluster) start() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	id := fmt.Sprintf("chaos-w%d", c.n)
	cmd := exec.Command(c.bin, "--spool", c.spoolDir, "--config", c.cfg, "worker", "start", "--foreground", "--worker-id", id)
	logf, err := os.Create(filepath.Join(filepath.Dir(c.spoolDir), id+".log"))
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	logf.Close()
	c.procs[id] = cmd
	go cmd.Wait()
	return id
}

// kill sends SIGKILL to a random worker and returns its id.
func (c *cluster) kill(rng *rand.Rand) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.procs))
	for id := range c.procs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	id := ids[rng.IntN(len(ids))]
	_ = c.procs[id].Process.Signal(syscall.SIGKILL)
	delete(c.procs, id)
	return id
}

func runSeed(work, bin string, seed uint64) summary {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dir := filepath.Join(work, fmt.Sprintf("seed%d", seed))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Fatal(err)
	}
	spoolDir := filepath.Join(dir, "spool")
	s, err := spool.Open(spoolDir)
	if err != nil {
		log.Fatal(err)
	}
	history := filepath.Join(dir, "history")
	cfg := filepath.Join(dir, "queuectl.toml")
	// Enough retries that kills alone never bury a job; short delays.
	if err := os.WriteFile(cfg, []byte("max_retries = 1000\nretry_delay = 0.05\nbackoff_max = 1\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	probe := fmt.Sprintf(`echo "start $QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT $QUEUECTL_WORKER $$ $(date +%%s%%N)" >> %s; sleep %s; echo "end $QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT $QUEUECTL_WORKER $$" >> %s`,
		history, *jobSleep, history)

	res := summary{seed: seed, jobs: *nJobs}
	c := &cluster{bin: bin, spoolDir: spoolDir, cfg: cfg, procs: map[string]*exec.Cmd{}}
	for range *nWorkers {
		c.start()
	}
	begin := time.Now()

	// Faults: a random worker killed every killMin-killMax, replaced.
	type fault struct {
		worker string
		at     time.Time
	}
	var faults []fault
	var fmu sync.Mutex
	stopKills := make(chan struct{})
	var kwg sync.WaitGroup
	kwg.Go(func() {
		for {
			d := *killMin + time.Duration(rng.Int64N(int64(*killMax-*killMin)+1))
			select {
			case <-stopKills:
				return
			case <-time.After(d):
			}
			id := c.kill(rng)
			fmu.Lock()
			faults = append(faults, fault{id, time.Now()})
			fmu.Unlock()
			c.start()
		}
	})

	// Enqueue while the workers run and die; remember every acknowledgement.
	acked := map[string]bool{}
	for i := range *nJobs {
		id := fmt.Sprintf("c%d-%06d", seed, i)
		cmd := exec.Command(bin, "--spool", spoolDir, "--config", cfg, "enqueue", "--id", id, "--command", probe)
		if out, err := cmd.CombinedOutput(); err == nil {
			acked[id] = true
		} else {
			res.problems = append(res.problems, fmt.Sprintf("enqueue %s failed: %v: %s", id, err, strings.TrimSpace(string(out))))
		}
	}
	res.acked = len(acked)

	// Drain: every acknowledged job done or dead.
	for {
		done, _ := s.Count(spool.Done)
		dead, _ := s.Count(spool.Dead)
		if done+dead >= res.acked {
			break
		}
		if time.Since(begin) > *deadline {
			res.problems = append(res.problems, fmt.Sprintf("gave up after %s with %d done, %d dead", *deadline, done, dead))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stopKills)
	kwg.Wait()
	res.elapsed = time.Since(begin)
	stop := exec.Command(bin, "--spool", spoolDir, "--config", cfg, "worker", "stop", "--timeout", "10")
	if out, err := stop.CombinedOutput(); err != nil {
		res.problems = append(res.problems, fmt.Sprintf("worker stop: %v: %s", err, out))
	}
	res.kills = len(faults)
	killedAt := map[string]time.Time{}
	for _, f := range faults {
		killedAt[f.worker] = f.at
	}
	check(&res, s, history, acked, killedAt)
	return res
}

// record matches one history record, at the end of a line.
var record = regexp.MustCompile(`(start|end) (\S+) (\d+) (\S+) (\d+)(?: (\d+))?$`)

// run is one start record of the history, and whether it ended.
type run struct {
	attempt int
	worker  string
	at      time.Time
	ended   bool
}

func check(res *summary, s *spool.Spool, history string, acked map[string]bool, killedAt map[string]time.Time) {
	runs := map[string][]*run{}
	f, err := os.Open(history)
	if err != nil && !os.IsNotExist(err) {
		log.Fatal(err)
	}
	if f != nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// A probe killed in the middle of its echo (its worker died)
			// can leave a few bytes without a newline, which glue onto the
			// next record: find the record at the end of the line.
			m := record.FindStringSubmatch(sc.Text())
			if m == nil {
				res.torn++
				continue
			}
			if m[0] != sc.Text() {
				res.torn++
			}
			kind, id, worker := m[1], m[2], m[4]
			attempt, _ := strconv.Atoi(m[3])
			switch kind {
			case "start":
				var at time.Time
				if m[6] != "" {
					ns, _ := strconv.ParseInt(m[6], 10, 64)
					at = time.Unix(0, ns)
				}
				runs[id] = append(runs[id], &run{attempt: attempt, worker: worker, at: at})
			case "end":
				for _, r := range runs[id] {
					if r.attempt == attempt && r.worker == worker {
						r.ended = true
					}
				}
			}
		}
		f.Close()
	}
	done := map[string]bool{}
	for _, st := range []spool.State{spool.Done, spool.Dead} {
		names, _ := s.Names(st)
		for _, n := range names {
			id := strings.TrimSuffix(n, ".json")
			done[id] = true
			if st == spool.Dead {
				res.dead++
			} else {
				res.done++
			}
		}
	}
	for id := range acked {
		ended := false
		for _, r := range runs[id] {
			ended = ended || r.ended
		}
		if !done[id] || !ended {
			res.lost++
			res.problems = append(res.problems, fmt.Sprintf("lost: %s (finished %v, ran to the end %v)", id, done[id], ended))
		}
	}
	for id := range runs {
		if !acked[id] {
			res.unexpected++
			res.problems = append(res.problems, "unexpected: "+id)
		}
	}
	// A run of a killed worker whose outcome was not recorded when it died
	// is run again: that later run is explained by the fault. A worker
	// records outcomes while it runs its next jobs, so that is its last run
	// and possibly a few before it. The rule: the run was the killed
	// worker's (every run of it was spawned before the kill, though its
	// start record may carry a time just after: the shell runs on for a
	// moment), and the next run of the job started after the kill
	// (recovery waits for the worker's death). A run again while its first
	// worker still lived is never explained.
	for id, rs := range runs {
		for i, r := range rs[:len(rs)-1] {
			res.dups++
			next := rs[i+1]
			kt, killed := killedAt[r.worker]
			if killed && !next.at.IsZero() && !next.at.Before(kt) {
				res.dupsFault++
				res.recovery = append(res.recovery, next.at.Sub(kt))
			} else {
				why := "its worker was not killed"
				if killed {
					why = fmt.Sprintf("the next run (attempt %d by %s) started %v before its worker was killed",
						next.attempt, next.worker, kt.Sub(next.at).Round(time.Millisecond))
				}
				res.problems = append(res.problems, fmt.Sprintf("duplicate without a fault: %s attempt %d by %s (ended %v): %s", id, r.attempt, r.worker, r.ended, why))
			}
		}
	}
	// A job left in processing/ is a failure; a temporary file left in
	// tmp/ by a killed writer is only reported (it never became a job).
	des, _ := os.ReadDir(filepath.Join(s.Root(), "processing"))
	for _, de := range des {
		res.leftovers++
		res.problems = append(res.problems, "left in processing/: "+de.Name())
	}
	des, _ = os.ReadDir(filepath.Join(s.Root(), "tmp"))
	res.tmpFiles = len(des)
	if len(res.problems) > 20 {
		res.problems = append(res.problems[:20], fmt.Sprintf("... and %d more", len(res.problems)-20))
	}
}
