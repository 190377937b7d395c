package worker

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Hooks: the commands of on_success, on_failure and on_dead, run by the
// worker after a run's outcome is durable. They run off the job path: the
// finisher only queues them, and a few runners run them one after another,
// so the next claim never waits for a hook. A hook that outlives
// hook_timeout has its whole process group killed; a hook that fails is
// logged and changes nothing about the job.
const (
	hookRunners = 2       // hooks running at once, at most
	hookBacklog = 1024    // hooks waiting, at most; beyond, they are skipped (and logged)
	hookTail    = 2 << 10 // bytes of a failed hook's output kept for the log
	hookWait    = 2 * time.Second
)

// hook is one hook to run.
type hook struct {
	name    string // on_success, on_failure or on_dead
	command string
	dir     string
	timeout time.Duration
	env     []string
	job     string
}

// hooks queues and runs hooks.
type hooks struct {
	queue chan hook
	wg    sync.WaitGroup
}

// startHooks starts the hook runners; the returned function waits for the
// hooks queued so far to end (each within its timeout), then stops them.
func (w *Worker) startHooks() (stop func()) {
	w.hooks.queue = make(chan hook, hookBacklog)
	for range hookRunners {
		w.hooks.wg.Go(func() {
			for h := range w.hooks.queue {
				w.runHook(h)
			}
		})
	}
	return func() {
		close(w.hooks.queue)
		w.hooks.wg.Wait()
	}
}

// queueHook queues the hook that the configuration names for the recorded
// outcome of a run, if any; it never waits.
func (w *Worker) queueHook(j *job.Job, out outcome) {
	if w.hooks.queue == nil || out.stopped {
		return
	}
	cfg := w.cfg.Load()
	var name, command string
	switch {
	case out.ok:
		name, command = "on_success", cfg.OnSuccess
	case j.State == string(spool.Dead):
		name, command = "on_dead", cfg.OnDead
	default:
		name, command = "on_failure", cfg.OnFailure
	}
	if command == "" {
		return
	}
	code := ""
	if j.ExitCode != nil {
		code = strconv.Itoa(*j.ExitCode)
	}
	h := hook{
		name: name, command: command, dir: hookDir(cfg), timeout: config.Seconds(cfg.HookTimeout), job: j.ID,
		env: append(os.Environ(), "QUEUECTL_JOB_ID="+j.ID, "QUEUECTL_STATE="+j.State, "QUEUECTL_EXIT_CODE="+code,
			"QUEUECTL_ATTEMPT="+strconv.Itoa(j.Attempts), "QUEUECTL_LAST_ERROR="+oneLine(j.LastError),
			"QUEUECTL_WORKER="+w.id, "QUEUECTL_JOB_SPOOL="+w.spoolPath),
	}
	select {
	case w.hooks.queue <- h:
	default:
		w.log.Warn("hook skipped: too many hooks waiting", "hook", name, "job", j.ID)
	}
}

// hookDir is where hooks run: the configuration file's directory, so that
// a relative path in a hook means what it does for spool_dir; without a
// file, the worker's own directory.
func hookDir(cfg *config.Config) string {
	if cfg.Path == "" {
		return ""
	}
	if abs, err := filepath.Abs(filepath.Dir(cfg.Path)); err == nil {
		return abs
	}
	return ""
}

// runHook runs one hook in a process group of its own, within its timeout,
// and logs its failure with the end of its output.
func (w *Worker) runHook(h hook) {
	cmd := shell(h.command)
	cmd.Dir = h.dir
	cmd.Env = h.env
	out := &tail{max: hookTail}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = hookWait // a child that keeps the output open does not hold the runner
	if err := cmd.Start(); err != nil {
		w.log.Warn("hook failed", "hook", h.name, "job", h.job, "err", "could not start: "+err.Error())
		return
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	var msg string
	select {
	case err := <-done:
		if err != nil {
			msg, _ = describeExit(err)
		}
	case <-t.C:
		stopGroup(cmd, done)
		msg = "timed out after " + h.timeout.String() + "; process group killed"
	}
	if msg != "" {
		w.log.Warn("hook failed", "hook", h.name, "job", h.job, "err", msg, "output", out.String())
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return oneLine(strings.TrimRight(string(t.b), "\r\n"))
}
