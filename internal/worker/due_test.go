//go:build unix

package worker

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// TestFutureCreationRunsAtOnce: only run_at delays a job. A created_at in
// the future, or a dropped file whose mtime is ahead (rsync -t, cp -p, a
// host whose clock is ahead), only orders the job: it runs at once.
func TestFutureCreationRunsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "created-2030", Command: "true", CreatedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	tmp := filepath.Join(e.dir, "spool", "tmp", "mtime-ahead.json")
	must(t, os.WriteFile(tmp, []byte(`{"command": "true"}`), 0o600))
	ahead := time.Now().Add(time.Hour)
	must(t, os.Chtimes(tmp, ahead, ahead))
	must(t, os.Rename(tmp, e.s.Path(spool.Pending, "mtime-ahead")))
	e.start(1)
	// Held back, they would wait an hour or years: two minutes is only
	// there to end the test, however slow the machine.
	deadline := time.Now().Add(2 * time.Minute)
	for e.count(spool.Done) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("jobs with a future creation time not run: %d pending", e.count(spool.Pending))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIndexOrdersByCreationWithoutWaiting: among ready jobs of one
// priority the earlier run_at or creation time goes first, and only a
// run_at in the future keeps a job out of the ready ones.
func TestIndexOrdersByCreationWithoutWaiting(t *testing.T) {
	t.Parallel()
	now := time.Now()
	x := newIndex()
	x.put(key{spool.Pending, "future-created"}, 0, time.Time{}, now.Add(time.Hour))
	x.put(key{spool.Pending, "created"}, 0, time.Time{}, now.Add(-time.Hour))
	x.put(key{spool.Pending, "scheduled"}, 0, now.Add(time.Minute), now.Add(time.Minute))
	x.put(key{spool.Failed, "retry-due"}, 0, now.Add(-time.Minute), now.Add(-time.Minute))
	var got []string
	for {
		k, ok := x.next(now)
		if !ok {
			break
		}
		got = append(got, k.id)
		x.remove(k)
	}
	want := []string{"created", "retry-due", "future-created"}
	if !slices.Equal(got, want) {
		t.Fatalf("claim order %v, want %v", got, want)
	}
	if due, ok := x.nextDue(); !ok || !due.Equal(now.Add(time.Minute)) {
		t.Fatalf("nextDue = %v, %v; want the scheduled job's run_at", due, ok)
	}
}

// TestOutOfBoundsRejected: a dropped file whose integers are out of their
// bounds is not run (attempts once overflowed to a negative count): it is
// rejected, with the field named.
func TestOutOfBoundsRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ran")
	for id, data := range map[string]string{
		"attempts": `{"command": "touch ` + ran + `", "attempts": 9223372036854775807}`,
		"priority": `{"command": "touch ` + ran + `", "priority": 9223372036854775807}`,
		"exit":     `{"command": "touch ` + ran + `", "exit_code": -9223372036854775808}`,
	} {
		tmp := filepath.Join(e.dir, "spool", "tmp", id+".json")
		must(t, os.WriteFile(tmp, []byte(data), 0o600))
		must(t, os.Rename(tmp, e.s.Path(spool.Pending, id)))
	}
	e.start(1)
	e.waitFor("all rejected or run", func() bool {
		return e.count(spool.Rejected)+e.count(spool.Done)+e.count(spool.Failed)+e.count(spool.Dead) == 3
	})
	for _, f := range []string{"attempts", "priority", "exit_code"} {
		id := strings.TrimSuffix(f, "_code")
		reason, err := os.ReadFile(filepath.Join(e.dir, "spool", "rejected", id+".json.reason"))
		if err != nil || !strings.Contains(string(reason), `field "`+f+`": must be between`) {
			t.Errorf("%s: reason %q, %v", id, reason, err)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("a job out of bounds ran")
	}
}
