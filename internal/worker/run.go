package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
)

// runOne claims the job k and runs it to its outcome.
func (w *Worker) runOne(ctx context.Context, reg *spool.Registration, k key) {
	lease, err := w.s.ClaimUnflushed(k.state, k.id, w.id)
	var notDue *spool.NotDueError
	var inv *spool.InvalidError
	var dup *spool.DuplicateError
	switch {
	case err == nil:
	case errors.Is(err, spool.ErrGone):
		w.lost.Add(1)
		w.s.NoteTaken(k.state, k.id)
		w.drop(k)
		return
	case errors.Is(err, spool.ErrBusy):
		w.lost.Add(1)
		// Whoever just moved the job here may still hold its lock for a
		// moment (a requeue, a recovery): try again shortly.
		w.mu.Lock()
		w.idx.postpone(k, time.Now().Add(busyRetry))
		w.mu.Unlock()
		return
	case errors.As(err, &dup):
		w.drop(k)
		w.quarantine(k.state, k.id+".json", err)
		return
	case errors.As(err, &notDue):
		w.inspect(k.state, k.id+".json") // the file changed: index it anew
		return
	case errors.As(err, &inv):
		w.drop(k)
		w.inspect(k.state, k.id+".json") // grace, then quarantine
		return
	default:
		// The disk is full or failing, or the platform refuses an
		// operation: wait before this job is tried again, and before any
		// other, so that a lasting error is no busy loop.
		w.log.Error("claim", "job", k.id, "err", err)
		w.mu.Lock()
		w.idx.postpone(k, time.Now().Add(claimRetry))
		w.mu.Unlock()
		w.pause(ctx, retryIOEvery)
		return
	}
	w.s.NoteTaken(k.state, k.id)
	w.drop(k)
	j := lease.Job
	if w.s.Paused() {
		// Paused while this claim was in flight: the job goes back
		// unstarted. (Checked after the rename, so that once pause
		// returns, no job starts that was not in processing/ by then.)
		w.paused.Store(true)
		if _, err := lease.PutBack(); err != nil {
			w.log.Error("cannot put back a job claimed as the spool was paused; it will be recovered", "job", j.ID, "err", err)
			lease.Release()
		}
		return
	}
	w.log.Info("claimed", "job", j.ID, "from", k.state, "to", spool.Processing, "attempt", j.Attempts)
	w.mu.Lock()
	w.runs++
	run := w.runs
	w.mu.Unlock()
	w.setState("busy", j.ID, 0)
	// A cancel request from now on ends the run (see events); one made
	// before the claim is seen here, and the job is buried unrun.
	cancel := w.armCancel(j.ID)
	defer w.disarmCancel()
	if w.s.CancelRequested(j.ID) {
		w.outcomes <- ended{lease: lease, out: outcome{cancelled: true, notRun: true, msg: spool.Cancelled}, run: run}
		return
	}
	// The claim only marked the file; a run that lasts gets its attempt
	// written in it too, for readers of processing/ (see Lease.Record).
	record := time.AfterFunc(recordAfter, func() {
		if err := lease.Record(); err != nil {
			w.log.Warn("cannot record the attempt yet", "job", j.ID, "err", err)
		}
	})
	out := w.execute(ctx, reg, lease, cancel)
	record.Stop()
	if out.fault {
		w.faults++
	} else {
		w.faults = 0
	}
	if out.undone {
		// The claim could not be made durable and was undone: the job
		// is back where it was, its command never ran.
		w.setState("idle", "", 0)
		w.mu.Lock()
		w.idx.postpone(k, time.Now().Add(claimRetry))
		w.mu.Unlock()
		w.backOff(ctx, j.ID, out.msg)
		return
	}
	if out.fault {
		// The finisher puts the job back, uncounted; no job starts
		// until the worker has had a rest.
		defer w.backOff(ctx, j.ID, out.msg)
	}
	// The outcome is recorded by the finisher while this worker claims and
	// starts its next job; outcomes that come faster than the finisher
	// records them are recorded together (see spool.Commit). Safe because
	// a finished job stays leased until its outcome is durable: a crash
	// meanwhile makes recovery run it again (at-least-once), never lose it;
	// a recoverer finds what the run left behind by its environment
	// (killLeftovers).
	w.outcomes <- ended{lease: lease, out: out, run: run}
}

