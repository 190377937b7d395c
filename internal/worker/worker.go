// Package worker runs jobs from a spool: it waits for job files with file
// system notifications, claims them in priority order, runs each command in
// a process group of its own, and records the outcome with retries,
// exponential backoff and the dead letter queue.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Timing of the background roles.
const (
	heartbeatEvery  = 2 * time.Second
	recoverEvery    = time.Second
	quarantineGrace = 2 * time.Second // a file that does not parse may still be being written
	killGrace       = 2 * time.Second // between SIGTERM and SIGKILL
	busyRetry       = 50 * time.Millisecond
	claimRetry      = 10 * time.Second       // after a claim failed for another reason
	retryIOEvery    = time.Second            // when the disk is full or failing
	recordAfter     = 200 * time.Millisecond // see Lease.Record
	beatGap         = 100 * time.Millisecond // between heartbeats on changes of state
	outputGrace     = 100 * time.Millisecond // for the end of a job's output after its shell exits
	safetyRescan    = 30 * time.Second       // with file notifications (see rescanEvery)
	maxBatch        = 64                     // outcomes recorded together at most
	maxFaultPause   = 30 * time.Second       // the longest wait after faults of the worker's own (see backOff)
)

// Options configure a worker.
type Options struct {
	ID         string // worker id, a valid file name
	Spool      *spool.Spool
	Config     *config.Config // as read at start; reloaded when ConfigPath changes
	ConfigPath string         // watched for changes; it may not exist yet
	Log        *slog.Logger
}

// Worker runs jobs until its context ends or it is asked to stop.
type Worker struct {
	id        string
	s         *spool.Spool
	spoolPath string // absolute, given to jobs as QUEUECTL_JOB_SPOOL
	cfg       atomic.Pointer[config.Config]
	path      string
	log       *slog.Logger
	host      string

	beatMu   sync.Mutex  // one heartbeat write at a time, the latest state last
	outcomes chan ended  // to the finisher
	stuck    atomic.Bool // the finisher retries an outcome the disk refused
	draining atomic.Bool // Drain was called: claim nothing more
	paused   atomic.Bool // the spool's pause flag is set, as last seen
	reap     reaper      // kills the running job's process group if the worker dies
	mu       sync.Mutex
	idx      *index
	wait     *waiting        // jobs that wait for their dependencies (see deps.go)
	bad      map[key]badFile // files that did not parse, since when
	rescan   bool            // a full rescan is needed (events were lost)
	state    string
	job      string
	jobPID   int
	runs     uint64 // runs started, to tell them apart
	faults   int    // runs in a row that did not start for a fault of the worker's (main loop only)
	started  time.Time
	cancelID string        // the job whose cancel request ends the run (see armCancel)
	cancel   chan struct{} // closed when that request comes
	wake     chan struct{}
	beatNow  chan struct{} // ask the heartbeat goroutine for a write
	watching bool

	counts      counter            // runs by outcome (see countRun)
	hooks       hooks              // on_success, on_failure, on_dead (see queueHook)
	metricsLock *spool.MetricsLock // held while this worker keeps metrics_file
	metricsErr  string             // the last error writing metrics_file
	cfgSeen     configStamp        // the configuration file as last polled (see pollConfig)
}

type badFile struct {
	since  time.Time
	reason error
}

// New returns a worker; Run starts it.
func New(o Options) *Worker {
	host, _ := os.Hostname()
	w := &Worker{
		id: o.ID, s: o.Spool, spoolPath: spoolPath(o.Spool), path: o.ConfigPath, log: o.Log.With("worker", o.ID), host: host,
		idx: newIndex(), wait: newWaiting(), bad: map[key]badFile{}, wake: make(chan struct{}, 1), beatNow: make(chan struct{}, 1), state: "idle",
	}
	w.cfg.Store(o.Config)
	o.Spool.SetLease(config.Seconds(o.Config.Lease))
	return w
}

