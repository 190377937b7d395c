package worker

import (
	"context"
	"sync"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/metrics"
	"github.com/queuectl/queuectl/internal/spool"
)

// metricsEvery is how often the worker that holds the metrics lock
// rewrites metrics_file.
const metricsEvery = 15 * time.Second

// counter holds a worker's counts of runs (see spool.Counts): updated in
// memory as outcomes are recorded, saved to the worker's file with the
// heartbeat and at exit, folded into the spool's totals when the worker's
// files go.
type counter struct {
	mu    sync.Mutex
	c     spool.Counts
	dirty bool // counted since the last save
	save  sync.Mutex
}

// countRun counts the recorded outcome of a run, in memory.
func (w *Worker) countRun(j *job.Job, out outcome) {
	o := outcomeOf(j, out)
	if o == "" {
		return
	}
	took := j.FinishedAt.Sub(j.StartedAt)
	if j.StartedAt.IsZero() || j.FinishedAt.IsZero() {
		took = 0
	}
	w.counts.mu.Lock()
	metrics.Observe(&w.counts.c, o, took)
	w.counts.dirty = true
	w.counts.mu.Unlock()
}

// outcomeOf names the outcome of a recorded run for the counters; "" for
// a run that never started (a fault of the worker's).
func outcomeOf(j *job.Job, out outcome) string {
	switch {
	case out.stopped && out.fault:
		return ""
	case out.stopped:
		return metrics.Stopped
	case out.ok:
		return metrics.Done
	case j.State == string(spool.Dead) && j.LastError == "cancelled":
		return metrics.Cancelled
	case j.State == string(spool.Dead):
		return metrics.Dead
	}
	return metrics.Failed
}

// saveCounts writes the worker's counts to its file if they changed since
// the last save.
func (w *Worker) saveCounts(reg *spool.Registration) {
	w.counts.save.Lock()
	defer w.counts.save.Unlock()
	w.counts.mu.Lock()
	if !w.counts.dirty {
		w.counts.mu.Unlock()
		return
	}
	c := w.counts.c.Clone()
	w.counts.dirty = false
	w.counts.mu.Unlock()
	if err := reg.SaveCounts(c); err != nil {
		w.counts.mu.Lock()
		w.counts.dirty = true // next time
		w.counts.mu.Unlock()
		w.log.Warn("cannot save the run counters yet", "err", err)
	}
}

// unregister ends the worker's registration once its outcomes are all
// recorded: its counts saved and folded into the spool's totals, its files
// removed, and metrics_file written once more if this worker keeps it, or
// can take it over (the worker that kept it is gone): so the last worker
// out leaves the file with every run counted.
func (w *Worker) unregister(reg *spool.Registration) {
	w.saveCounts(reg)
	if err := reg.Close(); err != nil {
		w.log.Warn("closing the registration", "err", err)
	}
	if w.metricsLock == nil && w.cfg.Load().Metrics() != "" {
		if lock, ok, _ := w.s.TryLockMetrics(); ok {
			w.metricsLock = lock
		}
	}
	if w.metricsLock != nil {
		w.writeMetricsFile()
		w.metricsLock.Release()
		w.metricsLock = nil
	}
}

// keepMetricsFile rewrites metrics_file every metricsEvery while one is
// configured and this worker holds the metrics lock (one worker of the
// spool at a time: the others try again each time), until ctx ends.
func (w *Worker) keepMetricsFile(ctx context.Context, reg *spool.Registration) {
	t := time.NewTicker(metricsEvery)
	defer t.Stop()
	for {
		if w.cfg.Load().Metrics() == "" {
			if w.metricsLock != nil {
				w.metricsLock.Release()
				w.metricsLock = nil
			}
		} else {
			if w.metricsLock == nil {
				lock, ok, err := w.s.TryLockMetrics()
				if err != nil {
					w.log.Warn("metrics lock", "err", err)
				}
				if ok {
					w.metricsLock = lock
				}
			}
			if w.metricsLock != nil {
				w.saveCounts(reg)
				w.writeMetricsFile()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writeMetricsFile writes metrics_file; an error is logged when it differs
// from the last one, not every 15 s.
func (w *Worker) writeMetricsFile() {
	path := w.cfg.Load().Metrics()
	if path == "" {
		return
	}
	err := metrics.WriteFile(path, w.s, time.Now().UTC())
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != w.metricsErr {
		if err != nil {
			w.log.Warn("cannot write metrics_file", "file", path, "err", err)
		} else if w.metricsErr != "" {
			w.log.Info("metrics_file written again", "file", path)
		}
		w.metricsErr = msg
	}
}
