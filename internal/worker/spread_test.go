package worker

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// TestPollingWorkersSpreadTheirClaims: workers that poll (watch = false,
// or a network spool) pick among the first few due jobs of the best
// priority instead of all going for the same one, whose rename all but one
// would lose; a job of a higher priority still comes first for all of
// them, and workers on notifications keep the strict order.
func TestPollingWorkersSpreadTheirClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := time.Now().Add(-time.Hour)
	for i := range 20 {
		e.enqueue(&job.Job{ID: fmt.Sprintf("j%02d", i), Command: "true", CreatedAt: base.Add(time.Duration(i) * time.Second)})
	}
	e.enqueue(&job.Job{ID: "urgent", Command: "true", Priority: 5, CreatedAt: base.Add(time.Minute)})
	window := map[string]bool{}
	for i := range spreadWindow {
		window[fmt.Sprintf("j%02d", i)] = true
	}
	for _, tc := range []struct {
		name     string
		watching bool
	}{
		{name: "polling", watching: false},
		{name: "watching", watching: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			picked := map[string]int{}
			for i := range 8 {
				w := New(Options{ID: fmt.Sprintf("host-%d-%s", i, tc.name), Spool: e.s, Config: e.cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
				w.watching = tc.watching
				w.scan()
				k, ok := w.next()
				if !ok || k.id != "urgent" {
					t.Fatalf("worker %d: first pick %q (%v), want the higher priority job", i, k.id, ok)
				}
				w.drop(k)
				k, ok = w.next()
				if !ok {
					t.Fatalf("worker %d: nothing to pick", i)
				}
				if tc.watching && k.id != "j00" {
					t.Errorf("worker %d on notifications picked %s, want the oldest job, j00", i, k.id)
				}
				if !window[k.id] {
					t.Errorf("worker %d picked %s, outside the first %d jobs", i, k.id, spreadWindow)
				}
				picked[k.id]++
			}
			if !tc.watching && len(picked) < 3 {
				t.Errorf("8 polling workers picked only %v: they would lose each other's renames", picked)
			}
		})
	}
}

// TestIndexFirstReady: the first jobs of the best priority, in claim order,
// whatever the shape of the heap.
func TestIndexFirstReady(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		name string
		n    int
		want int
	}{
		{name: "fewer than there are", n: 5, want: 5},
		{name: "all of the best priority", n: 50, want: 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newIndex()
			// Inserted in an order that scatters the best ones over the heap.
			for i := 29; i >= 0; i-- {
				x.put(key{"pending", fmt.Sprintf("a%02d", i)}, 1, time.Time{}, now.Add(time.Duration(i)*time.Second))
				x.put(key{"pending", fmt.Sprintf("b%02d", i)}, 0, time.Time{}, now.Add(-time.Hour))
			}
			x.put(key{"pending", "later"}, 1, now.Add(time.Hour), now)
			got := x.firstReady(now, tc.n)
			if len(got) != tc.want {
				t.Fatalf("got %d jobs, want %d: %v", len(got), tc.want, got)
			}
			for i, k := range got {
				if want := fmt.Sprintf("a%02d", i); k.id != want {
					t.Errorf("position %d: %s, want %s", i, k.id, want)
				}
			}
		})
	}
}
