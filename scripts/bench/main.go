// Command bench measures queuectl against baselines in the same run and
// prints medians and ratios.
//
//	go run ./scripts/bench                 # all workloads, default sizes
//	go run ./scripts/bench -runs 5 -drain 2000 -pickup 200
//	go run ./scripts/bench -only depth,memory -depth 100000
//	go run ./scripts/bench -json out.json -md out.md
//	go run ./scripts/bench -runs 1 -enqueue 50 -drain 50 -pickup 10 -depth 500   # smoke
//
// Workloads (-only takes their names):
//
//	enqueue  N jobs, one `queuectl enqueue` process each; baseline: a
//	         minimal Go program started per job that makes one durable write
//	         (create, write, fsync, rename, fsync the directory). And the
//	         same jobs through one `queuectl enqueue --batch` (the batch
//	         rows); baseline: a bare loop in the bench writing the same files
//	         durably (bare_batch.go)
//	drain    N `true` jobs already queued, 2 workers, start to last done;
//	         baseline: xargs -P 2 -n 1 sh -c over the same commands
//	pickup   an idle worker, jobs enqueued one at a time: from enqueue
//	         returning to the job's first instruction (p50, p99);
//	         baseline: spawning the same command directly; also from the
//	         start of a `queuectl enqueue` process, to compare with tsp and nq
//	depth    drain and pickup beside a backlog of -depth pending jobs not
//	         due before 2100, against the same beside a backlog of 2,000
//	         (workload_depth.go)
//	recovery 2 workers, kill -9 of the one running a job: time to the
//	         job's next start, median and max (workload_recovery.go)
//	memory   a worker's peak RSS once it has indexed -depth pending jobs,
//	         and the time and peak RSS of `list --json` over them, against
//	         the same over 2,000 (workload_memory.go; the RSS figures need
//	         Linux)
//	retention  an idle worker's pickup (from the start of enqueue to the
//	         job's first instruction, p50 and p99) while its retention pass
//	         removes -depth done jobs and their logs, against the same
//	         without a pass; and how long the pass took
//	         (workload_retention.go)
//
// Peers join the drain, whose goal is to be ahead of them, each timed in
// every run right after queuectl and xargs: a minimal durable spool (two
// processes that claim by rename and fsync both directories per move,
// peers.go) always; asynq on Redis with concurrency 2, its tasks queued
// first, where redis-server is installed (its program is built with asynq
// from the module proxy). Task-spooler with 2 slots and nq (serial by
// design; its drain is capped at 500 jobs) join the drain and the pickup,
// each on a private socket or directory. tsp's drain is timed with its
// jobs queued first (at most 900: two blocker jobs hold its slots on a
// lock, see spoolerDrain); nq cannot hold jobs back, so its drain is timed
// from the first enqueue to the last job done. Their pickup runs from the
// start of the enqueueing command. On Debian: apt-get install task-spooler
// nq redis-server (the command is tsp).
//
// When -depth is not given and -drain is under 1000 (a smoke run), -depth
// is 500 instead of 100000. Workers, tsp and Redis servers, the peers'
// processes and temporary files are cleaned up also when a workload fails
// or the bench is interrupted.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

var (
	runs    = flag.Int("runs", 3, "repetitions of each workload; medians are reported")
	nDrain  = flag.Int("drain", 2000, "jobs in the drain workload")
	nEnq    = flag.Int("enqueue", 2000, "jobs in the enqueue workload")
	nPickup = flag.Int("pickup", 200, "jobs in the pickup workload")
	depth   = flag.Int("depth", 100000, "pending jobs in the depth and memory workloads, done jobs in retention (default 500 when -drain is under 1000: a smoke run)")
	only    = flag.String("only", "", "comma-separated workloads to run ("+strings.Join(workloads, ", ")+"); default all")
	jsonOut = flag.String("json", "", "also write the results as JSON to this file")
	mdOut   = flag.String("md", "", "also write the results as a Markdown table to this file")
)

// workloads are the names -only accepts, in the order they run.
var workloads = []string{"enqueue", "drain", "pickup", "depth", "recovery", "memory", "retention"}

