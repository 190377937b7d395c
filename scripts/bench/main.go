// Command bench measures queuectl against baselines in the same run and
// prints medians and ratios.
//
//	go run ./scripts/bench                 # all workloads, default sizes
//	go run ./scripts/bench -runs 5 -drain 2000 -pickup 200
//	go run ./scripts/bench -json out.json -md out.md
//
// Workloads:
//
//	enqueue N jobs, one `queuectl enqueue` process each, and the same jobs
//	        through one `queuectl enqueue --batch`; baseline: a minimal Go
//	        program started per job that makes one durable write (create,
//	        write, fsync, rename, fsync the directory)
//	drain   N `true` jobs already queued, 2 workers, start to last done;
//	        baseline: xargs -P 2 -n 1 sh -c over the same commands
//	pickup  an idle worker, jobs enqueued one at a time: from enqueue
//	        returning to the job's first instruction (p50, p99);
//	        baseline: spawning the same command directly
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
	only    = flag.String("only", "", "comma-separated workloads to run (enqueue, drain, pickup); default all")
	jsonOut = flag.String("json", "", "also write the results as JSON to this file")
	mdOut   = flag.String("md", "", "also write the results as a Markdown table to this file")
)

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
	work, err := os.MkdirTemp("", "queuectl-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "queuectl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/queuectl").CombinedOutput(); err != nil {
		log.Fatalf("build: %v\n%s", err, out)
	}
	// The defaults, whatever ./queuectl.toml says.
	if err := os.WriteFile(filepath.Join(work, "none.toml"), nil, 0o600); err != nil {
		log.Fatal(err)
	}
	b := &bench{work: work, bin: bin}
	var results []result
	if b.want("enqueue") {
		results = append(results, b.enqueue()...)
	}
	if b.want("drain") {
		results = append(results, b.drain()...)
	}
	if b.want("pickup") {
		results = append(results, b.pickup()...)
	}
	report(results)
}

type bench struct {
	work, bin string
	n         int
}

func (b *bench) want(w string) bool {
	return *only == "" || slices.Contains(strings.Split(*only, ","), w)
}

// spool returns a fresh spool directory.
func (b *bench) spool() (string, *spool.Spool) {
	b.n++
	dir := filepath.Join(b.work, "spool"+strconv.Itoa(b.n))
	s, err := spool.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	return dir, s
}

func (b *bench) queuectl(dir string, args ...string) {
	cmd := exec.Command(b.bin, append([]string{"--spool", dir}, args...)...)
	cmd.Env = append(os.Environ(), "QUEUECTL_CONFIG="+filepath.Join(b.work, "none.toml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("queuectl %v: %v\n%s", args, err, out)
	}
}

// durableProgram is the baseline for one enqueue process: the least a Go
// program started per job must do to store a file durably.
const durableProgram = `package main

import (
	"os"
	"path/filepath"
)

func main() {
	dir, name := os.Args[1], os.Args[2]
	tmp := filepath.Join(dir, "tmp", name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		panic(err)
	}
	if _, err := f.Write([]byte("{\"command\": \"true\"}\n")); err != nil {
		panic(err)
	}
	if err := f.Sync(); err != nil {
		panic(err)
	}
	f.Close()
	if err := os.Rename(tmp, filepath.Join(dir, "pending", name+".json")); err != nil {
		panic(err)
	}
	d, err := os.Open(filepath.Join(dir, "pending"))
	if err != nil {
		panic(err)
	}
	if err := d.Sync(); err != nil {
		panic(err)
	}
}
`

func (b *bench) enqueue() []result {
	src := filepath.Join(b.work, "durable")
	if err := os.MkdirAll(src, 0o700); err != nil {
		log.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "main.go"), []byte(durableProgram), 0o600)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module durable\n"), 0o600)
	durable := filepath.Join(b.work, "durable-write")
	build := exec.Command("go", "build", "-o", durable, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		log.Fatalf("build the baseline: %v\n%s", err, out)
	}
	env := append(os.Environ(), "QUEUECTL_CONFIG="+filepath.Join(b.work, "none.toml"))
	var bare, single, batch []float64
	for r := range *runs {
		dir, _ := b.spool()
		start := time.Now()
		for i := range *nEnq {
			if out, err := exec.Command(durable, dir, fmt.Sprintf("x%06d", i)).CombinedOutput(); err != nil {
				log.Fatalf("durable-write: %v\n%s", err, out)
			}
		}
		bare = append(bare, float64(*nEnq)/time.Since(start).Seconds())

		dir, _ = b.spool()
		start = time.Now()
		for i := range *nEnq {
			cmd := exec.Command(b.bin, "--spool", dir, "enqueue", "--id", fmt.Sprintf("e%06d", i), "--command", "true")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				log.Fatalf("enqueue: %v\n%s", err, out)
			}
		}
		single = append(single, float64(*nEnq)/time.Since(start).Seconds())

		dir, _ = b.spool()
		var lines strings.Builder
		for i := range *nEnq {
			fmt.Fprintf(&lines, "{\"id\": \"b%06d\", \"command\": \"true\"}\n", i)
		}
		cmd := exec.Command(b.bin, "--spool", dir, "enqueue", "--batch", "-")
		cmd.Env = env
		cmd.Stdin = strings.NewReader(lines.String())
		start = time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("enqueue --batch: %v\n%s", err, out)
		}
		batch = append(batch, float64(*nEnq)/time.Since(start).Seconds())
		log.Printf("enqueue run %d: durable-write program %.0f/s, queuectl enqueue %.0f/s, --batch %.0f/s", r+1, bare[r], single[r], batch[r])
	}
	m := fmt.Sprintf("%d jobs", *nEnq)
	x := median(bare)
	return []result{
		{Workload: "enqueue", Subject: "durable-write Go program per job", Metric: m, Median: x, Unit: "jobs/s", Ratio: 1, Runs: *runs},
		{Workload: "enqueue", Subject: "queuectl enqueue per job", Metric: m, Median: median(single), Unit: "jobs/s", Ratio: median(single) / x, Runs: *runs},
		{Workload: "enqueue", Subject: "queuectl enqueue --batch", Metric: m, Median: median(batch), Unit: "jobs/s", Ratio: median(batch) / x, Runs: *runs},
	}
}

