package main

import (
	"fmt"
	"log"
	"os/exec"
	"strings"
	"time"
)

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
	durable, err := b.buildProgram("durable-write", durableProgram)
	if err != nil {
		fatalf("build the baseline: %v", err)
	}
	env := b.env()
	var bare, single, batch, bareB []float64
	for r := range *runs {
		dir, _ := b.spool()
		start := time.Now()
		for i := range *nEnq {
			if out, err := exec.Command(durable, dir, fmt.Sprintf("x%06d", i)).CombinedOutput(); err != nil {
				fatalf("durable-write: %v\n%s", err, out)
			}
		}
		bare = append(bare, float64(*nEnq)/time.Since(start).Seconds())

		dir, _ = b.spool()
		start = time.Now()
		for i := range *nEnq {
			cmd := exec.Command(b.bin, "--spool", dir, "enqueue", "--id", fmt.Sprintf("e%06d", i), "--command", "true")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				fatalf("enqueue: %v\n%s", err, out)
			}
		}
		single = append(single, float64(*nEnq)/time.Since(start).Seconds())

		// The disk's rate of creating files swings by ten times within a
		// minute, most after many files were removed nearby (see the
		// README), as the bench's own cleanups do: the batch and its
		// baseline run twice each per run, in the order batch, bare, bare,
		// batch, so that a drift of the disk's state within the run falls
		// on both alike.
		queuectlBatch := func() float64 {
			dir, _ := b.spool()
			var lines strings.Builder
			for i := range *nEnq {
				fmt.Fprintf(&lines, "{\"id\": \"b%06d\", \"command\": \"true\"}\n", i)
			}
			cmd := exec.Command(b.bin, "--spool", dir, "enqueue", "--batch", "-")
			cmd.Env = env
			cmd.Stdin = strings.NewReader(lines.String())
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				fatalf("enqueue --batch: %v\n%s", err, out)
			}
			return float64(*nEnq) / time.Since(start).Seconds()
		}
		bareBatchRun := func() float64 {
			dir, _ := b.spool()
			start := time.Now()
			if err := bareBatch(dir, *nEnq); err != nil {
				fatalf("bare batch: %v", err)
			}
			return float64(*nEnq) / time.Since(start).Seconds()
		}
		q1, b1 := queuectlBatch(), bareBatchRun()
		b2, q2 := bareBatchRun(), queuectlBatch()
		batch, bareB = append(batch, q1, q2), append(bareB, b1, b2)
		log.Printf("enqueue run %d: durable-write program %.0f/s, queuectl enqueue %.0f/s, --batch %.0f and %.0f/s, bare batch %.0f and %.0f/s",
			r+1, bare[r], single[r], q1, q2, b1, b2)
	}
	m := fmt.Sprintf("%d jobs", *nEnq)
	x := median(bare)
	return []result{
		{Workload: "enqueue", Subject: "durable-write Go program per job", Metric: m, Median: x, Unit: "jobs/s", Ratio: 1, Runs: *runs},
		{Workload: "enqueue", Subject: "queuectl enqueue per job", Metric: m, Median: median(single), Unit: "jobs/s", Ratio: median(single) / x, Runs: *runs},
		{Workload: "batch", Subject: "bare batch write in Go (goal for queuectl: >= 20,000/s)", Metric: m, Median: median(bareB), Unit: "jobs/s", Ratio: 1, Runs: 2 * *runs},
		{Workload: "batch", Subject: "queuectl enqueue --batch", Metric: m, Median: median(batch), Unit: "jobs/s", Ratio: median(batch) / median(bareB), Runs: 2 * *runs},
	}
}
