package worker

import (
	"context"
	"errors"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
)

// setOutcome sets the outcome of a run on its lease, for Commit. A failure
// whose exit code is in no_retry_exit_codes or the job's no_retry_on sends
// the job to dead/ at once; any other is retried after the backoff, with
// jitter, until its retries are spent.
func setOutcome(l *spool.Lease, out outcome, cfg *config.Config) {
	switch {
	case out.ok:
		l.SetComplete(out.output)
	case out.stopped:
		l.SetStopped()
	case out.cancelled:
		l.SetCancelled(out.output, !out.notRun)
	default:
		if why := noRetry(cfg, l.Job, out.exitCode); why != "" {
			l.SetFailFinal(out.msg+"; "+why, out.exitCode, out.output)
			return
		}
		l.SetFail(out.msg, out.exitCode, out.output, cfg.MaxRetries, retryDelay(cfg, l.Job.Attempts))
	}
}

// ended is a run whose outcome is to be recorded.
type ended struct {
	lease *spool.Lease
	out   outcome
	run   uint64 // the worker's run number (see Worker.run)
}

// finisher records the outcomes of runs, as many at a time as have ended,
// until in is closed.
func (w *Worker) finisher(ctx context.Context, in <-chan ended) {
	for e := range in {
		batch := []ended{e}
	more:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		w.finishAll(ctx, batch)
	}
}

// finishAll records the outcomes of batch together; one that fails is
// tried again on its own.
func (w *Worker) finishAll(ctx context.Context, batch []ended) {
	cfg := w.cfg.Load()
	leases := make([]*spool.Lease, len(batch))
	for i, e := range batch {
		leases[i] = e.lease
		setOutcome(e.lease, e.out, cfg)
	}
	errs := w.s.Commit(leases...)
	for i, e := range batch {
		if errs[i] == nil {
			w.recorded(e.lease, e.out)
		} else {
			w.finish(ctx, e.lease, e.out)
		}
		w.mu.Lock()
		still := w.runs == e.run // no other run started since
		if still {
			w.state, w.job, w.jobPID = "idle", "", 0
		}
		w.mu.Unlock()
		if still {
			w.beatSoon()
		}
	}
	w.signal()
}

// logFinished logs the recorded outcome of a run.
func (w *Worker) logFinished(lease *spool.Lease, out outcome) {
	j := lease.Job
	args := []any{"job", j.ID, "from", spool.Processing, "to", j.State, "attempt", j.Attempts}
	if !out.ok {
		args = append(args, "error", j.LastError)
	}
	if j.State == string(spool.Failed) {
		args = append(args, "retry_at", j.RunAt.Format(time.RFC3339Nano))
	}
	w.log.Info("finished", args...)
	w.countRun(j, out)
	w.queueHook(j, out)
}

// finish records the outcome. A write that fails for lack of space or an
// I/O error is tried again until it succeeds: the job stays leased in the
// meantime, and is not run again.
func (w *Worker) finish(ctx context.Context, lease *spool.Lease, out outcome) {
	j := lease.Job
	for {
		setOutcome(lease, out, w.cfg.Load())
		err := w.s.Commit(lease)[0]
		if err == nil {
			w.stuck.Store(false)
			w.recorded(lease, out)
			return
		}
		if errors.Is(err, spool.ErrRemoved) {
			w.stuck.Store(false)
			w.log.Warn("the job's file was removed from processing/ while it ran; its outcome is dropped", "job", j.ID, "outcome", summary(out))
			lease.Release()
			return
		}
		if !spool.IsTemporary(err) || ctx.Err() != nil {
			w.stuck.Store(false)
			w.log.Error("cannot record outcome; the job will be recovered", "job", j.ID, "err", err)
			lease.Release()
			return
		}
		// No new job starts meanwhile: its outcome could not be stored
		// either, and it would run again after a crash.
		w.stuck.Store(true)
		w.log.Warn("cannot record outcome yet; retrying", "job", j.ID, "err", err)
		w.pause(ctx, retryIOEvery)
	}
}