// result is one line of the report.
type result struct {
	Workload string  `json:"workload"`
	Subject  string  `json:"subject"`
	Metric   string  `json:"metric"`
	Median   float64 `json:"median"`
	Unit     string  `json:"unit"`
	Ratio    float64 `json:"ratio,omitempty"` // against the workload's baseline
	Runs     int     `json:"runs"`
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	for _, w := range strings.Split(*only, ",") {
		if w != "" && !slices.Contains(workloads, w) {
			log.Fatalf("-only: no workload %q (want %s)", w, strings.Join(workloads, ", "))
		}
	}
	if !flagGiven("depth") && *nDrain < 1000 {
		*depth = 500
		log.Printf("smoke sizes: -depth %d (give -depth for more)", *depth)
	}
	cleanUpOnSignal()
	work, err := os.MkdirTemp("", "queuectl-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer atExit(func() { os.RemoveAll(work) })()
	defer atExit(func() { killStrays(work) })()
	bin := filepath.Join(work, "queuectl")
	// Built as the README says to install it: static, without cgo (the
	// baseline program is static too: it imports nothing that needs cgo).
	build := exec.Command("go", "build", "-o", bin, "./cmd/queuectl")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fatalf("build: %v\n%s", err, out)
	}
	// The defaults, whatever ./queuectl.toml says.
	if err := os.WriteFile(filepath.Join(work, "none.toml"), nil, 0o600); err != nil {
		fatalf("%v", err)
	}
	b := &bench{work: work, bin: bin}
	if b.want("drain") || b.want("pickup") {
		b.spoolers = findSpoolers()
	}
	run := map[string]func() []result{
		"enqueue": b.enqueue, "drain": b.drain, "pickup": b.pickup,
		"depth": b.depth, "recovery": b.recovery, "memory": b.memory, "retention": b.retention,
	}
	var results []result
	for _, w := range workloads {
		if b.want(w) {
			results = append(results, run[w]()...)
		}
	}
	report(results)
}

// flagGiven reports whether flag name was set on the command line.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

type bench struct {
	work, bin string
	n         int
	spoolers  spoolers // task-spooler and nq, where installed
}

func (b *bench) want(w string) bool {
	return *only == "" || slices.Contains(strings.Split(*only, ","), w)
}

// spool returns a fresh spool directory.
func (b *bench) spool() (string, *spool.Spool) {
	checkExit()
	b.n++
	dir := filepath.Join(b.work, "spool"+strconv.Itoa(b.n))
	s, err := spool.Open(dir)
	if err != nil {
		fatalf("%v", err)
	}
	return dir, s
}

// env is the environment of every queuectl the bench runs.
func (b *bench) env() []string {
	return append(os.Environ(), "QUEUECTL_CONFIG="+filepath.Join(b.work, "none.toml"))
}

func (b *bench) queuectl(dir string, args ...string) {
	cmd := exec.Command(b.bin, append([]string{"--spool", dir}, args...)...)
	cmd.Env = b.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		fatalf("queuectl %v: %v\n%s", args, err, out)
	}
}

func (b *bench) drain() []result {
	var qRates, xRates []float64
	peers := b.drainPeers()
	for r := range *runs {
		dir, s := b.queueDrainJobs(*nDrain)
		done := watchDone(s)
		start := time.Now()
		stop := b.startWorkers(dir, 2)
		el := done.wait(*nDrain, 10*time.Minute, "drain").Sub(start)
		done.close()
		stop()
		qRates = append(qRates, float64(*nDrain)/el.Seconds())

		cmd := exec.Command("xargs", "-P", "2", "-n", "1", "sh", "-c")
		cmd.Stdin = strings.NewReader(strings.Repeat("true\n", *nDrain))
		start = time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			fatalf("xargs: %v\n%s", err, out)
		}
		xRates = append(xRates, float64(*nDrain)/time.Since(start).Seconds())
		log.Printf("drain run %d: queuectl %.0f jobs/s, xargs -P 2 %.0f jobs/s", r+1, qRates[r], xRates[r])
		for _, p := range peers {
			runPeer(p, r)
		}
	}
	q, x := median(qRates), median(xRates)
	rs := append([]result{
		{Workload: "drain", Subject: "xargs -P 2 -n 1 sh -c", Metric: fmt.Sprintf("%d true jobs", *nDrain), Median: x, Unit: "jobs/s", Ratio: 1, Runs: *runs},
		{Workload: "drain", Subject: "queuectl, 2 workers", Metric: fmt.Sprintf("%d true jobs", *nDrain), Median: q, Unit: "jobs/s", Ratio: q / x, Runs: *runs},
	}, b.spoolerDrain(x)...)
	for _, p := range peers {
		rs = append(rs, p.results(x)...)
	}
	return rs
}

