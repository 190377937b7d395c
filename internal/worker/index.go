package worker

import (
	"cmp"
	"container/heap"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/spool"
)

// key names a claimable job file: its state directory and id.
type key struct {
	state spool.State
	id    string
}

// item is one claimable job in the index.
type item struct {
	key
	priority int
	due      time.Time // not claimed before (run_at); zero: at once
	order    time.Time // place among the ready jobs of its priority (job.Order)
	pos      int       // in its heap; -1 when in none
	ready    bool
}

// index keeps the claimable jobs (pending and failed) in claim order
// without rescanning directories: a ready heap ordered by priority, then
// order time (run_at, else created_at), then id, and a future heap of jobs
// not yet due, ordered by due time. Only the due time holds a job back. Adding, removing and taking cost O(log n).
type index struct {
	items  map[key]*item
	ready  readyHeap
	future futureHeap
}

func newIndex() *index {
	return &index{items: map[key]*item{}}
}

// put adds or updates a job, due at due and placed by order.
func (x *index) put(k key, priority int, due, order time.Time) {
	if it, ok := x.items[k]; ok {
		if it.priority == priority && it.due.Equal(due) && it.order.Equal(order) {
			return
		}
		x.remove(k)
	}
	it := &item{key: k, priority: priority, due: due, order: order}
	x.items[k] = it
	heap.Push(&x.future, it)
}

// remove drops a job, if present.
func (x *index) remove(k key) {
	it, ok := x.items[k]
	if !ok {
		return
	}
	delete(x.items, k)
	if it.ready {
		heap.Remove(&x.ready, it.pos)
	} else {
		heap.Remove(&x.future, it.pos)
	}
}

// postpone makes a job due no earlier than until.
func (x *index) postpone(k key, until time.Time) {
	if it, ok := x.items[k]; ok && it.due.Before(until) {
		x.remove(k)
		it := &item{key: k, priority: it.priority, due: until, order: it.order}
		x.items[k] = it
		heap.Push(&x.future, it)
	}
}

func (x *index) has(k key) bool {
	_, ok := x.items[k]
	return ok
}

// promote moves the jobs due at now from the future heap to the ready heap.
func (x *index) promote(now time.Time) {
	for len(x.future) > 0 && !x.future[0].due.After(now) {
		it := heap.Pop(&x.future).(*item)
		it.ready = true
		heap.Push(&x.ready, it)
	}
}

// next returns the best job due at now, without removing it.
func (x *index) next(now time.Time) (key, bool) {
	x.promote(now)
	if len(x.ready) == 0 {
		return key{}, false
	}
	return x.ready[0].key, true
}

// firstReady returns, in claim order, up to n of the best jobs due at now
// that share the best one's priority, without removing them. The heap is
// searched from its root, best first, so this costs O(n²) for a small n,
// whatever the size of the index.
func (x *index) firstReady(now time.Time, n int) []key {
	x.promote(now)
	if len(x.ready) == 0 || n <= 0 {
		return nil
	}
	top := x.ready[0].priority
	out := make([]key, 0, n)
	cand := []int{0} // positions in the heap whose parents are taken
	for len(out) < n && len(cand) > 0 {
		best := 0
		for i := 1; i < len(cand); i++ {
			if x.ready.Less(cand[i], cand[best]) {
				best = i
			}
		}
		pos := cand[best]
		cand = append(cand[:best], cand[best+1:]...)
		if x.ready[pos].priority != top {
			break // the best left is of a lower priority, and so is all the rest
		}
		out = append(out, x.ready[pos].key)
		for _, c := range []int{2*pos + 1, 2*pos + 2} {
			if c < len(x.ready) {
				cand = append(cand, c)
			}
		}
	}
	return out
}

// nextDue returns when the earliest job not yet due becomes due.
func (x *index) nextDue() (time.Time, bool) {
	if len(x.future) == 0 {
		return time.Time{}, false
	}
	return x.future[0].due, true
}

type readyHeap []*item

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	return cmp.Or(cmp.Compare(b.priority, a.priority), a.order.Compare(b.order), strings.Compare(a.id, b.id)) < 0
}
func (h readyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].pos = i; h[j].pos = j }
func (h *readyHeap) Push(v any)   { it := v.(*item); it.pos = len(*h); *h = append(*h, it) }
func (h *readyHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.pos, it.ready = -1, false
	return it
}

type futureHeap []*item

func (h futureHeap) Len() int { return len(h) }
func (h futureHeap) Less(i, j int) bool {
	return cmp.Or(h[i].due.Compare(h[j].due), strings.Compare(h[i].id, h[j].id)) < 0
}
func (h futureHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].pos = i; h[j].pos = j }
func (h *futureHeap) Push(v any)   { it := v.(*item); it.pos = len(*h); *h = append(*h, it) }
func (h *futureHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.pos = -1
	return it
}
