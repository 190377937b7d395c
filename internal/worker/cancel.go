package worker

import (
	"context"
	"errors"
	"os/exec"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
)

// Cancel cancels job id and returns once it is settled. A job that waits
// (pending, scheduled or failed) goes to dead/ as cancelled at once. For a
// running one a cancel request is written (see spool.RequestCancel); its
// worker ends the run and buries the job, and Cancel waits for that,
// driven by notifications on the state directories (a rescan every
// poll_interval where there are none). If the worker has died, Cancel
// recovers the job itself, honouring the request, rather than wait for
// another worker. It returns the state the job is in (done or dead) and
// whether the cancel did it: false for a job that had ended before, even
// just before the request reached it. The error matches spool.ErrNotFound
// for an unknown id.
func Cancel(ctx context.Context, s *spool.Spool, id string, cfg *config.Config) (spool.State, bool, error) {
	var changes *spool.Changes
	var orphanCheck <-chan time.Time
	defer func() {
		if changes != nil {
			changes.Close()
		}
	}()
	requested := false
	settled := func(st spool.State, cancelled bool) (spool.State, bool, error) {
		if requested {
			s.ClearCancel(id)
		}
		return st, cancelled, nil
	}
	for {
		st, err := s.Find(id)
		if err != nil {
			return "", false, err
		}
		switch st {
		case spool.Done:
			return settled(st, false)
		case spool.Dead:
			if !requested {
				return settled(st, false)
			}
			j, err := s.Read(spool.Dead, id)
			if err != nil {
				return "", false, err
			}
			return settled(st, j.LastError == spool.Cancelled)
		case spool.Pending, spool.Failed:
			err := s.CancelWaiting(st, id)
			switch {
			case err == nil:
				return settled(spool.Dead, true)
			case errors.Is(err, spool.ErrGone):
				continue // claimed meanwhile: look again
			case !errors.Is(err, spool.ErrBusy):
				return "", false, err
			}
			// Locked by a worker that claims it, or puts it back: soon
			// it is elsewhere, or free.
			pause(ctx, busyRetry)
			if ctx.Err() != nil {
				return "", false, ctx.Err()
			}
			continue
		}
		// Running.
		if changes == nil {
			// Watch first, then look again: whatever happens to the job
			// after that look is told.
			changes = s.Watch(config.Seconds(cfg.PollInterval), false, spool.Pending, spool.Failed, spool.Done, spool.Dead)
			t := time.NewTicker(recoverEvery)
			defer t.Stop()
			orphanCheck = t.C
			continue
		}
		if !requested {
			if err := s.RequestCancel(id); err != nil {
				return "", false, err
			}
			requested = true
		}
		if s.Orphaned(id) {
			killLeftovers(s, id)
			_, _, err := s.Recover(id, cfg.MaxRetries, cfg.MaxInterrupts)
			if err != nil && !errors.Is(err, spool.ErrBusy) && !errors.Is(err, spool.ErrGone) {
				return "", false, err
			}
			continue
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				// The request stays: the worker, or recovery, carries it
				// out without this command.
				return "", false, ctx.Err()
			case <-orphanCheck:
				break wait
			case changed := <-changes.C:
				if changed == "" || changed == id {
					break wait
				}
			}
		}
	}
}

// pause waits for d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// armCancel makes a cancel request for job id end the run that starts now
// (see events, cancelRequested); the channel is closed when it comes.
func (w *Worker) armCancel(id string) <-chan struct{} {
	ch := make(chan struct{})
	w.mu.Lock()
	w.cancelID, w.cancel = id, ch
	w.mu.Unlock()
	return ch
}

// disarmCancel ends what armCancel started, once the run has its outcome.
func (w *Worker) disarmCancel() {
	w.mu.Lock()
	w.cancelID, w.cancel = "", nil
	w.mu.Unlock()
}

// cancelRequested tells the running job that a cancel request for job id
// has come, if it is that job.
func (w *Worker) cancelRequested(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil && w.cancelID == id {
		close(w.cancel)
		w.cancel = nil
	}
}

func (w *Worker) isWatching() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watching
}

// cancelRun ends a run for its cancel request: its whole process group is
// terminated (SIGTERM, SIGKILL after killGrace). A job that has exited
// already keeps its own outcome: it ended before the cancel reached it.
func cancelRun(cmd *exec.Cmd, done <-chan error) outcome {
	select {
	case err := <-done:
		return exited(err)
	default:
	}
	stopGroup(cmd, done)
	return outcome{cancelled: true, msg: spool.Cancelled}
}

// exited is the outcome of a run whose shell exited by itself.
func exited(err error) outcome {
	var out outcome
	if err == nil {
		out.ok = true
	} else {
		out.msg, out.exitCode = describeExit(err)
	}
	return out
}

// recorded follows an outcome that is recorded: a cancel request that was
// carried out is removed (the cancel command that made it may be gone),
// and the outcome is logged.
func (w *Worker) recorded(lease *spool.Lease, out outcome) {
	if out.cancelled {
		w.s.ClearCancel(lease.Job.ID)
	}
	w.logFinished(lease, out)
}