// ID returns the worker's id.
func (w *Worker) ID() string { return w.id }

// Config returns the configuration in effect, as last reloaded.
func (w *Worker) Config() *config.Config { return w.cfg.Load() }

// Drain asks the worker to claim no more jobs and to return from Run once
// its running job has ended, as a stop flag does. It does not wait.
func (w *Worker) Drain() {
	w.draining.Store(true)
	w.signal()
}

// StopRequested reports whether the worker's stop flag is set: worker stop
// asked it to finish.
func (w *Worker) StopRequested() bool { return w.s.StopRequested(w.id) }

// Run registers the worker and runs jobs until ctx ends (the job running
// then is ended and put back, its run not counted) or a stop flag or Drain
// asks it to stop (the job running then is finished first).
func (w *Worker) Run(ctx context.Context) error {
	if err := w.s.CheckPrivate(); err != nil {
		return err
	}
	reg, err := w.s.Register(w.id)
	if err != nil {
		return err
	}
	defer w.unregister(reg)
	w.started = time.Now().UTC()
	if err := w.beat(reg); err != nil {
		return fmt.Errorf("worker %s: heartbeat: %w", w.id, err)
	}
	w.log.Info("worker started", "pid", os.Getpid(), "spool", w.s.Root())

	bg, stopBg := context.WithCancel(context.Background())
	var wg, finished sync.WaitGroup
	w.outcomes = make(chan ended, maxBatch)
	w.s.KeepRecords() // dropped after the finisher's last commit (below)
	stopHooks := w.startHooks()
	finished.Go(func() { w.finisher(ctx, w.outcomes) })
	defer func() {
		close(w.outcomes)
		finished.Wait() // before the registration goes
		w.s.DropRecords()
		stopHooks()
		stopBg()
		wg.Wait()
		w.reap.close()
	}()
	w.pollConfig() // the stamp to compare with
	watcher, err := w.watch()
	switch {
	case watcher == nil && err == nil:
		w.log.Info("not relying on file notifications (network file system or watch = false); rescanning every poll_interval",
			"network", w.s.Network(), "poll_interval", w.cfg.Load().PollInterval)
	case err != nil:
		w.log.Warn("file notifications unavailable; rescanning every poll_interval", "err", err)
	default:
		defer watcher.Close()
		wg.Go(func() { w.events(bg, watcher) })
	}
	w.recoverOrphans()
	w.scan()
	lastScan := time.Now()
	if w.paused.Load() {
		w.log.Info("the spool is paused; no job is claimed until queuectl resume")
	}
	wg.Go(func() { w.heartbeats(bg, reg) })
	wg.Go(func() { w.keepMetricsFile(bg, reg) })
	wg.Go(func() { w.every(bg, recoverEvery, w.recoverOrphans) })
	jan := newJanitor(w.s, w.Config, w.log) // retention (janitor.go)
	jan.start(&wg)
	defer jan.shutdown()

	for {
		if ctx.Err() != nil || w.draining.Load() || w.s.StopRequested(w.id) {
			w.setState("stopping", "", 0)
			_ = w.beat(reg)
			w.log.Info("worker stopped")
			return nil
		}
		poll := w.rescanEvery()
		if lost := w.takeRescan(); lost || time.Since(lastScan) >= poll {
			w.scan()
			if lost || !w.isWatching() {
				w.recheckDeps() // no notification may tell of their moves
			}
			lastScan = time.Now()
		}
		if due, ok := w.badDue(); ok && !due.After(time.Now()) {
			w.checkBad()
		}
		if w.stuck.Load() {
			w.pause(ctx, retryIOEvery) // an outcome waits for the disk (see finish)
			continue
		}
		paused := w.paused.Load()
		if !paused {
			if k, ok := w.next(); ok {
				w.runOne(ctx, reg, k)
				continue
			}
		}
		wait := poll - time.Since(lastScan)
		if due, ok := w.nextDue(); ok && !paused && time.Until(due) < wait {
			wait = time.Until(due)
		}
		if due, ok := w.badDue(); ok && time.Until(due) < wait {
			wait = time.Until(due)
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// rescanEvery returns the time between rescans of the claimable
// directories: poll_interval without file notifications; with them, a
// rescan is only a safety net (a lost event, a directory replaced), and
// one costs a listing of every pending job, so it comes seldom. A lost
// event that the kernel reports (a queue overflow) triggers a rescan at
// once.
func (w *Worker) rescanEvery() time.Duration {
	poll := config.Seconds(w.cfg.Load().PollInterval)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watching && w.cfg.Load().Watch {
		return max(poll, safetyRescan)
	}
	return poll
}

// every calls f every d until ctx ends.
func (w *Worker) every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// heartbeats writes the heartbeat every heartbeatEvery, and after each
// change of state (beatSoon) but at most once per beatGap: the state of a
// busy worker changes with every job, and a file written per job would
// cost more than short jobs do. Until ctx ends.
func (w *Worker) heartbeats(ctx context.Context, reg *spool.Registration) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.saveCounts(reg) // with the periodic beat: a crash loses at most heartbeatEvery of counts
		case <-w.beatNow:
			if wait := beatGap - time.Since(last); wait > 0 {
				w.pause(ctx, wait)
			}
		}
		_ = w.beat(reg)
		last = time.Now()
	}
}

