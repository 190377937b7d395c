//go:build unix

package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

func TestPriorityAndFIFO(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	order := filepath.Join(e.dir, "order")
	base := time.Now().Add(-time.Hour).UTC()
	jobs := []struct {
		id   string
		prio int
	}{{"low-1", 0}, {"high-1", 5}, {"low-2", 0}, {"mid", 2}, {"high-2", 5}, {"low-3", 0}}
	for i, j := range jobs {
		e.enqueue(&job.Job{ID: j.id, Command: "echo " + j.id + " >> " + order, Priority: j.prio,
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond)})
	}
	e.start(1)
	e.waitFor("all done", func() bool { return e.count(spool.Done) == len(jobs) })
	want := []string{"high-1", "high-2", "mid", "low-1", "low-2", "low-3"}
	if got := e.lines("order"); !slices.Equal(got, want) {
		t.Fatalf("ran in order %v, want %v", got, want)
	}
}

func TestDelayedJobNotRunEarly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(1)
	out := filepath.Join(e.dir, "ran")
	runAt := time.Now().Add(700 * time.Millisecond).UTC()
	e.enqueue(&job.Job{ID: "later", Command: "date +%s.%N > " + out, RunAt: runAt})
	e.enqueue(&job.Job{ID: "now", Command: "true"})
	e.waitFor("later done", func() bool { return e.count(spool.Done) == 2 })
	j := e.read(spool.Done, "later")
	if j.StartedAt.Before(runAt) {
		t.Fatalf("started at %v, before its run_at %v", j.StartedAt, runAt)
	}
}

func TestBackoffAndDeadLetter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.RetryDelay, e.cfg.BackoffBase = 0.1, 2
	e.start(1)
	stamps := filepath.Join(e.dir, "stamps")
	e.enqueue(&job.Job{ID: "flaky", Command: "date +%s.%N >> " + stamps + "; exit 7", MaxRetries: retries(3)})
	e.waitFor("flaky dead", func() bool { return e.count(spool.Dead) == 1 })
	j := e.read(spool.Dead, "flaky")
	if j.Attempts != 4 || j.LastError != "exit status 7" || j.ExitCode == nil || *j.ExitCode != 7 {
		t.Fatalf("dead job %+v", j)
	}
	var times []float64
	for _, l := range e.lines("stamps") {
		f, _ := strconv.ParseFloat(l, 64)
		times = append(times, f)
	}
	if len(times) != 4 {
		t.Fatalf("ran %d times, want 4", len(times))
	}
	for n := 1; n < len(times); n++ {
		gap := times[n] - times[n-1]
		want := 0.1 * float64(int(1)<<n) // retry_delay × backoff_base^n after the n-th failure
		if gap < want {
			t.Errorf("gap after failure %d: %.3fs, want at least %.3fs", n, gap, want)
		}
	}
	// dlq retry puts it back with attempts reset; it runs once more.
	if _, err := e.s.Retry("flaky"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("flaky dead again", func() bool { return len(e.lines("stamps")) == 8 && e.count(spool.Dead) == 1 })
	if j := e.read(spool.Dead, "flaky"); j.Attempts != 4 {
		t.Fatalf("after dlq retry: attempts %d", j.Attempts)
	}
}