func (b *bench) drain() []result {
	var qRates, xRates []float64
	for r := range *runs {
		dir, s := b.spool()
		for i := range *nDrain {
			if err := s.Enqueue(&job.Job{ID: fmt.Sprintf("d%06d", i), Command: "true"}); err != nil {
				log.Fatal(err)
			}
		}
		start := time.Now()
		b.queuectl(dir, "worker", "start", "--count", "2")
		for {
			n, err := s.Count(spool.Done)
			if err != nil {
				log.Fatal(err)
			}
			if n == *nDrain {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		el := time.Since(start)
		b.queuectl(dir, "worker", "stop")
		qRates = append(qRates, float64(*nDrain)/el.Seconds())

		cmd := exec.Command("xargs", "-P", "2", "-n", "1", "sh", "-c")
		cmd.Stdin = strings.NewReader(strings.Repeat("true\n", *nDrain))
		start = time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("xargs: %v\n%s", err, out)
		}
		xRates = append(xRates, float64(*nDrain)/time.Since(start).Seconds())
		log.Printf("drain run %d: queuectl %.0f jobs/s, xargs -P 2 %.0f jobs/s", r+1, qRates[r], xRates[r])
	}
	q, x := median(qRates), median(xRates)
	return []result{
		{Workload: "drain", Subject: "xargs -P 2 -n 1 sh -c", Metric: fmt.Sprintf("%d true jobs", *nDrain), Median: x, Unit: "jobs/s", Ratio: 1, Runs: *runs},
		{Workload: "drain", Subject: "queuectl, 2 workers", Metric: fmt.Sprintf("%d true jobs", *nDrain), Median: q, Unit: "jobs/s", Ratio: q / x, Runs: *runs},
	}
}

// pickup measures from enqueue returning to the job's first instruction,
// which writes the time (date +%s%N) to a file.
func (b *bench) pickup() []result {
	var qP50, qP99, dP50, dP99 []float64
	for r := range *runs {
		dir, s := b.spool()
		b.queuectl(dir, "worker", "start", "--count", "1")
		stamps := filepath.Join(b.work, fmt.Sprintf("stamps%d", b.n))
		if err := os.Mkdir(stamps, 0o700); err != nil {
			log.Fatal(err)
		}
		var lat, direct []float64
		for i := range *nPickup {
			out := filepath.Join(stamps, strconv.Itoa(i))
			command := "date +%s%N > " + out
			j := &job.Job{ID: fmt.Sprintf("p%06d", i), Command: command}
			if err := s.Enqueue(j); err != nil {
				log.Fatal(err)
			}
			t0 := time.Now()
			lat = append(lat, ms(waitStamp(out).Sub(t0)))

			os.Remove(out)
			t0 = time.Now()
			if err := exec.Command("sh", "-c", command).Start(); err != nil {
				log.Fatal(err)
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
		b.queuectl(dir, "worker", "stop")
		qP50, qP99 = append(qP50, pct(lat, 50)), append(qP99, pct(lat, 99))
		dP50, dP99 = append(dP50, pct(direct, 50)), append(dP99, pct(direct, 99))
		log.Printf("pickup run %d: queuectl p50 %.2f ms p99 %.2f ms; direct spawn p50 %.2f ms p99 %.2f ms",
			r+1, qP50[r], qP99[r], dP50[r], dP99[r])
	}
	m := fmt.Sprintf("%d jobs", *nPickup)
	return []result{
		{Workload: "pickup", Subject: "direct spawn", Metric: "p50 " + m, Median: median(dP50), Unit: "ms", Ratio: 1, Runs: *runs},
		{Workload: "pickup", Subject: "queuectl, idle worker", Metric: "p50 " + m, Median: median(qP50), Unit: "ms", Ratio: median(qP50) / median(dP50), Runs: *runs},
		{Workload: "pickup", Subject: "direct spawn", Metric: "p99 " + m, Median: median(dP99), Unit: "ms", Ratio: 1, Runs: *runs},
		{Workload: "pickup", Subject: "queuectl, idle worker", Metric: "p99 " + m, Median: median(qP99), Unit: "ms", Ratio: median(qP99) / median(dP99), Runs: *runs},
	}
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
	log.Fatalf("no stamp in %s after 30s", path)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f %s\t%.2f\n", r.Workload, r.Subject, r.Metric, r.Median, r.Unit, r.Ratio)
	}
	tw.Flush()
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(rs, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *mdOut != "" {
		var sb strings.Builder
		sb.WriteString("| workload | subject | metric | median | ratio |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range rs {
			fmt.Fprintf(&sb, "| %s | %s | %s | %.2f %s | %.2f |\n", r.Workload, r.Subject, r.Metric, r.Median, r.Unit, r.Ratio)
		}
		if err := os.WriteFile(*mdOut, []byte(sb.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
