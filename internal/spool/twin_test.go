package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// twinFile returns a job file for a copy of job id in state st, updated at
// the given minute: each copy's bytes differ.
func twinFile(t *testing.T, id string, st State, minute int) []byte {
	t.Helper()
	at := time.Date(2026, 11, 27, 10, minute, 0, 0, time.UTC)
	data, err := job.Marshal(&job.Job{ID: id, Command: "echo " + string(st), CreatedAt: at, UpdatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// duplicates returns Check's findings of jobs in several directories.
func duplicates(t *testing.T, s *Spool) []Finding {
	t.Helper()
	fs, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(fs, func(f Finding) bool { return f.Kind != "duplicate" })
}

// rejected returns the contents of the entries of rejected/ (not their
// reasons), and the reasons.
func rejected(t *testing.T, s *Spool) (entries, reasons []string) {
	t.Helper()
	for _, name := range dirNames(t, s.dir(Rejected)) {
		data, err := os.ReadFile(filepath.Join(s.dir(Rejected), name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, reasonSuffix) {
			reasons = append(reasons, string(data))
		} else {
			entries = append(entries, string(data))
		}
	}
	return entries, reasons
}

func TestRepairTwin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		copies map[State]int // state: minute of updated_at
		keep   State
		why    string
	}{
		{"pending and done", map[State]int{Pending: 1, Done: 2}, Done, "furthest along"},
		{"further along wins over later", map[State]int{Pending: 9, Done: 2}, Done, "furthest along"},
		{"processing and failed", map[State]int{Processing: 5, Failed: 1}, Failed, "furthest along"},
		{"pending and processing", map[State]int{Pending: 5, Processing: 1}, Processing, "furthest along"},
		{"failed and dead", map[State]int{Failed: 5, Dead: 1}, Dead, "furthest along"},
		{"done updated later than dead", map[State]int{Done: 7, Dead: 3}, Done, "updated last"},
		{"dead updated later than done", map[State]int{Done: 3, Dead: 7}, Dead, "updated last"},
		{"three copies", map[State]int{Pending: 1, Processing: 2, Done: 3}, Done, "furthest along"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			const id = "twin"
			data := map[State][]byte{}
			for st, minute := range tt.copies {
				data[st] = twinFile(t, id, st, minute)
				write(t, s.path(st, id), string(data[st]))
			}
			ds := duplicates(t, s)
			if len(ds) != 1 || ds[0].Path != id || ds[0].keep != tt.keep {
				t.Fatalf("Check found %+v, want one duplicate %s keeping %s", ds, id, tt.keep)
			}
			if !strings.Contains(ds[0].Fix, "keep "+string(tt.keep)+"/twin.json") || !strings.Contains(ds[0].Fix, tt.why) {
				t.Errorf("Fix %q does not say it keeps %s/ because %s", ds[0].Fix, tt.keep, tt.why)
			}
			if err := s.Repair(ds[0]); err != nil {
				t.Fatalf("Repair: %v", err)
			}
			// The copy kept is where it was, as it was; each other copy
			// is in rejected/, byte for byte, with its reason.
			var want []string
			for st, d := range data {
				got, err := os.ReadFile(s.path(st, id))
				switch {
				case st == tt.keep && (err != nil || string(got) != string(d)):
					t.Errorf("the kept copy %s/: %q, %v; want it unchanged", st, got, err)
				case st != tt.keep && !os.IsNotExist(err):
					t.Errorf("%s/twin.json is still there (%v)", st, err)
				case st != tt.keep:
					want = append(want, string(d))
				}
			}
			entries, reasons := rejected(t, s)
			slices.Sort(entries)
			slices.Sort(want)
			if !slices.Equal(entries, want) {
				t.Errorf("rejected/ holds %q, want %q", entries, want)
			}
			if len(reasons) != len(want) {
				t.Fatalf("rejected/ has %d reasons, want %d", len(reasons), len(want))
			}
			for _, r := range reasons {
				if !strings.Contains(r, "also in "+string(tt.keep)+"/") || !strings.Contains(r, tt.why) {
					t.Errorf("reason %q does not name the kept copy %s/ and why", r, tt.keep)
				}
			}
			if ds := duplicates(t, s); len(ds) != 0 {
				t.Errorf("after the repair Check finds %+v", ds)
			}
		})
	}
}

// A processing/ copy whose file a live worker holds locked is never moved.
func TestRepairTwinLeavesLiveWorkersCopy(t *testing.T) {
	t.Parallel()
	t.Run("held copy is the one to move", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		held := twinFile(t, "held", Processing, 1)
		write(t, s.path(Processing, "held"), string(held))
		write(t, s.path(Done, "held"), string(twinFile(t, "held", Done, 2)))
		f, _, err := s.openLocked(s.path(Processing, "held")) // as the worker running it does
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ds := duplicates(t, s)
		if len(ds) != 1 {
			t.Fatalf("Check found %+v, want one duplicate", ds)
		}
		if err := s.Repair(ds[0]); err == nil || !strings.Contains(err.Error(), "live") {
			t.Errorf("Repair: %v, want an error saying a live process holds it", err)
		}
		got, err := os.ReadFile(s.path(Processing, "held"))
		if err != nil || string(got) != string(held) {
			t.Errorf("processing/held.json: %q, %v; want it left as it was", got, err)
		}
		if names := dirNames(t, s.dir(Rejected)); len(names) != 0 {
			t.Errorf("rejected/ holds %v, want nothing", names)
		}
	})
	t.Run("held copy is the one kept", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		write(t, s.path(Pending, "held"), string(twinFile(t, "held", Pending, 1)))
		write(t, s.path(Processing, "held"), string(twinFile(t, "held", Processing, 2)))
		f, _, err := s.openLocked(s.path(Processing, "held"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ds := duplicates(t, s)
		if len(ds) != 1 {
			t.Fatalf("Check found %+v, want one duplicate", ds)
		}
		if err := s.Repair(ds[0]); err != nil {
			t.Fatalf("Repair: %v", err)
		}
		if _, err := os.Lstat(s.path(Processing, "held")); err != nil {
			t.Errorf("processing/held.json: %v", err)
		}
		if _, err := os.Lstat(s.path(Pending, "held")); !os.IsNotExist(err) {
			t.Errorf("pending/held.json is still there (%v)", err)
		}
	})
}

// Check lists the directories one after the other: a job that moves
// between two listings must not be reported as a job in two directories.
// Jobs cycle through every move the spool makes, as workers make them
// (forward moves without the spool lock, moves back under it), while Check
// runs again and again.
func TestCheckNoFalseTwins(t *testing.T) {
	t.Parallel()
	s := open(t)
	const jobs, movers, checks = 600, 2, 25
	for i := range jobs {
		id := fmt.Sprintf("j%04d", i)
		write(t, s.path(Pending, id), string(twinFile(t, id, Pending, i%60)))
	}
	move := func(id string, from, to State, locked bool) {
		if locked {
			unlock, err := s.lock(to == Pending && from == Done)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
		}
		if err := publish(s.path(from, id), s.path(to, id)); err != nil {
			t.Errorf("move %s from %s to %s: %v", id, from, to, err)
		}
	}
	// The life of a job with a retry, then back from the dead letter
	// queue: each move as the spool makes it.
	cycle := []struct {
		from, to State
		locked   bool
	}{
		{Pending, Processing, false}, // claim
		{Processing, Failed, true},   // fail, retries left
		{Failed, Processing, false},  // claim again
		{Processing, Done, false},    // complete
	}
	back := []struct {
		from, to State
		locked   bool
	}{
		{Pending, Processing, false}, // claim
		{Processing, Pending, true},  // recover
		{Pending, Processing, false}, // claim
		{Processing, Dead, false},    // bury
		{Dead, Pending, true},        // dlq retry
	}
	var stop atomic.Bool
	var moves atomic.Int64
	var wg sync.WaitGroup
	for m := range movers {
		wg.Go(func() {
			for round := 0; !stop.Load(); round++ {
				for i := m; i < jobs && !stop.Load(); i += movers {
					id := fmt.Sprintf("j%04d", i)
					steps := back
					if (i+round)%2 == 0 {
						steps = cycle
					}
					for _, st := range steps {
						move(id, st.from, st.to, st.locked)
						moves.Add(1)
					}
					if steps[len(steps)-1].to == Done {
						// Removed by retention and enqueued anew: one
						// step here, under the lock as enqueue takes it.
						move(id, Done, Pending, true)
					}
				}
			}
		})
	}
	for range checks {
		if ds := duplicates(t, s); len(ds) > 0 {
			t.Errorf("Check reported jobs in two directories while they moved: %+v", ds)
		}
	}
	stop.Store(true)
	wg.Wait()
	if moves.Load() == 0 {
		t.Fatal("no job moved while Check ran")
	}
	t.Logf("%d checks over %d moves", checks, moves.Load())
}
