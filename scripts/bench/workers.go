package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// heartbeat is the part of a worker's heartbeat file (workers/<id>.json)
// that the bench reads.
type heartbeat struct {
	ID     string `json:"id"`
	PID    int    `json:"pid"`
	State  string `json:"state"`
	Job    string `json:"job"`
	JobPID int    `json:"job_pid"`
}

// heartbeats reads the heartbeat files of dir's workers, live or dead;
// files that cannot be read (being replaced, say) are skipped.
func heartbeats(dir string) []heartbeat {
	paths, _ := filepath.Glob(filepath.Join(dir, "workers", "*.json"))
	var hbs []heartbeat
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var hb heartbeat
		if json.Unmarshal(data, &hb) == nil && hb.PID > 0 {
			hbs = append(hbs, hb)
		}
	}
	return hbs
}

// startWorkers starts n detached workers on dir, with global flags args
// (such as --config FILE) if any. The returned function stops them; an
// early exit of the bench stops them too.
func (b *bench) startWorkers(dir string, n int, args ...string) (stop func()) {
	args = append(append([]string{"--spool", dir}, args...), "worker", "start", "--count", strconv.Itoa(n))
	cmd := exec.Command(b.bin, args...)
	cmd.Env = b.env()
	starting.Add(1)
	out, err := cmd.CombinedOutput()
	starting.Done()
	if err != nil {
		fatalf("queuectl worker start: %v\n%s", err, out)
	}
	return atExit(func() { b.stopWorkers(dir) })
}

// stopWorkers runs `queuectl worker stop`, then kills whatever worker of
// dir is still alive. It reports problems rather than failing: it runs
// during cleanup.
func (b *bench) stopWorkers(dir string) {
	cmd := exec.Command(b.bin, "--spool", dir, "worker", "stop", "--timeout", "10")
	cmd.Env = b.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Printf("queuectl worker stop: %v\n%s", err, out)
	}
	for _, hb := range heartbeats(dir) {
		if alive(hb.PID) {
			log.Printf("note: worker %s (pid %d) still alive after worker stop: killing it", hb.ID, hb.PID)
			killPID(hb.PID)
		}
	}
}

// waitIndexed waits until each of the n workers of dir has run a probe
// job. A worker claims nothing before its first scan of pending/ is over,
// so a worker that has run a probe has indexed every job that was there
// when it started. Each round enqueues one probe per worker, each of which
// holds its worker for 0.2 s (when n > 1) so that an idle worker cannot
// take them all.
func (b *bench) waitIndexed(dir string, s *spool.Spool, n int) {
	b.n++
	tag := strconv.Itoa(b.n)
	out := dir + "-probes" + tag + ".txt" // beside the spool, not in it
	start := time.Now()
	seen := map[string]bool{}
	for round := 0; len(seen) < n; round++ {
		if time.Since(start) > 5*time.Minute {
			fatalf("%s: %d of %d workers ran a probe job in 5 minutes", dir, len(seen), n)
		}
		var ids []string
		for i := range n {
			id := fmt.Sprintf("probe%s-%d-%d", tag, round, i)
			command := fmt.Sprintf(`echo "$QUEUECTL_WORKER" >> %s`, out)
			if n > 1 {
				command += "; sleep 0.2"
			}
			if err := s.Enqueue(&job.Job{ID: id, Command: command}); err != nil {
				fatalf("enqueue a probe: %v", err)
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			waitState(s, id, spool.Done, 5*time.Minute)
		}
		data, _ := os.ReadFile(out)
		for w := range strings.FieldsSeq(string(data)) {
			seen[w] = true
		}
	}
}

// waitState waits until job id is in state st.
func waitState(s *spool.Spool, id string, st spool.State, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		got, err := s.Find(id)
		if err == nil && got == st {
			return
		}
		if time.Now().After(deadline) {
			fatalf("job %s: not %s after %v (it is %q, err %v)", id, st, timeout, got, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writeJobs writes jobs into dir as job files, as Enqueue would write them
// but without its fsyncs and checks: for backlogs and staged jobs, whose
// own enqueueing is not what a workload measures. Nothing may watch dir.
func writeJobs(dir string, jobs []*job.Job) {
	now := time.Now().UTC()
	for _, j := range jobs {
		checkExit()
		if j.CreatedAt.IsZero() {
			j.CreatedAt = now
		}
		j.UpdatedAt = now
		j.State = string(spool.Pending)
		data, err := job.Marshal(j)
		if err != nil {
			fatalf("job %s: %v", j.ID, err)
		}
		if err := os.WriteFile(filepath.Join(dir, j.ID+".json"), data, 0o600); err != nil {
			fatalf("write job: %v", err)
		}
	}
}