func (w *Worker) beatSoon() {
	select {
	case w.beatNow <- struct{}{}:
	default:
	}
}

func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) setState(state, job string, pid int) {
	w.mu.Lock()
	w.state, w.job, w.jobPID = state, job, pid
	w.mu.Unlock()
}

func (w *Worker) beat(reg *spool.Registration) error {
	w.beatMu.Lock()
	defer w.beatMu.Unlock()
	w.mu.Lock()
	hb := spool.Heartbeat{
		PID: os.Getpid(), Host: w.host, State: w.state, Job: w.job, JobPID: w.jobPID,
		StartedAt: w.started, HeartbeatAt: time.Now().UTC(),
	}
	w.mu.Unlock()
	return reg.Beat(hb)
}

func (w *Worker) takeRescan() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.rescan
	w.rescan = false
	return r
}

func (w *Worker) next() (key, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.idx.next(time.Now())
}

func (w *Worker) nextDue() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.idx.nextDue()
}

// watch starts notifications on the claimable directories, on done/ and
// dead/ (the moves that waiting jobs wait for), the workers directory (stop
// flags) and the configuration file's directory.
// It returns nil and no error where notifications are not to be relied on.
func (w *Worker) watch() (*fsnotify.Watcher, error) {
	if !w.notifications() {
		return nil, nil
	}
	watcher, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, err
	}
	dirs := []string{w.s.StateDir(spool.Pending), w.s.StateDir(spool.Failed), w.s.StateDir(spool.Done), w.s.StateDir(spool.Dead), w.s.WorkerDir()}
	if w.path != "" {
		dirs = append(dirs, filepath.Dir(w.path))
	}
	for _, d := range dirs {
		if err := watcher.Add(d); err != nil {
			watcher.Close()
			return nil, err
		}
	}
	w.mu.Lock()
	w.watching = true
	w.mu.Unlock()
	return watcher, nil
}

