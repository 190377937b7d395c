//go:build unix

package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// where lists the states whose directory holds job id.
func (e *env) where(id string) []spool.State {
	var in []spool.State
	for _, st := range spool.States {
		if _, err := os.Lstat(e.s.Path(st, id)); err == nil {
			in = append(in, st)
		}
	}
	return in
}

// TestCancelRunning: a running job's whole process group is ended, the job
// goes to dead/ as cancelled with its run counted, and the request is
// removed.
func TestCancelRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pidFile := filepath.Join(e.dir, "pid")
	e.enqueue(&job.Job{ID: "long", Command: "(sleep 30) & echo $! > " + pidFile + "; echo started; wait"})
	e.start(1)
	e.waitFor("long running", func() bool { _, err := os.Stat(pidFile); return err == nil })
	st, cancelled, err := Cancel(context.Background(), e.s, "long", e.cfg)
	if err != nil || !cancelled || st != spool.Dead {
		t.Fatalf("Cancel: %s, %v, %v; want dead, cancelled", st, cancelled, err)
	}
	j := e.read(spool.Dead, "long")
	if j.LastError != spool.Cancelled || j.Attempts != 1 || j.ExitCode != nil || !strings.Contains(j.Output, "started") {
		t.Fatalf("cancelled job: last_error %q, attempts %d, exit code %v, output %q", j.LastError, j.Attempts, j.ExitCode, j.Output)
	}
	data, _ := os.ReadFile(pidFile)
	child, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	e.waitFor("the job's child gone", func() bool { return !alive(child) })
	if e.s.CancelRequested("long") {
		t.Fatal("the cancel request is left behind")
	}
	if in := e.where("long"); !slices.Equal(in, []spool.State{spool.Dead}) {
		t.Fatalf("job in %v", in)
	}
}

// TestCancelWaitingJobs: pending, scheduled and failed jobs go to dead/ at
// once, their attempts unchanged; ended ones are reported as such; an
// unknown id is ErrNotFound.
func TestCancelWaitingJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "soon", Command: "true"})
	e.enqueue(&job.Job{ID: "later", Command: "true", RunAt: time.Now().Add(time.Hour)})
	e.enqueue(&job.Job{ID: "failing", Command: "exit 3", MaxRetries: retries(5)})
	e.enqueue(&job.Job{ID: "fine", Command: "true"})
	lease, err := e.s.Claim(spool.Pending, "failing", "test")
	must(t, err)
	if _, err := lease.Fail("exit status 3", nil, "", 5, time.Hour); err != nil {
		t.Fatal(err)
	}
	lease, err = e.s.Claim(spool.Pending, "fine", "test")
	must(t, err)
	must(t, lease.Complete(""))
	for _, tc := range []struct {
		id        string
		st        spool.State
		cancelled bool
		attempts  int
	}{
		{"soon", spool.Dead, true, 0},
		{"later", spool.Dead, true, 0},
		{"failing", spool.Dead, true, 1},
		{"fine", spool.Done, false, 1},
		{"soon", spool.Dead, false, 0}, // cancelled already: it has ended
	} {
		t.Run(tc.id, func(t *testing.T) {
			st, cancelled, err := Cancel(context.Background(), e.s, tc.id, e.cfg)
			if err != nil || st != tc.st || cancelled != tc.cancelled {
				t.Fatalf("Cancel: %s, %v, %v; want %s, %v", st, cancelled, err, tc.st, tc.cancelled)
			}
			j := e.read(tc.st, tc.id)
			if j.Attempts != tc.attempts || tc.st == spool.Dead && j.LastError != spool.Cancelled {
				t.Fatalf("attempts %d (want %d), last_error %q", j.Attempts, tc.attempts, j.LastError)
			}
		})
	}
	if _, _, err := Cancel(context.Background(), e.s, "nope", e.cfg); err == nil || !strings.Contains(err.Error(), "no job with id") {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestCancelBeforeClaim: a request written before a job is claimed (as a
// cancel that saw it running, after which it failed and was claimed
// again, does) buries it at its claim, unrun and uncounted.
func TestCancelBeforeClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	must(t, e.s.RequestCancel("early"))
	e.enqueue(&job.Job{ID: "early", Command: "touch " + marker})
	e.start(1)
	e.waitFor("early ended", func() bool { return e.count(spool.Dead)+e.count(spool.Done) == 1 })
	j := e.read(spool.Dead, "early")
	if j.LastError != spool.Cancelled || j.Attempts != 0 {
		t.Fatalf("last_error %q, attempts %d", j.LastError, j.Attempts)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the cancelled job ran")
	}
	// The request goes once the job is in dead/ (after the move, so that
	// a crash in between still has recovery honour it).
	e.waitFor("the cancel request removed", func() bool { return !e.s.CancelRequested("early") })
}

// TestCancelAgainstCompletion: a job that ends at about the moment it is
// cancelled has exactly one outcome, in done/ or in dead/ as cancelled,
// never both or neither, and Cancel reports that outcome. Tries run a few
// at a time, with the cancel sent at random moments around the job's end.
func TestCancelAgainstCompletion(t *testing.T) {
	t.Parallel()
	tries := 1000
	if testing.Short() {
		tries = 100
	}
	e := newEnv(t)
	e.start(4)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range tries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			id := fmt.Sprintf("race-%d", i)
			cmd := "true"
			if i%2 == 1 {
				cmd = "sleep 0.00" + strconv.Itoa(1+i%9)
			}
			e.enqueue(&job.Job{ID: id, Command: cmd})
			time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond)
			st, cancelled, err := Cancel(context.Background(), e.s, id, e.cfg)
			if err != nil {
				t.Errorf("%s: %v", id, err)
				return
			}
			in := e.where(id)
			var got string
			switch {
			case len(in) != 1:
				t.Errorf("%s: in %v after Cancel", id, in)
				return
			case in[0] == spool.Done:
				got = "done"
			case in[0] == spool.Dead:
				j, err := e.s.Read(spool.Dead, id)
				if err != nil || j.LastError != spool.Cancelled {
					t.Errorf("%s: dead, but %v, %v", id, j, err)
					return
				}
				got = "cancelled"
			default:
				t.Errorf("%s: in %s after Cancel", id, in[0])
				return
			}
			if want := map[bool]string{true: "cancelled", false: "done"}[cancelled]; got != want || st != in[0] {
				t.Errorf("%s: Cancel said %s (cancelled %v), the job is %s", id, st, cancelled, got)
			}
			if e.s.CancelRequested(id) {
				t.Errorf("%s: the cancel request is left behind", id)
			}
			mu.Lock()
			counts[got]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("outcomes of %d tries: %v", tries, counts)
	// Let the workers settle, then look again: no job came back.
	time.Sleep(200 * time.Millisecond)
	for _, st := range []spool.State{spool.Pending, spool.Processing, spool.Failed} {
		if n := e.count(st); n != 0 {
			t.Errorf("%d jobs in %s", n, st)
		}
	}
	if n := e.count(spool.Done) + e.count(spool.Dead); n != tries {
		t.Errorf("%d jobs in done/ and dead/, want %d", n, tries)
	}
}

