//go:build unix

package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// TestPauseAgainstClaims: once Pause has returned, no job starts that was
// not in processing/ by then, however many claims are in flight; running
// jobs finish; after Resume the rest run.
func TestPauseAgainstClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	started := filepath.Join(e.dir, "started")
	if err := os.Mkdir(started, 0o700); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		e.enqueue(&job.Job{ID: fmt.Sprintf("j%03d", i), Command: "touch " + started + "/$QUEUECTL_JOB_ID"})
	}
	names := func(dir string) map[string]bool {
		des, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, de := range des {
			m[strings.TrimSuffix(de.Name(), ".json")] = true
		}
		return m
	}
	e.start(3)
	for round := 0; round < 5; round++ {
		e.waitFor("some jobs started", func() bool { return len(names(started)) >= (round+1)*20 })
		if _, err := e.s.Pause(); err != nil {
			t.Fatal(err)
		}
		inFlight := names(e.s.StateDir(spool.Processing))
		before := names(started)
		e.waitFor("processing/ empty", func() bool { return e.count(spool.Processing) == 0 })
		time.Sleep(300 * time.Millisecond) // a worker that ignored the flag would start jobs now
		for id := range names(started) {
			if !before[id] && !inFlight[id] {
				t.Errorf("round %d: job %s started after pause returned, and was not in processing/ then", round, id)
			}
		}
		if _, err := e.s.Resume(); err != nil {
			t.Fatal(err)
		}
	}
	e.waitFor("all done", func() bool { return e.count(spool.Done) == n })
	for id := range names(e.s.StateDir(spool.Done)) {
		if j := e.read(spool.Done, id); j.Attempts != 1 {
			t.Errorf("job %s ran with attempts %d: a claim put back by the pause was counted", id, j.Attempts)
		}
	}
}
