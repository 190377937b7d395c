// Package worker runs jobs from a spool: it waits for job files with file
// system notifications, claims them in priority order, runs each command in
// a process group of its own, and records the outcome with retries,
// exponential backoff and the dead letter queue.
package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queuectl/queuectl/internal/config"
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

	// spreadWindow is how many of the best due jobs (of one priority) a
	// polling worker picks from at random. Without notifications every
	// worker's index lags the spool by up to poll_interval, and workers
	// that all went for the best job would all but one lose its rename,
	// each loss costing round trips to a network file system. Priority
	// order holds; within a priority, claims may run this far out of order.
	spreadWindow = 8
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
	env       []string // the worker's environment, which every job's starts from
	devNull   *os.File // every job's standard input (nil: exec opens one per job)

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
	pick        *rand.Rand         // which of the first jobs a polling worker claims (see next); under mu
	lost        atomic.Int64       // claims lost to another claimer (the file was gone or locked)

	beating         atomic.Bool // the heartbeat goroutine runs
	beforeFirstScan func()      // tests: called before the first scan
}

type badFile struct {
	since  time.Time
	reason error
}

// New returns a worker; Run starts it.
func New(o Options) *Worker {
	host, _ := os.Hostname()
	w := &Worker{
		id: o.ID, s: o.Spool, spoolPath: spoolPath(o.Spool), path: o.ConfigPath, log: o.Log.With("worker", o.ID), host: host, env: os.Environ(),
		idx: newIndex(), wait: newWaiting(), pick: rand.New(rand.NewPCG(idSeed(o.ID))), bad: map[key]badFile{}, wake: make(chan struct{}, 1), beatNow: make(chan struct{}, 1), state: "idle",
	}
	w.cfg.Store(o.Config)
	o.Spool.SetLease(config.Seconds(o.Config.Lease))
	return w
}

// idSeed returns a seed for the worker's choice of jobs, from its id: a
// fixed sequence for one id, different sequences for different ids.
func idSeed(id string) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(id))
	a := h.Sum64()
	h.Write([]byte{0})
	return a, h.Sum64()
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
	if f, err := os.Open(os.DevNull); err == nil {
		w.devNull = f
		defer f.Close()
	}
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
	// Heartbeats from now on, before the first scan: on a network spool
	// reading every pending job can take longer than the lease, and a
	// worker whose heartbeat aged meanwhile would be taken for dead by the
	// other hosts as soon as it claims its first job.
	wg.Go(func() { w.heartbeats(bg, reg) })
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
	polling := watcher == nil // fixed from here on: read once, not per job
	w.recoverOrphans()
	if w.beforeFirstScan != nil {
		w.beforeFirstScan()
	}
	w.scan()
	lastScan := time.Now()
	if w.paused.Load() {
		w.log.Info("the spool is paused; no job is claimed until queuectl resume")
	}
	wg.Go(func() { w.keepMetricsFile(bg, reg) })
	wg.Go(func() { w.orphanScans(bg) })
	jan := newJanitor(w.s, w.Config, w.log) // retention (janitor.go)
	jan.start(&wg)
	defer jan.shutdown()

	for {
		if ctx.Err() != nil || w.draining.Load() || w.s.StopRequested(w.id) {
			w.setState("stopping", "", 0)
			_ = w.beat(reg)
			w.log.Info("worker stopped", "claims_lost", w.lost.Load())
			return nil
		}
		poll := w.rescanEvery()
		if lost := w.takeRescan(); lost || time.Since(lastScan) >= poll {
			w.scan()
			if lost || polling {
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
		var offered <-chan struct{} // nil (never ready) on notifications
		if polling {
			offered = w.s.Offered() // a job recovered by another worker of this process; before next
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
		case <-offered:
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

// orphanScans calls recoverOrphans every recoverEvery, and on a network
// spool also the moment a heartbeat of another host's worker that owns a
// job expires (see spool.UntilOrphanScan), until ctx ends.
func (w *Worker) orphanScans(ctx context.Context) {
	for {
		t := time.NewTimer(w.s.UntilOrphanScan(recoverEvery))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			w.recoverOrphans()
		}
	}
}

// heartbeats writes the heartbeat every heartbeatEvery, and after each
// change of state (beatSoon) but at most once per beatGap: the state of a
// busy worker changes with every job, and a file written per job would
// cost more than short jobs do. On a network spool only every
// heartbeatEvery (see beatOnChange). Until ctx ends.
func (w *Worker) heartbeats(ctx context.Context, reg *spool.Registration) {
	w.beating.Store(true)
	defer w.beating.Store(false)
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	var last time.Time
	onChange := w.beatOnChange()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.saveCounts(reg) // with the periodic beat: a crash loses at most heartbeatEvery of counts
		case <-w.beatNow:
			if !onChange {
				continue
			}
			if wait := beatGap - time.Since(last); wait > 0 {
				w.pause(ctx, wait)
			}
		}
		_ = w.beat(reg)
		last = time.Now()
	}
}

// beatOnChange reports whether a change of state is written to the
// heartbeat soon (see heartbeats), or only with the next periodic one: on a
// network spool, where each write of the heartbeat costs several round
// trips to the server and a busy worker's state changes twice a job, the
// state that others see lags by up to heartbeatEvery instead.
func (w *Worker) beatOnChange() bool { return !w.s.Network() }

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

// next returns the job to claim next: the best one due, or, when the
// worker polls (see spread), one of the first few of the best priority.
func (w *Worker) next() (key, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watching {
		return w.idx.next(time.Now())
	}
	if st, id, ok := w.s.TakeBack(); ok { // a job just recovered (see recoverOrphans)
		return key{st, id}, true
	}
	for {
		first := w.idx.firstReady(time.Now(), spreadWindow)
		if len(first) == 0 {
			return key{}, false
		}
		dropped := false
		for _, k := range first {
			if w.s.TakenRecently(k.state, k.id) { // by another worker of this process
				w.dropLocked(k)
				dropped = true
			}
		}
		if !dropped {
			return first[w.pick.IntN(len(first))], true
		}
	}
}

func (w *Worker) nextDue() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.idx.nextDue()
}