// events applies notifications to the index until ctx ends.
func (w *Worker) events(ctx context.Context, watcher *fsnotify.Watcher) {
	pending, failed := w.s.StateDir(spool.Pending), w.s.StateDir(spool.Failed)
	done, dead := w.s.StateDir(spool.Done), w.s.StateDir(spool.Dead)
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-watcher.Errors:
			if !ok {
				return
			}
			// Most often an overflow of the kernel's event queue: events
			// were lost, so look at everything again.
			w.log.Warn("file notifications lost; rescanning", "err", err)
			w.mu.Lock()
			w.rescan = true
			w.mu.Unlock()
			w.signal()
		case ev, ok := <-watcher.Events:
			if !ok {
				return
			}
			dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
			switch {
			case dir == pending:
				w.update(spool.Pending, name, ev.Op)
			case dir == failed:
				w.update(spool.Failed, name, ev.Op)
			case dir == done || dir == dead:
				if id, err := spool.IDFromName(name); err == nil {
					w.depChanged(id)
				}
			case dir == w.s.WorkerDir():
				switch {
				case spool.IsStopFlag(name, w.id):
					w.signal()
				case spool.IsPauseFlag(name):
					w.notePaused()
				default:
					if id, ok := spool.CancelFlagJob(name); ok && ev.Op.Has(fsnotify.Create) {
						w.cancelRequested(id)
					}
				}
			case w.path != "" && name == filepath.Base(w.path):
				w.reloadConfig()
			}
		}
	}
}

// update applies one notification about a claimable directory.
func (w *Worker) update(st spool.State, name string, op fsnotify.Op) {
	if spool.Ignored(name) {
		return
	}
	if op.Has(fsnotify.Create) || op.Has(fsnotify.Write) {
		w.inspect(st, name)
		return
	}
	if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
		// Renamed away or removed; if a new file took the name, its
		// Create event follows.
		k := w.keyOf(st, name)
		w.mu.Lock()
		w.idx.remove(k)
		w.wait.remove(k)
		delete(w.bad, k)
		w.mu.Unlock()
	}
}

// keyOf returns the index key of a file name; names that cannot be ids
// are keyed by the whole name.
func (w *Worker) keyOf(st spool.State, name string) key {
	if id, err := spool.IDFromName(name); err == nil {
		return key{st, id}
	}
	return key{st, "\x00" + name}
}

// inspect reads one file of a claimable directory into the index, or notes
// it as bad; entries that can never become jobs are quarantined at once.
func (w *Worker) inspect(st spool.State, name string) {
	k := w.keyOf(st, name)
	j, err := w.s.Peek(st, name)
	if err == nil && j.Waits() {
		w.inspectWaiting(k, j)
		return
	}
	w.mu.Lock()
	w.wait.remove(k) // no job, or one that no longer waits
	w.mu.Unlock()
	switch {
	case err == nil:
		w.mu.Lock()
		delete(w.bad, k)
		w.idx.put(k, j.Priority, j.Due(), j.Order())
		w.mu.Unlock()
		w.signal()
	case errors.Is(err, fs.ErrNotExist):
		w.mu.Lock()
		w.idx.remove(k)
		delete(w.bad, k)
		w.mu.Unlock()
	case errors.Is(err, spool.ErrNotRegular) || errors.Is(err, job.ErrTooLarge):
		w.mu.Lock()
		w.idx.remove(k)
		delete(w.bad, k)
		w.mu.Unlock()
		w.quarantine(st, name, err)
	default:
		w.mu.Lock()
		w.idx.remove(k)
		b, seen := w.bad[k]
		if !seen {
			b.since = time.Now()
		}
		b.reason = err // the latest reason: the file may still have been growing before
		w.bad[k] = b
		w.mu.Unlock()
		if !seen {
			w.signal() // the main loop waits for its grace to end
		}
	}
}

func (w *Worker) quarantine(st spool.State, name string, reason error) {
	got, err := w.s.Quarantine(st, name, reason.Error())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		w.log.Error("cannot quarantine", "file", name, "from", st, "err", err)
	default:
		w.log.Warn("rejected", "file", name, "from", st, "to", "rejected/"+got, "reason", reason.Error())
	}
}

// notePaused reads the pause flag again after a change (or at a rescan),
// and logs and wakes the main loop when it has changed.
func (w *Worker) notePaused() {
	now := w.s.Paused()
	if w.paused.Swap(now) != now {
		if now {
			w.log.Info("paused: no new jobs until queuectl resume")
		} else {
			w.log.Info("resumed")
		}
		w.signal()
	}
}