// backOff pauses the worker after a run it could not start for a fault of
// its own (see workerFault) or a claim it could not make durable: 1 s, then
// twice as long after each fault in a row, up to maxFaultPause.
func (w *Worker) backOff(ctx context.Context, id, msg string) {
	d := min(retryIOEvery<<min(w.faults-1, 8), maxFaultPause)
	w.log.Error("cannot start jobs; the job goes back uncounted, and the worker waits", "job", id, "err", msg, "wait", d.String())
	w.pause(ctx, d)
}

func (w *Worker) drop(k key) {
	w.mu.Lock()
	w.dropLocked(k)
	w.mu.Unlock()
}

// dropLocked is drop with w.mu held.
func (w *Worker) dropLocked(k key) {
	w.idx.remove(k)
	w.wait.remove(k)
}

func (w *Worker) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// outcome is how a run ended.
type outcome struct {
	ok        bool
	stopped   bool // the worker was told to stop at once, or could not start the run: put the job back, uncounted
	cancelled bool // a cancel request ended the run, or came before it: dead/, as cancelled
	notRun    bool // of a cancelled job: its command never started, its attempt is not counted
	fault     bool // the run did not start for a fault of the worker's (see workerFault): back off
	undone    bool // the claim was undone before the command ran: nothing to record
	msg       string
	exitCode  *int
	output    string
}

// execute runs a job's command in its own process group, its output
// appended to the job's log under a header line, within its timeout.
//
// A claim that is not flushed yet is flushed while the job's shell starts
// (fork, exec, loading): the shell waits at a gate, before anything of the
// job's own runs, until the claim is durable. Where there is no gate
// (Windows) the claim is flushed before the shell starts.
func (w *Worker) execute(ctx context.Context, reg *spool.Registration, lease *spool.Lease, cancel <-chan struct{}) outcome {
	j := lease.Job
	cfg := w.cfg.Load()
	var gateR, gateW *os.File
	var cmd *exec.Cmd
	if lease.Unflushed() && canGate {
		if r, wr, err := gatePipe(); err == nil {
			gateR, gateW = r, wr
		}
	}
	var flushed chan error
	if gateW != nil {
		cmd = gatedShell(j.Command, gateR)
		flushed = make(chan error, 1)
		go func() { flushed <- lease.Flush() }()
	} else {
		if err := lease.Flush(); err != nil {
			return notFlushed(lease, err)
		}
		cmd = shell(j.Command)
	}
	header := fmt.Sprintf("=== attempt %d by worker %s at %s: %s\n", j.Attempts, w.id,
		time.Now().UTC().Format(time.RFC3339Nano), oneLine(j.Command))
	// flush waits for the claim to be durable.
	flush := func() error {
		if flushed != nil {
			return <-flushed
		}
		return nil
	}
	c, pw, err := newCapture(w.s, j.ID, header)
	if err != nil {
		closeAll(gateR, gateW)
		if ferr := flush(); ferr != nil {
			return notFlushed(lease, ferr)
		}
		return notStarted(err)
	}
	cmd.Dir = j.Dir
	cmd.Stdout, cmd.Stderr = pw, pw
	if w.devNull != nil {
		cmd.Stdin = w.devNull
	}
	cmd.Env = append(append(append(make([]string, 0, len(w.env)+len(j.Env)+4), w.env...), jobEnv(j.Env)...),
		"QUEUECTL_JOB_ID="+j.ID, "QUEUECTL_ATTEMPT="+strconv.Itoa(j.Attempts), "QUEUECTL_WORKER="+w.id, "QUEUECTL_JOB_SPOOL="+w.spoolPath)
	err = cmd.Start()
	if err != nil {
		// exec names the shell for a directory it cannot enter: say what
		// is wrong with the directory instead, if something is.
		if derr := checkDir(j.Dir); derr != nil {
			err = derr
		}
	}
	closeAll(pw, gateR) // the command has its own copies
	if err != nil {
		closeAll(gateW)
		if ferr := flush(); ferr != nil {
			c.end(0, "")
			return notFlushed(lease, ferr)
		}
		out := notStarted(err)
		if out.fault {
			c.end(0, "")
			return out
		}
		c.write([]byte("queuectl: " + out.msg + "\n"))
		out.output, _ = c.end(outputGrace, "=== "+out.msg+"\n")
		return out
	}
	if err := w.reap.track(cmd.Process.Pid); err != nil {
		w.log.Warn("the job will not die with its worker", "job", j.ID, "err", err)
	}
	if gateW != nil {
		if err := flush(); err != nil {
			w.reap.untrack()
			// Undone: the shell never passed its gate. End it.
			_ = kill(cmd)
			closeAll(gateW)
			_ = cmd.Wait()
			c.end(outputGrace, "")
			return notFlushed(lease, err)
		}
		_, _ = gateW.Write([]byte("\n"))
		closeAll(gateW)
	}
	// The heartbeat goroutine writes the new state soon, off the job's
	// path.
	w.setState("busy", j.ID, cmd.Process.Pid)
	w.beatSoon()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	timeout := j.Timeout
	if timeout == 0 {
		timeout = cfg.CommandTimeout
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(config.Seconds(timeout))
		defer t.Stop()
		deadline = t.C
	}
	// Without notifications a cancel request is looked for every
	// poll_interval, as new jobs are.
	var cancelPoll <-chan time.Time
	if !w.isWatching() {
		t := time.NewTicker(config.Seconds(cfg.PollInterval))
		defer t.Stop()
		cancelPoll = t.C
	}
	// One select decides how the run ends, so it has exactly one outcome.
	var out outcome
wait:
	for {
		select {
		case err = <-done:
			out = exited(err)
		case <-deadline:
			stopGroup(cmd, done)
			out.msg = fmt.Sprintf("timed out after %gs; process group killed", timeout)
		case <-ctx.Done():
			stopGroup(cmd, done)
			out.stopped = true
			out.msg = "stopped: worker " + w.id + " was stopped during the run; the run is not counted"
		case <-cancelPoll:
			if !w.s.CancelRequested(j.ID) {
				continue
			}
			out = cancelRun(cmd, done)
		case <-cancel:
			out = cancelRun(cmd, done)
		}
		break wait
	}
	w.reap.untrack()
	var logErr error
	out.output, logErr = c.end(outputGrace, "=== "+summary(out)+"\n")
	if logErr != nil {
		w.log.Warn("the job's output could not all be written to its log", "job", j.ID, "err", logErr)
	}
	return out
}

