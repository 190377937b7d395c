package spool

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRegisterRacesProbes: a worker that registers while others clean up
// dead workers' files (worker stop, doctor --repair) is never taken for
// dead: its lock file is there, and locked, from the moment it appears.
func TestRegisterRacesProbes(t *testing.T) {
	t.Parallel()
	s := open(t)
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := s.Workers(true); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	const n = 300
	lost := 0
	for i := range n {
		id := fmt.Sprintf("w%d", i)
		r, err := s.Register(id)
		if err != nil {
			t.Fatal(err)
		}
		// Let the probers have a go at the new file.
		for range 3 {
			if _, err := s.Workers(true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Lstat(s.workerPath(id, ".lock")); err != nil || !s.WorkerAlive(id) {
			lost++
		}
		r.Close()
	}
	if lost > 0 {
		t.Fatalf("%d of %d registered workers lost their lock file to a probe", lost, n)
	}
}

// TestRegisterTakesOverDeadName: a lock file that a dead worker of the same
// id left behind does not keep a new worker of that id out; a live one does.
func TestRegisterTakesOverDeadName(t *testing.T) {
	t.Parallel()
	s := open(t)
	if err := os.WriteFile(s.workerPath("w1", ".lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := s.Register("w1")
	if err != nil {
		t.Fatalf("register over a dead worker's lock file: %v", err)
	}
	defer r.Close()
	if !s.WorkerAlive("w1") {
		t.Fatal("the new worker is not alive")
	}
	if _, err := s.Register("w1"); err == nil {
		t.Fatal("a second live worker registered under the same id")
	}
}