func TestBackoffFormula(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.RetryDelay, c.BackoffBase, c.BackoffMax = 1.5, 3, 100
	for n, want := range map[int]time.Duration{0: 1500 * time.Millisecond, 1: 4500 * time.Millisecond, 2: 13500 * time.Millisecond, 4: 100 * time.Second, 5000: 100 * time.Second} {
		if got := backoff(&c, n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestOutcomeFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(1)
	e.enqueue(&job.Job{ID: "big", Command: "head -c 10000 /dev/zero | tr '\\0' x; echo; echo é-end"})
	e.enqueue(&job.Job{ID: "nostart", Command: "true", Dir: filepath.Join(e.dir, "missing"), MaxRetries: retries(0)})
	e.enqueue(&job.Job{ID: "signal", Command: "kill -9 $$", MaxRetries: retries(0)})
	e.waitFor("finished", func() bool { return e.count(spool.Done)+e.count(spool.Dead) == 3 })
	big := e.read(spool.Done, "big")
	if len(big.Output) > job.MaxOutput || !strings.HasSuffix(big.Output, "é-end\n") || big.ExitCode == nil || *big.ExitCode != 0 {
		t.Fatalf("output of %d bytes ending %q, exit %v", len(big.Output), big.Output[max(0, len(big.Output)-10):], big.ExitCode)
	}
	if j := e.read(spool.Dead, "nostart"); !strings.HasPrefix(j.LastError, "could not start") {
		t.Errorf("nostart: last_error %q", j.LastError)
	}
	if j := e.read(spool.Dead, "signal"); j.LastError != "killed by signal KILL" {
		t.Errorf("signal: last_error %q", j.LastError)
	}
	data, err := os.ReadFile(e.s.LogPath("big"))
	if err != nil || !strings.HasPrefix(string(data), "=== attempt 1 by worker") || !strings.Contains(string(data), "é-end") {
		t.Fatalf("log: %.80q, %v", data, err)
	}
}

// TestTimeoutKillsGrandchild: a timeout kills the whole process group, a
// child that ignores SIGTERM included.
func TestTimeoutKillsGrandchild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(1)
	pidfile := filepath.Join(e.dir, "pid")
	e.enqueue(&job.Job{ID: "stuck", Timeout: 0.3, MaxRetries: retries(0),
		Command: "sh -c 'trap \"\" TERM; echo $$ > " + pidfile + "; while :; do sleep 1; done' & trap '' TERM; wait"})
	e.waitFor("stuck dead", func() bool { return e.count(spool.Dead) == 1 })
	j := e.read(spool.Dead, "stuck")
	if !strings.HasPrefix(j.LastError, "timed out after 0.3s") {
		t.Fatalf("last_error %q", j.LastError)
	}
	data, _ := os.ReadFile(pidfile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("grandchild pid %q", data)
	}
	if alive(pid) {
		t.Fatalf("grandchild %d still alive after the timeout", pid)
	}
}

// TestManyWorkersEachJobOnce: 4 workers, 1,000 jobs, each run exactly once.
func TestManyWorkersEachJobOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 1000
	runs := filepath.Join(e.dir, "runs")
	for i := range n {
		e.enqueue(&job.Job{ID: fmt.Sprintf("j%04d", i), Command: "echo $QUEUECTL_JOB_ID >> " + runs})
	}
	e.start(4)
	e.waitFor("all done", func() bool { return e.count(spool.Done) == n })
	seen := map[string]int{}
	for _, id := range e.lines("runs") {
		seen[id]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct jobs ran, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s ran %d times", id, c)
		}
	}
	for _, st := range []spool.State{spool.Pending, spool.Processing, spool.Failed, spool.Dead} {
		if c := e.count(st); c != 0 {
			t.Errorf("%d jobs left in %s", c, st)
		}
	}
}

// TestRecoverOrphan: a job left in processing by a dead owner (its lock
// released) is put back and run again, its interrupted run counted.
func TestRecoverOrphan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "orphan", Command: "true"})
	lease, err := e.s.Claim(spool.Pending, "orphan", "ghost")
	if err != nil {
		t.Fatal(err)
	}
	lease.Release() // the owner dies: its lock goes with it
	e.start(2)
	e.waitFor("orphan done", func() bool { return e.count(spool.Done) == 1 })
	if j := e.read(spool.Done, "orphan"); j.Attempts != 2 {
		t.Fatalf("attempts %d, want 2 (the interrupted run counts)", j.Attempts)
	}
}

// TestLiveLeaseNotRecovered: a job whose owner lives is left alone.
func TestLiveLeaseNotRecovered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "held", Command: "true"})
	lease, err := e.s.Claim(spool.Pending, "held", "alive")
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release()
	e.start(2)
	time.Sleep(2500 * time.Millisecond) // more than two recovery rounds
	if st, err := e.s.Find("held"); err != nil || st != spool.Processing {
		t.Fatalf("held job is %s, %v", st, err)
	}
}

