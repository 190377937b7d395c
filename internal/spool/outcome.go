package spool

import (
	"cmp"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// Complete records a successful run and moves the job to done/.
func (l *Lease) Complete(output string) error {
	l.SetComplete(output)
	return l.s.Commit(l)[0]
}

// Fail records a failed run and the tail of its output. With retries left
// the job goes to failed/, due again after delay; otherwise to dead/. It
// returns the state reached.
func (l *Lease) Fail(msg string, exitCode *int, output string, maxRetries int, delay time.Duration) (State, error) {
	to := l.SetFail(msg, exitCode, output, maxRetries, delay)
	return to, l.s.Commit(l)[0]
}

// Requeue puts an interrupted job back in pending/ to run again at once, or
// in dead/ if the interrupted run was its last. It returns the state reached.
func (l *Lease) Requeue(msg string, maxRetries int) (State, error) {
	to := l.SetRequeue(msg, maxRetries)
	return to, l.s.Commit(l)[0]
}

// SetComplete sets the outcome of a successful run, for Commit: done/.
func (l *Lease) SetComplete(output string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		// The job already sits where its outcome sent it; only the
		// flush is left, and a second look must not send it elsewhere.
		return
	}
	zero := 0
	l.Job.ExitCode = &zero
	l.Job.Output = output
	l.Job.LastError = ""
	l.Job.FinishedAt = l.s.now()
	l.addRun(false)
	l.to = Done
}

// addRun sets the run's entry in the job's history from the outcome just
// set: its attempt, times, worker, exit code and error. Setting an outcome
// again (a Commit that failed is tried again) replaces the entry rather
// than adding one; Marshal keeps the latest job.MaxHistory entries.
func (l *Lease) addRun(stopped bool) {
	r := job.Run{
		Attempt: l.attempt, StartedAt: l.Job.StartedAt, FinishedAt: l.Job.FinishedAt,
		Worker: l.Job.Worker, ExitCode: l.Job.ExitCode, Error: l.Job.LastError, Stopped: stopped,
	}
	if stopped {
		r.ExitCode, r.Error = nil, "stopped: the run is not counted"
	}
	l.Job.History = append(l.Job.History[:min(l.base, len(l.Job.History))], r)
}

// SetFail sets the outcome of a failed run, with the tail of its output,
// for Commit: failed/, due again after delay, or dead/ once its retries are
// spent. It returns that state.
func (l *Lease) SetFail(msg string, exitCode *int, output string, maxRetries int, delay time.Duration) State {
	return l.setFail(msg, exitCode, output, false, maxRetries, delay)
}

// SetFailFinal sets the outcome of a failed run that is not to be retried
// (its exit code says the job cannot succeed), for Commit: dead/, whatever
// retries are left.
func (l *Lease) SetFailFinal(msg string, exitCode *int, output string) State {
	return l.setFail(msg, exitCode, output, true, 0, 0)
}

func (l *Lease) setFail(msg string, exitCode *int, output string, final bool, maxRetries int, delay time.Duration) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		// The job already sits where its outcome sent it; only the
		// flush is left, and a second look must not send it elsewhere.
		return l.to
	}
	now := l.s.now()
	l.Job.LastError = msg
	l.Job.ExitCode = exitCode
	l.Job.Output = output
	l.Job.FinishedAt = now
	l.addRun(false)
	l.to = Failed
	if final || l.Job.Attempts >= 1+l.Job.Retries(maxRetries) {
		l.to = Dead
		l.Job.RunAt = time.Time{}
	} else {
		l.Job.RunAt = now.Add(delay)
	}
	return l.to
}

// SetRequeue sets the outcome of an interrupted run, for Commit: pending/,
// to run again at once, or dead/ if the run was its last. It returns that
// state.
func (l *Lease) SetRequeue(msg string, maxRetries int) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		// The job already sits where its outcome sent it; only the
		// flush is left, and a second look must not send it elsewhere.
		return l.to
	}
	l.to = requeueState(l.Job, maxRetries)
	l.Job.LastError = msg
	l.Job.ExitCode = nil
	l.Job.FinishedAt = l.s.now()
	l.Job.RunAt = time.Time{}
	l.addRun(false)
	return l.to
}

// SetStopped sets the outcome of a run that its worker stopped (worker
// stop, SIGTERM, Ctrl-C) or could not start for a fault of its own (no
// descriptors or memory left), for Commit: the job goes back where it was
// claimed from as if the run had not started, its attempt not counted.
// (A run whose worker crashed is counted: see Recover.)
func (l *Lease) SetStopped() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.moved {
		return l.to
	}
	l.to = cmp.Or(l.from, Pending)
	l.Job.FinishedAt = l.s.now()
	l.addRun(true)
	l.Job.Attempts = max(l.attempt-1, 0)
	return l.to
}

// PutBack records a stopped run (see SetStopped) and moves the job back.
func (l *Lease) PutBack() (State, error) {
	to := l.SetStopped()
	return to, l.s.Commit(l)[0]
}

func requeueState(j *job.Job, maxRetries int) State {
	if j.Attempts >= 1+j.Retries(maxRetries) {
		return Dead
	}
	return Pending
}
