package worker

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Jobs leave nothing behind in the worker: no open descriptor and no
// goroutine more after 300 jobs than after 30, beside the files kept for
// reuse as records (a bounded pool). (Not parallel: it counts
// the whole process's descriptors and goroutines.)
func TestNoLeakPerJob(t *testing.T) {
	e := newEnv(t)
	e.start(1)
	commands := []string{"true", "echo out", "echo err >&2; exit 3", "printf '%s' partial"}
	run := func(from, to int) {
		for i := from; i < to; i++ {
			e.enqueue(&job.Job{ID: fmt.Sprintf("j%04d", i), Command: commands[i%len(commands)], MaxRetries: new(int)})
		}
		e.waitFor("the jobs to end", func() bool { return e.count(spool.Done)+e.count(spool.Dead) == to })
		// Let the finisher release the last leases and the worker go idle.
		time.Sleep(300 * time.Millisecond)
	}
	fds := func() int {
		// The job files kept for reuse as records are bounded by the
		// pool's size, not a leak: let them go first.
		e.s.DropRecords()
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip(err)
		}
		return len(es)
	}
	run(0, 30)
	fd0, g0 := fds(), runtime.NumGoroutine()
	run(30, 330)
	fd1, g1 := fds(), runtime.NumGoroutine()
	if fd1 > fd0+2 {
		t.Errorf("open descriptors: %d after 30 jobs, %d after 330", fd0, fd1)
	}
	if g1 > g0+2 {
		t.Errorf("goroutines: %d after 30 jobs, %d after 330", g0, g1)
	}
	t.Logf("descriptors %d → %d, goroutines %d → %d", fd0, fd1, g0, g1)
}