// TestBadFilesQuarantined: files that are not jobs are moved to rejected/
// with a reason and never run; valid jobs around them run.
func TestBadFilesQuarantined(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.s.StateDir(spool.Pending)
	canary := filepath.Join(e.dir, "canary")
	os.WriteFile(canary, []byte(`{"command": "touch `+filepath.Join(e.dir, "pwned")+`"}`), 0o600)
	must(t, os.Symlink(canary, filepath.Join(p, "link.json")))
	must(t, syscall.Mkfifo(filepath.Join(p, "fifo.json"), 0o600))
	must(t, os.Mkdir(filepath.Join(p, "dir.json"), 0o700))
	must(t, os.WriteFile(filepath.Join(p, "typo.json"), []byte(`{"comand": "true"}`), 0o600))
	must(t, os.WriteFile(filepath.Join(p, "notjson.txt"), []byte(`hello`), 0o600))
	must(t, os.WriteFile(filepath.Join(p, ".partial.json"), []byte(`{"comm`), 0o600))
	e.enqueue(&job.Job{ID: "good", Command: "true"})
	e.start(1)
	e.waitFor("bad files rejected", func() bool { return e.count(spool.Rejected) == 5 && e.count(spool.Done) == 1 })
	for _, name := range []string{"link.json", "fifo.json", "dir.json", "typo.json", "notjson.txt"} {
		reason, err := os.ReadFile(filepath.Join(e.s.StateDir(spool.Rejected), name+".reason"))
		if err != nil || len(reason) == 0 {
			t.Errorf("%s: no reason: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "pwned")); err == nil {
		t.Fatal("the symlink's target was run")
	}
	if _, err := os.Stat(filepath.Join(p, ".partial.json")); err != nil {
		t.Fatal("a dotfile was touched")
	}
}

// TestDroppedFileRuns: a minimal file renamed into pending/ runs.
func TestDroppedFileRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(1)
	tmp := filepath.Join(e.dir, "spool", "tmp", "dropped.json")
	must(t, os.WriteFile(tmp, []byte(`{"command": "echo dropped"}`), 0o600))
	must(t, os.Rename(tmp, e.s.Path(spool.Pending, "dropped")))
	e.waitFor("dropped done", func() bool { return e.count(spool.Done) == 1 })
	if j := e.read(spool.Done, "dropped"); j.Output != "dropped\n" {
		t.Fatalf("output %q", j.Output)
	}
}

// TestStopInterruptsAndRequeues: cancelling a worker kills its job and puts
// it back in pending/ as if it had not started: its run is not counted.
func TestStopInterruptsAndRequeues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "long", Command: "sleep 30"})
	e.start(1)
	e.waitFor("long running", func() bool { return e.count(spool.Processing) == 1 })
	e.shutdown()
	j := e.read(spool.Pending, "long")
	if j.Attempts != 0 || j.LastError != "" {
		t.Fatalf("requeued job %+v", j)
	}
}

// alive reports whether process pid runs (a zombie waiting to be reaped
// does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestGateUnseen: the gate that holds a job's shell until its claim is
// durable leaves no trace the job can see: no descriptor 3, the job's own
// line numbers, $0, stdin at its end, a leading comment still a comment.
func TestGateUnseen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(1)
	e.enqueue(&job.Job{ID: "fd3", Command: "if (true <&3) 2>/dev/null; then echo open; else echo closed; fi"})
	e.enqueue(&job.Job{ID: "lines", Command: "echo ok\nnosuchcommand-x 2>&1 | grep -o ' 2: nosuchcommand-x'; true"})
	e.enqueue(&job.Job{ID: "stdin", Command: "cat; echo eof"})
	e.enqueue(&job.Job{ID: "comment", Command: "# a comment first\necho after"})
	e.enqueue(&job.Job{ID: "error", Command: "echo one; exit 7", MaxRetries: retries(0)})
	e.waitFor("finished", func() bool { return e.count(spool.Done)+e.count(spool.Dead) == 5 })
	for id, want := range map[string]string{"fd3": "closed\n", "lines": "ok\n 2: nosuchcommand-x\n", "stdin": "eof\n", "comment": "after\n"} {
		if j := e.read(spool.Done, id); j.Output != want {
			t.Errorf("%s: output %q, want %q", id, j.Output, want)
		}
	}
	if j := e.read(spool.Dead, "error"); j.LastError != "exit status 7" || j.ExitCode == nil || *j.ExitCode != 7 {
		t.Errorf("error: last_error %q, exit %v", j.LastError, j.ExitCode)
	}
}

// TestFailureKeepsOutput: the tail of a run's output is kept on every
// outcome, not only on success: a failed job waiting for its retry, and a
// dead one, whose owner needs it most.
func TestFailureKeepsOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.RetryDelay = 3600
	e.start(1)
	e.enqueue(&job.Job{ID: "retry", Command: "echo try $QUEUECTL_ATTEMPT; exit 3", MaxRetries: retries(1)})
	e.enqueue(&job.Job{ID: "dead", Command: "echo out; echo err >&2; exit 4", MaxRetries: retries(0)})
	e.waitFor("both failed", func() bool { return e.count(spool.Failed) == 1 && e.count(spool.Dead) == 1 })
	if j := e.read(spool.Failed, "retry"); j.Output != "try 1\n" || j.ExitCode == nil || *j.ExitCode != 3 {
		t.Errorf("failed job: output %q, exit %v", j.Output, j.ExitCode)
	}
	if j := e.read(spool.Dead, "dead"); j.Output != "out\nerr\n" || j.LastError != "exit status 4" {
		t.Errorf("dead job: output %q, last_error %q", j.Output, j.LastError)
	}
}