// notFlushed is the outcome of a claim that could not be made durable
// (Lease.Flush): undone, or, if even that failed, a run to put back
// uncounted.
func notFlushed(lease *spool.Lease, err error) outcome {
	if lease.Held() {
		return outcome{stopped: true, fault: true, msg: err.Error()}
	}
	return outcome{undone: true, fault: true, msg: err.Error()}
}

// notStarted is the outcome of a command that could not be started: a
// failure of the job's (a shell that cannot run in its directory), or a
// fault of the worker's, which does not count against the job.
func notStarted(err error) outcome {
	msg := "could not start: " + err.Error()
	if workerFault(err) {
		return outcome{stopped: true, fault: true, msg: msg}
	}
	return outcome{msg: msg}
}

// checkDir reports a job directory that is missing or not a directory,
// naming it: exec would blame the shell instead.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("directory %s: %w", dir, pe.Err)
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("directory %s: not a directory", dir)
	}
	return nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// stopGroup ends a running job: SIGTERM to its process group, then SIGKILL
// to whatever is left of the group after a grace period; it returns once
// the shell has been reaped.
func stopGroup(c *exec.Cmd, done <-chan error) {
	_ = terminate(c)
	t := time.NewTimer(killGrace)
	defer t.Stop()
	reaped := false
	select {
	case <-done:
		// The shell is gone; children that ignore SIGTERM may be left.
		reaped = true
		waitGroupGone(c.Process.Pid, t.C)
	case <-t.C:
	}
	_ = kill(c)
	if !reaped {
		<-done
	}
}

func summary(o outcome) string {
	if o.ok {
		return "exit status 0"
	}
	return o.msg
}

// lineBreaks spells out the line breaks of a command for its log's header
// line (a Replacer builds its tables once).
var lineBreaks = strings.NewReplacer("\n", `\n`, "\r", `\r`)

func oneLine(s string) string { return lineBreaks.Replace(s) }