// scan reads the claimable directories and brings the index in line with
// them: new files are read, vanished ones dropped, bad ones quarantined
// once their grace period is over. Files already indexed are not read
// again. It reads the pause flag too, and without notifications the
// configuration file.
func (w *Worker) scan() {
	w.notePaused()
	if !w.isWatching() {
		w.pollConfig()
	}
	for _, st := range []spool.State{spool.Pending, spool.Failed} {
		names, err := w.s.Names(st)
		if err != nil {
			w.log.Error("rescan", "state", st, "err", err)
			continue
		}
		present := make(map[key]bool, len(names))
		for _, name := range names {
			k := w.keyOf(st, name)
			present[k] = true
			w.mu.Lock()
			known := w.idx.has(k) || w.wait.has(k) // a waiting job is not looked at again
			_, isBad := w.bad[k]
			w.mu.Unlock()
			if !known && !isBad { // a bad file waits for checkBad
				w.inspect(st, name)
			}
		}
		var gone []key
		w.mu.Lock()
		for k := range w.idx.items {
			if k.state == st && !present[k] {
				gone = append(gone, k)
			}
		}
		for k := range w.wait.jobs {
			if k.state == st && !present[k] {
				gone = append(gone, k)
			}
		}
		w.mu.Unlock()
		for _, k := range gone {
			// An event may have added the file after the listing: drop
			// only what is really gone.
			if _, err := os.Lstat(w.s.Path(st, k.id)); err == nil {
				continue
			}
			w.drop(k)
		}
		w.mu.Lock()
		for k := range w.bad {
			if k.state == st && !present[k] {
				delete(w.bad, k)
			}
		}
		w.mu.Unlock()
	}
}

// badDue returns when the grace of the oldest bad file ends.
func (w *Worker) badDue() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, b := range w.bad {
		if first.IsZero() || b.since.Before(first) {
			first = b.since
		}
	}
	return first.Add(quarantineGrace), !first.IsZero()
}

// checkBad looks again at the files that did not parse once their grace
// is over, and quarantines those that still do not, with the reason they
// have then.
func (w *Worker) checkBad() {
	var due []key
	w.mu.Lock()
	for k, b := range w.bad {
		if time.Since(b.since) >= quarantineGrace {
			due = append(due, k)
		}
	}
	w.mu.Unlock()
	for _, k := range due {
		name := k.id + ".json"
		if n, ok := strings.CutPrefix(k.id, "\x00"); ok {
			name = n
		}
		w.inspect(k.state, name)
		w.mu.Lock()
		b, still := w.bad[k]
		delete(w.bad, k)
		w.mu.Unlock()
		if still {
			w.quarantine(k.state, name, b.reason)
		}
	}
}

// reloadConfig reads the configuration file again after it changed; a
// broken file is reported and the previous configuration kept.
func (w *Worker) reloadConfig() {
	c, err := config.Load(w.path)
	if err != nil {
		w.log.Error("configuration not reloaded", "err", err)
		return
	}
	if *c != *w.cfg.Load() {
		w.cfg.Store(c)
		w.s.SetLease(config.Seconds(c.Lease))
		w.log.Info("configuration reloaded", "file", w.path)
		w.signal()
	}
}

// recoverOrphans puts back the jobs of dead workers.
func (w *Worker) recoverOrphans() {
	if RecoverOrphans(w.s, w.cfg.Load().MaxRetries, w.cfg.Load().MaxInterrupts, w.log) > 0 {
		if !w.isWatching() {
			// No event will tell of the jobs put back: look at once.
			w.mu.Lock()
			w.rescan = true
			w.mu.Unlock()
		}
		w.signal()
	}
}

