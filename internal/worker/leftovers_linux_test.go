package worker

import (
	"testing"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Recovery in one spool leaves alone a job of another spool with the same
// id: ids are unique within a spool only, and the other job's worker, not
// registered here, looks dead from here.
func TestLeftoversOfOtherSpoolSpared(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t), newEnv(t)
	b.prefix = "b-"
	b.enqueue(&job.Job{ID: "j", Command: "sleep 2; echo survived", MaxRetries: retries(0)})
	b.start(1)
	b.waitFor("b's job to run", func() bool { return b.count(spool.Processing) == 1 })

	a.enqueue(&job.Job{ID: "j", Command: "true"})
	lease, err := a.s.Claim(spool.Pending, "j", "ghost")
	if err != nil {
		t.Fatal(err)
	}
	lease.Release() // its owner dies: recovery will look for what it left running
	a.start(1)
	a.waitFor("a's orphan done", func() bool { return a.count(spool.Done) == 1 })

	b.waitFor("b's job to end", func() bool { return b.count(spool.Done)+b.count(spool.Dead) == 1 })
	if j, err := b.s.Read(spool.Done, "j"); err != nil || j.Output != "survived\n" {
		t.Fatalf("the other spool's job was killed: %+v, %v", j, err)
	}
}