// TestCancelDeadOwner: a running job whose worker died is recovered by
// the cancel itself, honouring the request: it goes to dead/ as cancelled,
// without waiting for a worker, and is never run again, though workers
// started then look for orphans all the time.
func TestCancelDeadOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	e.enqueue(&job.Job{ID: "orphan", Command: "touch " + marker})
	lease, err := e.s.Claim(spool.Pending, "orphan", "ghost")
	must(t, err)
	lease.Release() // the owner dies: its lock goes with it
	st, cancelled, err := Cancel(context.Background(), e.s, "orphan", e.cfg)
	if err != nil || !cancelled || st != spool.Dead {
		t.Fatalf("Cancel: %s, %v, %v; want dead, cancelled", st, cancelled, err)
	}
	j := e.read(spool.Dead, "orphan")
	if j.LastError != spool.Cancelled || j.Attempts != 1 {
		t.Fatalf("last_error %q, attempts %d (the interrupted run counts)", j.LastError, j.Attempts)
	}
	e.start(2)
	time.Sleep(1500 * time.Millisecond) // more than one recovery round
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the cancelled job ran again")
	}
	if in := e.where("orphan"); !slices.Equal(in, []spool.State{spool.Dead}) {
		t.Fatalf("job in %v", in)
	}
}

// TestRecoveryHonoursCancel: a worker's recovery of an orphan with a
// cancel request buries it as cancelled instead of running it again.
func TestRecoveryHonoursCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	e.enqueue(&job.Job{ID: "orphan", Command: "touch " + marker})
	lease, err := e.s.Claim(spool.Pending, "orphan", "ghost")
	must(t, err)
	must(t, e.s.RequestCancel("orphan"))
	lease.Release()
	e.start(1)
	e.waitFor("orphan dead", func() bool { return e.count(spool.Dead) == 1 })
	if j := e.read(spool.Dead, "orphan"); j.LastError != spool.Cancelled {
		t.Fatalf("last_error %q", j.LastError)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the cancelled job ran again")
	}
	// The request is cleared just after the move that the wait saw.
	e.waitFor("the cancel request cleared", func() bool { return !e.s.CancelRequested("orphan") })
}

// TestRemovedWhileRunning: a job whose file is removed from processing/
// while it runs does not come back: its outcome is dropped.
func TestRemovedWhileRunning(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"sleep 0.5", "sleep 0.5; exit 1"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.enqueue(&job.Job{ID: "gone", Command: cmd})
			e.start(1)
			e.waitFor("gone running", func() bool { return e.count(spool.Processing) == 1 })
			must(t, os.Remove(e.s.Path(spool.Processing, "gone")))
			e.enqueue(&job.Job{ID: "next", Command: "true"}) // the worker goes on
			e.waitFor("next done", func() bool { return e.count(spool.Done) == 1 })
			if in := e.where("gone"); len(in) != 0 {
				t.Fatalf("the removed job came back in %v", in)
			}
		})
	}
}