// RecoverOrphans puts back every job in processing/ whose owner is dead,
// after killing what is left of its run, and returns how many it moved.
// Files that are not valid jobs are quarantined.
func RecoverOrphans(s *spool.Spool, maxRetries, maxInterrupts int, log *slog.Logger) int {
	ids, err := s.Orphans()
	if err != nil {
		log.Error("looking for orphans", "err", err)
		return 0
	}
	n := 0
	for _, id := range ids {
		killLeftovers(s, id)
		j, st, err := s.Recover(id, maxRetries, maxInterrupts)
		var inv *spool.InvalidError
		switch {
		case errors.Is(err, spool.ErrBusy) || errors.Is(err, spool.ErrGone):
		case errors.As(err, &inv):
			if got, err := s.Quarantine(spool.Processing, id+".json", inv.Reason.Error()); err == nil {
				log.Warn("rejected", "file", id+".json", "from", spool.Processing, "to", "rejected/"+got, "reason", inv.Reason.Error())
			}
		case err != nil:
			log.Error("recover", "job", id, "err", err)
		default:
			n++
			log.Warn("recovered", "job", id, "from", spool.Processing, "to", st, "attempt", j.Attempts, "dead_worker", j.Worker)
		}
	}
	return n
}

// spoolPath returns the spool's absolute path, which jobs get as
// QUEUECTL_JOB_SPOOL (not QUEUECTL_SPOOL, which would point a queuectl
// that the job runs at this spool).
func spoolPath(s *spool.Spool) string {
	if abs, err := filepath.Abs(s.Root()); err == nil {
		return abs
	}
	return s.Root()
}

// killLeftovers kills what is left of the run of job id by a dead worker,
// so that a recovered job never runs twice at the same time: the process
// groups of processes whose environment names this spool, the job, and a
// worker that is not alive. A pid alone may have been reused; that
// environment cannot. (Ids are unique within a spool, not across spools.)
func killLeftovers(s *spool.Spool, id string) {
	for _, g := range leftovers(spoolPath(s), id, func(w string) bool { return !s.WorkerAlive(w) }) {
		_ = KillGroup(g)
	}
}

// backoff returns the wait after the n-th failed run:
// min(backoff_max, retry_delay × backoff_base^n) seconds.
func backoff(c *config.Config, n int) time.Duration {
	s := c.RetryDelay * math.Pow(c.BackoffBase, float64(n))
	if math.IsInf(s, 0) || math.IsNaN(s) || s > c.BackoffMax {
		s = c.BackoffMax
	}
	return config.Seconds(s)
}

// retryDelay returns the wait after the n-th failed run: the backoff,
// times a random factor in [1, 1 + backoff_jitter), so that jobs that
// failed together are not retried together, and never earlier than the
// backoff says.
func retryDelay(c *config.Config, n int) time.Duration {
	return jittered(backoff(c, n), c.BackoffJitter, rand.Float64())
}

// jittered returns d times 1 + jitter × r, for r in [0, 1).
func jittered(d time.Duration, jitter, r float64) time.Duration {
	if jitter <= 0 || d <= 0 {
		return d
	}
	f := float64(d) * (1 + jitter*r)
	if f >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return max(time.Duration(f), d)
}

// noRetry says why a failure with exitCode is not to be retried: its code
// is in the job's no_retry_on or in no_retry_exit_codes; "" if it is to be
// retried.
func noRetry(c *config.Config, j *job.Job, exitCode *int) string {
	switch {
	case exitCode == nil:
		return ""
	case slices.Contains(j.NoRetryOn, *exitCode):
		return fmt.Sprintf("not retried: exit code %d is in the job's no_retry_on", *exitCode)
	case c.NoRetry.Has(*exitCode):
		return fmt.Sprintf("not retried: exit code %d is in no_retry_exit_codes", *exitCode)
	}
	return ""
}

// jobEnv returns a job's env as NAME=VALUE entries, sorted by name.
func jobEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
