package worker

import (
	"errors"
	"maps"
	"slices"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Jobs that wait for others (--after) are kept out of the index, in a map
// from each dependency to the jobs that wait for it. The worker watches
// done/ and dead/ as well as the claimable directories: a dependency that
// moves into either (or is removed from done/ by purge or retention) is
// one notification, and only the jobs waiting for it are looked at again
// (see depChanged). A waiting job is never found by rescanning: a rescan
// passes over the jobs already known to wait, except where notifications
// are unavailable or were lost (see recheckDeps).
//
// A job looked at is registered as waiting before its dependencies are
// looked up, so that a dependency that ends between the lookup and the
// registration is not missed: its notification finds the job registered.
// It stays registered once it is ready (in the index) until it is claimed,
// so that a dependency removed from done/ before then (purge, retention)
// still buries it.

// waiting is the map of waiting jobs, guarded by Worker.mu.
type waiting struct {
	by   map[string]map[key]bool // dependency id to the jobs that wait for it
	jobs map[key][]string        // waiting job to its dependencies
}

func newWaiting() *waiting {
	return &waiting{by: map[string]map[key]bool{}, jobs: map[key][]string{}}
}

func (x *waiting) add(k key, after []string) {
	x.remove(k)
	x.jobs[k] = after
	for _, d := range after {
		if x.by[d] == nil {
			x.by[d] = map[key]bool{}
		}
		x.by[d][k] = true
	}
}

func (x *waiting) remove(k key) {
	for _, d := range x.jobs[k] {
		delete(x.by[d], k)
		if len(x.by[d]) == 0 {
			delete(x.by, d)
		}
	}
	delete(x.jobs, k)
}

func (x *waiting) has(k key) bool {
	_, ok := x.jobs[k]
	return ok
}

// of returns the jobs that wait for dep.
func (x *waiting) of(dep string) []key {
	return slices.Collect(maps.Keys(x.by[dep]))
}

// inspectWaiting handles a job j of file k that waits for its
// dependencies: it goes into the index once every one is done, to dead/ as
// soon as one is dead or gone, and otherwise stays registered as waiting.
func (w *Worker) inspectWaiting(k key, j *job.Job) {
	w.mu.Lock()
	delete(w.bad, k)
	w.idx.remove(k)
	w.wait.add(k, j.After)
	w.mu.Unlock()
	ready, dep, msg := w.depsVerdict(j.After)
	switch {
	case ready:
		w.mu.Lock()
		w.idx.put(k, j.Priority, j.Due(), j.Order())
		w.mu.Unlock()
		w.signal()
	case msg != "":
		w.mu.Lock()
		w.wait.remove(k)
		w.mu.Unlock()
		w.bury(k, dep, msg)
	}
}

// depsVerdict looks up the dependencies in after: ready when all are done;
// else the first that is dead or no longer exists, with the last_error of
// its waiting job; else (some still to run, or one that cannot be looked
// up now) neither, and the job waits.
func (w *Worker) depsVerdict(after []string) (ready bool, dep, msg string) {
	ready = true
	for _, d := range after {
		st, err := w.s.Find(d)
		if errors.Is(err, spool.ErrNotFound) {
			// Find may miss a job that moves against its order; look
			// again under the lock before calling it gone.
			st, err = w.s.FindSure(d)
		}
		switch {
		case errors.Is(err, spool.ErrNotFound):
			return false, d, spool.DependencyRemoved(d)
		case err != nil:
			ready = false // looked at again with the next notification or rescan
		case st == spool.Dead:
			return false, d, spool.DependencyFailed(d)
		case st != spool.Done:
			ready = false
		}
	}
	return ready, "", ""
}

// bury sends the waiting job of file k to dead/ because of dep. Of all the
// workers that try, one wins; the others find the file gone or busy. Its
// own waiting jobs follow with the notification of its move into dead/.
func (w *Worker) bury(k key, dep, msg string) {
	err := w.s.BuryWaiting(k.state, k.id, dep, msg)
	switch {
	case err == nil:
		w.log.Info("finished", "job", k.id, "from", k.state, "to", spool.Dead, "attempt", 0, "error", msg)
		// Nothing waits for a dependency that failed or went any more
		// (a job enqueued after it now is buried at once).
		w.s.ForgetWaiters(dep)
	case errors.Is(err, spool.ErrGone) || errors.Is(err, spool.ErrBusy):
	default:
		w.log.Error("cannot bury a job whose dependency failed", "job", k.id, "dependency", dep, "err", err)
	}
}

// depChanged looks again at the jobs waiting for job id, whose file came
// into done/ or dead/ or left done/.
func (w *Worker) depChanged(id string) {
	w.mu.Lock()
	ks := w.wait.of(id)
	w.mu.Unlock()
	for _, k := range ks {
		w.inspect(k.state, k.id+".json")
	}
}

// recheckDeps looks up every dependency that jobs wait for, where no
// notification may tell of their moves (notifications unavailable or
// lost): one lookup per dependency, not per waiting job.
func (w *Worker) recheckDeps() {
	w.mu.Lock()
	deps := slices.Collect(maps.Keys(w.wait.by))
	w.mu.Unlock()
	for _, d := range deps {
		st, err := w.s.Find(d)
		switch {
		case err != nil || st == spool.Dead:
			w.depChanged(d)
		case st == spool.Done:
			// Only the jobs not yet found ready.
			w.mu.Lock()
			var ks []key
			for _, k := range w.wait.of(d) {
				if !w.idx.has(k) {
					ks = append(ks, k)
				}
			}
			w.mu.Unlock()
			for _, k := range ks {
				w.inspect(k.state, k.id+".json")
			}
		}
	}
}
