//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// jobFile is the part of a job file that the checks read.
type jobFile struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Worker   string `json:"worker"`
	Attempts int    `json:"attempts"`

	StartedAt  time.Time `json:"started_at"`  // of the last run: its claim
	FinishedAt time.Time `json:"finished_at"` // of the last run
	UpdatedAt  time.Time `json:"updated_at"`  // its outcome recorded
}

// nfsHost watches a run of scripts/nfs-test.sh from the host, through the
// export directory: once a share of the jobs is done it kills one guest's
// qemu, notes the jobs that guest held (in processing/, not owned by a
// worker of the other guest), times how long until they are all done,
// waits for the rest, and checks the history the jobs wrote.
func nfsHost(args []string) error {
	fs := flag.NewFlagSet("nfs-host", flag.ExitOnError)
	spoolDir := fs.String("spool", "", "the spool, as the host sees it")
	histDir := fs.String("hist", "", "directory of the jobs' history files")
	jobs := fs.Int("jobs", 2000, "jobs enqueued")
	pidFile := fs.String("kill-pidfile", "", "pid file of the qemu to kill; empty: kill none")
	survivor := fs.String("survivor", "vm2", "host name of the guest that keeps running")
	killAt := fs.Float64("kill-at", 0.3, "kill when this share of the jobs is done")
	bound := fs.Duration("bound", 31*time.Second, "the dead guest's jobs must be put back within this long (lease + poll_interval)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	_ = fs.Parse(args)

	start := time.Now()
	deadline := start.Add(*timeout)
	var killed bool
	var held []string
	var recovery, putBack, cycle, doneBound time.Duration
	putBackBound := *bound
	if *pidFile != "" {
		want := int(float64(*jobs) * *killAt)
		if err := waitUntil(deadline, func() bool { return count(*spoolDir, "done") >= want }, *spoolDir, *jobs); err != nil {
			return err
		}
		// Kill while the guest runs a job of its own, so that there is
		// something to recover.
		_ = waitUntil(start.Add(time.Since(start)+2*time.Minute), func() bool {
			for _, j := range readDir(filepath.Join(*spoolDir, "processing")) {
				if j.State == "processing" && j.Worker != "" && !strings.HasPrefix(j.Worker, *survivor+"-") {
					return true
				}
			}
			return false
		}, *spoolDir, *jobs)
		pid, err := readPid(*pidFile)
		if err != nil {
			return err
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill qemu %d: %w", pid, err)
		}
		t0 := time.Now()
		killed = true
		fmt.Printf("killed qemu pid %d at %s, %s UTC (done %d of %d)\n", pid, t0.Sub(start).Round(time.Second), t0.UTC().Format("15:04:05.000"), count(*spoolDir, "done"), *jobs)
		for _, j := range readDir(filepath.Join(*spoolDir, "processing")) {
			if j.State == "processing" && j.Worker != "" && !strings.HasPrefix(j.Worker, *survivor+"-") {
				held = append(held, j.ID)
			}
		}
		fmt.Printf("jobs held by the killed guest: %d %v\n", len(held), held)
		// putBack: until none of them is in processing/ as the dead guest left it
		err = waitUntil(deadline, func() bool {
			if putBack == 0 && !heldStill(*spoolDir, held, *survivor) {
				putBack = time.Since(t0)
			}
			for _, id := range held {
				if !exists(filepath.Join(*spoolDir, "done", id+".json")) {
					return false
				}
			}
			return true
		}, *spoolDir, *jobs)
		if err != nil {
			return err
		}
		recovery = time.Since(t0)
		if putBack == 0 {
			putBack = recovery
		}
		fmt.Printf("the survivor put them back %.1f s after the kill and finished them %.1f s after it\n", putBack.Seconds(), recovery.Seconds())
		// Where the time went, by the clocks of the guests (which may be
		// a little off the host's): the last run of each as its file says.
		for _, id := range held {
			data, err := os.ReadFile(filepath.Join(*spoolDir, "done", id+".json"))
			var j jobFile
			if err != nil || json.Unmarshal(data, &j) != nil {
				continue
			}
			cycle = max(cycle, j.UpdatedAt.Sub(j.StartedAt))
			fmt.Printf("  %s: claimed by %s %.1f s after the kill, run until %.1f s, outcome at %.1f s\n", id, j.Worker,
				j.StartedAt.Sub(t0).Seconds(), j.FinishedAt.Sub(t0).Seconds(), j.UpdatedAt.Sub(t0).Seconds())
		}
		// The bound that holds by construction (see README, "Recovery
		// time"): back in pending/ within lease + poll_interval, and done
		// once a worker has finished the job it may be running, then
		// claimed, run and recorded the recovered one: twice the longest
		// claim-to-outcome time of those jobs.
		doneBound = putBackBound + 2*cycle
		fmt.Printf("put back %.1f s after the kill (bound %s); done %.1f s after it (bound %s + 2 × %.0f ms = %.1f s, %.0f ms being the longest claim to outcome of them)\n",
			putBack.Seconds(), putBackBound, recovery.Seconds(), putBackBound, float64(cycle.Milliseconds()), doneBound.Seconds(), float64(cycle.Milliseconds()))
	}
	if err := waitUntil(deadline, func() bool { return count(*spoolDir, "done") >= *jobs }, *spoolDir, *jobs); err != nil {
		return err
	}
	elapsed := time.Since(start)

	runs, torn := readHistory(*histDir)
	done := map[string]jobFile{}
	for _, j := range readDir(filepath.Join(*spoolDir, "done")) {
		done[j.ID] = j
	}
	wasHeld := map[string]bool{}
	for _, id := range held {
		wasHeld[id] = true
	}
	var lost, dups, dupsFault, fewAttempts, unexpected int
	var problems []string
	for i := 1; i <= *jobs; i++ {
		id := jobID(i)
		j, ok := done[id]
		n := runs[id]
		switch {
		case !ok || n == 0:
			lost++
			problems = append(problems, fmt.Sprintf("%s lost (done %v, runs %d)", id, ok, n))
		case n > 1 && wasHeld[id]:
			dupsFault++
		case n > 1:
			dups++
			problems = append(problems, fmt.Sprintf("%s ran %d times without a fault", id, n))
		}
		if ok && j.Attempts < n {
			fewAttempts++
			problems = append(problems, fmt.Sprintf("%s: attempts %d < runs %d", id, j.Attempts, n))
		}
	}
	total := 0
	for id, n := range runs {
		total += n
		if _, ok := done[id]; !ok {
			if n, err := strconv.Atoi(strings.TrimPrefix(id, "j")); err != nil || n < 1 || n > *jobs {
				unexpected++
			}
		}
	}
	left := count(*spoolDir, "processing") + count(*spoolDir, "pending") + count(*spoolDir, "failed") + count(*spoolDir, "dead")
	fmt.Printf("jobs %d, runs %d, double runs %d (after the host kill %d, without cause %d), lost %d, unexpected %d, attempts below runs %d, left in other states %d, torn history lines %d, wall %.0f s\n",
		*jobs, total, dups+dupsFault, dupsFault, dups, lost, unexpected, fewAttempts, left, torn, elapsed.Seconds())
	for i, p := range problems {
		if i == 20 {
			fmt.Printf("... and %d more\n", len(problems)-20)
			break
		}
		fmt.Println("  " + p)
	}
	bad := lost > 0 || dups > 0 || unexpected > 0 || fewAttempts > 0 || left > 0
	if killed && putBack > putBackBound {
		fmt.Printf("the dead guest's jobs were put back %.1f s after the kill, more than %s\n", putBack.Seconds(), putBackBound)
		bad = true
	}
	if killed && recovery > doneBound {
		fmt.Printf("the dead guest's jobs were done %.1f s after the kill, more than %.1f s\n", recovery.Seconds(), doneBound.Seconds())
		bad = true
	}
	if bad {
		return errors.New("FAIL")
	}
	fmt.Println("PASS")
	return nil
}

// heldStill reports whether any of the jobs held is still in processing/
// under a worker that is not the survivor's.
func heldStill(spoolDir string, held []string, survivor string) bool {
	for _, id := range held {
		data, err := os.ReadFile(filepath.Join(spoolDir, "processing", id+".json"))
		if err != nil {
			continue
		}
		var j jobFile
		if json.Unmarshal(data, &j) == nil && !strings.HasPrefix(j.Worker, survivor+"-") {
			return true
		}
	}
	return false
}

func jobID(i int) string { return fmt.Sprintf("j%05d", i) }

// waitUntil polls cond until it holds or the deadline passes, printing the
// progress every 15 s.
func waitUntil(deadline time.Time, cond func() bool, spoolDir string, jobs int) error {
	last := time.Now()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out: done %d of %d", count(spoolDir, "done"), jobs)
		}
		if time.Since(last) > 15*time.Second {
			fmt.Printf("  done %d, processing %d, pending %d\n", count(spoolDir, "done"), count(spoolDir, "processing"), count(spoolDir, "pending"))
			last = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// count returns the number of job files in a state directory.
func count(spoolDir, state string) int {
	des, _ := os.ReadDir(filepath.Join(spoolDir, state))
	n := 0
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".json") {
			n++
		}
	}
	return n
}

// readDir reads the job files of a directory; unreadable ones are
// skipped (they may have moved on).
func readDir(dir string) []jobFile {
	des, _ := os.ReadDir(dir)
	var out []jobFile
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			continue
		}
		var j jobFile
		if json.Unmarshal(data, &j) != nil {
			continue
		}
		j.ID = id
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b jobFile) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// readHistory counts the runs recorded in the history files of dir: lines
// "ID WORKER", one per run. Lines that are not whole are counted as torn.
func readHistory(dir string) (map[string]int, int) {
	runs := map[string]int{}
	torn := 0
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		f, err := os.Open(filepath.Join(dir, de.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 2 || !strings.HasPrefix(fields[0], "j") {
				torn++
				continue
			}
			runs[fields[0]]++
		}
		f.Close()
	}
	return runs, torn
}