// pickup measures from enqueue returning to the job's first instruction,
// which writes the time (date +%s%N) to a file.
func (b *bench) pickup() []result {
	var qP50, qP99, dP50, dP99 []float64
	for r := range *runs {
		dir, s := b.spool()
		stop := b.startWorkers(dir, 1)
		stamps := filepath.Join(b.work, fmt.Sprintf("stamps%d", b.n))
		if err := os.Mkdir(stamps, 0o700); err != nil {
			fatalf("%v", err)
		}
		var lat, direct []float64
		for i := range *nPickup {
			out := filepath.Join(stamps, strconv.Itoa(i))
			command := "date +%s%N > " + out
			j := &job.Job{ID: fmt.Sprintf("p%06d", i), Command: command}
			if err := s.Enqueue(j); err != nil {
				fatalf("%v", err)
			}
			t0 := time.Now()
			lat = append(lat, ms(waitStamp(out).Sub(t0)))

			os.Remove(out)
			t0 = time.Now()
			if err := exec.Command("sh", "-c", command).Start(); err != nil {
				fatalf("%v", err)
			}
			direct = append(direct, ms(waitStamp(out).Sub(t0)))
			os.Remove(out)
			for { // let the worker go idle again before the next job
				if n, _ := s.Count(spool.Done); n == i+1 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		qP50, qP99 = append(qP50, pct(lat, 50)), append(qP99, pct(lat, 99))
		dP50, dP99 = append(dP50, pct(direct, 50)), append(dP99, pct(direct, 99))
		log.Printf("pickup run %d: queuectl p50 %.2f ms p99 %.2f ms; direct spawn p50 %.2f ms p99 %.2f ms",
			r+1, qP50[r], qP99[r], dP50[r], dP99[r])
	}
	m := fmt.Sprintf("%d jobs", *nPickup)
	s50, s99 := b.spoolerPickup(median(dP50), median(dP99))
	rs := []result{
		{Workload: "pickup", Subject: "direct spawn", Metric: "p50 " + m, Median: median(dP50), Unit: "ms", Ratio: 1, Runs: *runs},
		{Workload: "pickup", Subject: "queuectl, idle worker", Metric: "p50 " + m, Median: median(qP50), Unit: "ms", Ratio: median(qP50) / median(dP50), Runs: *runs},
	}
	rs = append(rs, s50...)
	rs = append(rs,
		result{Workload: "pickup", Subject: "direct spawn", Metric: "p99 " + m, Median: median(dP99), Unit: "ms", Ratio: 1, Runs: *runs},
		result{Workload: "pickup", Subject: "queuectl, idle worker", Metric: "p99 " + m, Median: median(qP99), Unit: "ms", Ratio: median(qP99) / median(dP99), Runs: *runs})
	return append(rs, s99...)
}

// waitStamp waits for the time a job wrote to path.
func waitStamp(path string) time.Time {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(path)
		if err == nil && len(data) > 0 && data[len(data)-1] == '\n' {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			if err == nil {
				return time.Unix(0, ns)
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	fatalf("no stamp in %s after 30s", path)
	return time.Time{}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 { return pct(v, 50) }

// pct returns the p-th percentile of v (nearest rank).
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func report(rs []result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tSUBJECT\tMETRIC\tMEDIAN\tRATIO")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f %s\t%s\n", r.Workload, r.Subject, r.Metric, r.Median, r.Unit, ratio(r))
	}
	tw.Flush()
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(rs, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
	if *mdOut != "" {
		var sb strings.Builder
		sb.WriteString("| workload | subject | metric | median | ratio |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range rs {
			fmt.Fprintf(&sb, "| %s | %s | %s | %.2f %s | %s |\n", r.Workload, r.Subject, r.Metric, r.Median, r.Unit, ratio(r))
		}
		if err := os.WriteFile(*mdOut, []byte(sb.String()), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

// ratio formats a result's ratio; "-" where it has no baseline.
func ratio(r result) string {
	if r.Ratio == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.Ratio)
}
