package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/queuectl/queuectl/internal/job"
)

// TestUniqueKeyRace races 20 enqueues of different ids with one unique key,
// 50 times: each round makes exactly one job, and the others are told which.
func TestUniqueKeyRace(t *testing.T) {
	t.Parallel()
	s := open(t)
	for round := range 50 {
		key := fmt.Sprintf("key-%d", round)
		var wg sync.WaitGroup
		made := make([]bool, 20)
		holders := make([]string, 20)
		for i := range 20 {
			wg.Go(func() {
				err := s.Enqueue(&job.Job{ID: fmt.Sprintf("r%d-%d", round, i), Command: "true", UniqueKey: key})
				var taken *KeyTakenError
				switch {
				case err == nil:
					made[i] = true
				case errors.As(err, &taken):
					holders[i] = taken.ID
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var winner string
		n := 0
		for i, m := range made {
			if m {
				n++
				winner = fmt.Sprintf("r%d-%d", round, i)
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d jobs made, want 1", round, n)
		}
		for i, h := range holders {
			if !made[i] && h != winner {
				t.Fatalf("round %d: enqueue %d was told the key is held by %q, not %q", round, i, h, winner)
			}
		}
	}
	names, err := s.Names(Pending)
	if err != nil || len(names) != 50 {
		t.Fatalf("%d pending jobs (%v), want 50", len(names), err)
	}
}

// TestUniqueKeyFreed: the key is held while the job is pending, processing
// or failed, and free once it is done or dead; a marker left behind by a
// job that ended (or never was) counts as free.
func TestUniqueKeyFreed(t *testing.T) {
	t.Parallel()
	for _, to := range []State{Done, Dead} {
		t.Run(string(to), func(t *testing.T) {
			t.Parallel()
			s := open(t)
			enq := func(id string) error {
				return s.Enqueue(&job.Job{ID: id, Command: "true", UniqueKey: "k", MaxRetries: new(int)})
			}
			if err := enq("a"); err != nil {
				t.Fatal(err)
			}
			l, err := s.Claim(Pending, "a", "w")
			if err != nil {
				t.Fatal(err)
			}
			var taken *KeyTakenError
			if err := enq("b"); !errors.As(err, &taken) || taken.ID != "a" || taken.Is != Processing {
				t.Fatalf("while a runs: %v", err)
			}
			if to == Done {
				l.SetComplete("")
			} else {
				l.SetFail("exit status 1", nil, "", 0, 0)
			}
			if err := s.Commit(l)[0]; err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(s.keyPath("k")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the key's marker is still there after %s: %v", to, err)
			}
			if err := enq("b"); err != nil {
				t.Fatalf("after a is %s: %v", to, err)
			}
			// A stale marker (naming a job that is gone) is taken over.
			if err := os.WriteFile(s.keyPath("z"), []byte("gone\nz\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := s.Enqueue(&job.Job{ID: "c", Command: "true", UniqueKey: "z"}); err != nil {
				t.Fatalf("over a stale marker: %v", err)
			}
		})
	}
}

// TestAfterUnknown: an id in after that no job has is refused, matching
// ErrNotFound, and nothing is enqueued; a batch may name its earlier jobs.
func TestAfterUnknown(t *testing.T) {
	t.Parallel()
	s := open(t)
	err := s.Enqueue(&job.Job{ID: "b", Command: "true", After: []string{"a"}})
	var ue *UnknownDependencyError
	if !errors.As(err, &ue) || !errors.Is(err, ErrNotFound) || ue.Dep != "a" {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Find("b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b was enqueued: %v", err)
	}
	jobs := []*job.Job{{ID: "a", Command: "true"}, {ID: "b", Command: "true", After: []string{"a"}}}
	if _, err := s.EnqueueBatch(jobs); err != nil {
		t.Fatal(err)
	}
	jobs = []*job.Job{{ID: "d", Command: "true", After: []string{"e"}}, {ID: "e", Command: "true"}}
	var be *BatchError
	if _, err := s.EnqueueBatch(jobs); !errors.As(err, &be) || be.Index != 0 || !errors.Is(err, ErrNotFound) {
		t.Fatalf("a batch naming a later job: %v", err)
	}
}

// TestNeeded: a done job is needed while a job that names it in after waits
// in pending/, and not once that job has moved on; the deps/ file then
// goes.
func TestNeeded(t *testing.T) {
	t.Parallel()
	s := open(t)
	for _, j := range []*job.Job{{ID: "a", Command: "true"}, {ID: "lone", Command: "true"}} {
		if err := s.Enqueue(j); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Enqueue(&job.Job{ID: "b", Command: "true", After: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(&job.Job{ID: "c", Command: "true", After: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "lone"} {
		l, err := s.Claim(Pending, id, "w")
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Complete(""); err != nil {
			t.Fatal(err)
		}
	}
	if s.Needed("lone") {
		t.Fatal("lone is needed, though nothing names it")
	}
	if !s.Needed("a") {
		t.Fatal("a is not needed, though b and c wait for it")
	}
	if err := s.CancelWaiting(Pending, "b"); err != nil {
		t.Fatal(err)
	}
	if !s.Needed("a") {
		t.Fatal("a is not needed, though c waits for it")
	}
	if err := s.BuryWaiting(Pending, "c", "a", DependencyRemoved("a")); err != nil {
		t.Fatal(err)
	}
	if s.Needed("a") {
		t.Fatal("a is needed, though nothing waits for it any more")
	}
	if _, err := os.Lstat(filepath.Join(s.Root(), dirDeps, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deps/a is still there: %v", err)
	}
	j, err := s.Read(Dead, "c")
	if err != nil || j.LastError != "dependency a removed" || j.Attempts != 0 {
		t.Fatalf("c: %+v, %v", j, err)
	}
}

// TestRecoverMaxInterruptions: a job recovered max_interruptions times goes
// to dead/, saying so, though retries are left; 0 is no limit.
func TestRecoverMaxInterruptions(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{0, 2} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if err := s.Enqueue(&job.Job{ID: "p", Command: "true"}); err != nil {
				t.Fatal(err)
			}
			var st State
			for i := range 3 {
				l, err := s.Claim(Pending, "p", "w")
				if err != nil {
					t.Fatalf("claim %d: %v", i+1, err)
				}
				l.Release() // the worker dies
				var j *job.Job
				if j, st, err = s.Recover("p", 10, limit); err != nil {
					t.Fatal(err)
				}
				if j.Interrupts != i+1 {
					t.Fatalf("after %d recoveries: interruptions %d", i+1, j.Interrupts)
				}
				if st == Dead {
					break
				}
			}
			j, _, err := s.Get("p")
			if err != nil {
				t.Fatal(err)
			}
			switch limit {
			case 0:
				if st != Pending || j.Attempts != 3 {
					t.Fatalf("no limit: %s after %d attempts", st, j.Attempts)
				}
			default:
				// The worker is "unknown" where the claim only marks the
				// file (its attempt not yet written), "w" where it writes
				// the attempt at once (Windows).
				if st != Dead || j.Attempts != 2 || !strings.HasPrefix(j.LastError, "interrupted: worker ") ||
					!strings.HasSuffix(j.LastError, " stopped during attempt 2; not run again: its runs were interrupted 2 times (max_interruptions 2), each with its worker") {
					t.Fatalf("limit 2: %s after %d attempts: %q", st, j.Attempts, j.LastError)
				}
				if _, err := s.Retry("p"); err != nil {
					t.Fatal(err)
				}
				if j, _ := s.Read(Pending, "p"); j.Interrupts != 0 {
					t.Fatalf("dlq retry kept interruptions %d", j.Interrupts)
				}
			}
		})
	}
}
