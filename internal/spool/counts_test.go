package spool

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

func runs(n uint64) Counts {
	return Counts{Runs: map[string]uint64{"done": n}, Buckets: map[string]uint64{"1": n}, Count: n, Sum: float64(n)}
}

func done(t *testing.T, s *Spool) uint64 {
	t.Helper()
	c, err := s.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if c.Runs["done"] != c.Count || c.Buckets["1"] != c.Count {
		t.Fatalf("counts out of step: %+v", c)
	}
	return c.Runs["done"]
}

// TestCountsSurviveWorkers: the counts of workers that exited, crashed or
// were cleared away stay in the totals, and a worker id used again starts
// afresh without taking the old counts away.
func TestCountsSurviveWorkers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(t *testing.T, s *Spool, r *Registration)
	}{
		{"exit", func(t *testing.T, s *Spool, r *Registration) {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"crash, then cleared", func(t *testing.T, s *Spool, r *Registration) {
			r.lock.Close() // the process died: its lock is free, its files stay
			if got := done(t, s); got != 105 {
				t.Fatalf("a dead worker's counts before clearing: %d, want 105", got)
			}
			if _, err := s.Workers(true); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(s.workerPath(r.id, countsExt)); !os.IsNotExist(err) {
				t.Fatalf("the dead worker's counts file is still there: %v", err)
			}
		}},
		{"crash, then the id again", func(t *testing.T, s *Spool, r *Registration) {
			r.lock.Close()
			r2, err := s.Register(r.id)
			if err != nil {
				t.Fatal(err)
			}
			if err := r2.SaveCounts(runs(1)); err != nil {
				t.Fatal(err)
			}
			if got := done(t, s); got != 106 {
				t.Fatalf("with the id registered again: %d, want 106", got)
			}
			r2.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			r, err := s.Register("w1")
			if err != nil {
				t.Fatal(err)
			}
			other, err := s.Register("w2")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if err := other.SaveCounts(runs(100)); err != nil {
				t.Fatal(err)
			}
			if err := r.SaveCounts(runs(2)); err != nil {
				t.Fatal(err)
			}
			if err := r.SaveCounts(runs(5)); err != nil { // everything since it registered
				t.Fatal(err)
			}
			if got := done(t, s) - 100; got != 5 {
				t.Fatalf("live counts: %d, want 5", got)
			}
			tt.end(t, s, r)
			want := uint64(105)
			if tt.name == "crash, then the id again" {
				want = 106
			}
			if got := done(t, s); got != want {
				t.Fatalf("after the worker went: %d, want %d", got, want)
			}
		})
	}
}

// TestFoldCutShort: a fold that wrote the totals but did not remove the
// worker's file (a crash in between) does not count that file twice, when
// read or when folded again.
func TestFoldCutShort(t *testing.T) {
	t.Parallel()
	s := open(t)
	r, err := s.Register("w1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveCounts(runs(3)); err != nil {
		t.Fatal(err)
	}
	path := s.workerPath("w1", countsExt)
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.foldCounts("w1"); err != nil {
		t.Fatal(err)
	}
	// What the crash left: the totals written, the file still there.
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := done(t, s); got != 3 {
		t.Fatalf("read after a fold cut short: %d, want 3", got)
	}
	if err := r.Close(); err != nil { // folds again
		t.Fatal(err)
	}
	if got := done(t, s); got != 3 {
		t.Fatalf("folded twice: %d, want 3", got)
	}
}

// TestCountsNeverGoBackwards: a reader that races workers saving, exiting
// and being replaced never sees a total below one it saw before.
func TestCountsNeverGoBackwards(t *testing.T) {
	t.Parallel()
	s := open(t)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				r, err := s.Register(fmt.Sprintf("w%d-%d", w, i%2))
				if err != nil {
					t.Error(err)
					return
				}
				for n := uint64(1); n <= 3; n++ {
					if err := r.SaveCounts(runs(n)); err != nil {
						t.Error(err)
					}
				}
				if err := r.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	var last uint64
	for range 300 {
		got := done(t, s)
		if got < last {
			t.Errorf("counts went backwards: %d after %d", got, last)
		}
		last = got
	}
	stop.Store(true)
	wg.Wait()
	if got := done(t, s); got < last || got%3 != 0 {
		t.Fatalf("final total %d (last read %d): every worker counted 3", got, last)
	}
}
