package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/queuectl/queuectl/internal/worker"
	"github.com/spf13/cobra"
)

func (a *app) workerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Start and stop the workers that run jobs",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &usageError{"worker needs a command: start or stop"}
		},
	}
	var count int
	var foreground bool
	var ids []string
	start := &cobra.Command{
		Use:   "start",
		Short: "Start workers in the background (or in this terminal with --foreground)",
		Long: `Start workers. By default they are detached: they run on after the shell that
started them ends, log to spool/workers/<id>.log, and the command returns once
they are registered. With --foreground they run in this terminal, log to
stderr, and stop on Ctrl-C or SIGTERM: no new jobs, and a running job may
finish for up to stop_timeout seconds; then, or at a second signal, it is ended
and put back (its run not counted).`,
		Example: "  queuectl worker start --count 3\n  queuectl worker start --foreground",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			if foreground {
				return a.runForeground(count, ids)
			}
			return a.startDetached(count)
		}),
	}
	start.Flags().VarP(newIntFlag(&count, 1, 1, 256), "count", "n", "number of workers")
	start.Flags().BoolVar(&foreground, "foreground", false, "run in this terminal until Ctrl-C")
	start.Flags().StringSliceVar(&ids, "worker-id", nil, "ids for the workers (default: new ones)")
	_ = start.Flags().MarkHidden("worker-id")

	var timeout string
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Stop all workers gracefully",
		Long: `Ask every worker to stop: each finishes its current job and exits. Workers
still running after --timeout are terminated (their job is ended and put back
to run again, the run not counted). Returns when all are gone; nothing is left in processing/.`,
		Example: "  queuectl worker stop\n  queuectl worker stop --timeout 5s",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			secs, err := parseSeconds("--timeout", timeout)
			if err != nil {
				return err
			}
			return a.stopWorkers(config.Seconds(secs))
		}),
	}
	stop.Flags().StringVar(&timeout, "timeout", "30", "seconds (or a duration such as 1m) to let running jobs finish")
	cmd.AddCommand(start, stop)
	return cmd
}

// workerMemoryLimit is the soft memory limit of a worker process.
const workerMemoryLimit = 40 << 20

// idSafe replaces each run of characters that an id cannot hold with "-".
// (Not a regexp: one compiled at start-up costs every command's start.)
func idSafe(s string) string {
	var b strings.Builder
	bad := false
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
			bad = false
		case !bad:
			b.WriteByte('-')
			bad = true
		}
	}
	return b.String()
}

// newWorkerID returns a fresh worker id: host, pid and a random suffix.
func newWorkerID() string {
	host, _ := os.Hostname()
	host = idSafe(host)
	if host == "" || len(host) > 40 || !('a' <= host[0] && host[0] <= 'z' || 'A' <= host[0] && host[0] <= 'Z' || '0' <= host[0] && host[0] <= '9') {
		host = "w"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// runForeground runs count workers in this process until Ctrl-C or SIGTERM.
func (a *app) runForeground(count int, ids []string) error {
	s, cfg, err := a.open()
	if err != nil {
		return err
	}
	if err := s.CheckPrivate(); err != nil {
		return err
	}
	// Watch the configuration file, or where `config set` would create
	// one, so that changes reach the workers without a restart.
	path, _ := a.configPath()
	if path == "" {
		path = config.FileName
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	// A worker holds little: an index entry per claimable job (about 150
	// bytes). A soft memory limit keeps the garbage of reading many job
	// files from doubling its footprint; $GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(workerMemoryLimit)
	}
	// A worker's own work is short steps between system calls that block
	// (fsync, wait), and a blocked call gives up its processor anyway. With
	// more processors than workers, the runtime wakes threads to look for
	// work that is not there: a drain of true jobs cost a worker 0.94 ms of
	// CPU per job with two, 0.84 ms with one (1.00 and 0.71 ms on a loaded
	// machine). $GOMAXPROCS overrides it.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(min(count, runtime.GOMAXPROCS(0))) // never above a container's CPU quota
	}
	// A process with one worker (each detached worker is one) flushes its
	// claims and outcomes keeping its processor (see spool.Spool.HoldSyncs):
	// fewer context switches and wake-ups of the runtime's monitor thread.
	// With several workers, one's held flush would stop the others when a
	// collection stops the world.
	if count == 1 {
		s.HoldSyncs()
	}
	log := slog.New(slog.NewTextHandler(a.stderr, nil))
	workers := make([]*worker.Worker, count)
	for i := range count {
		id := newWorkerID()
		if i < len(ids) {
			id = ids[i]
		}
		workers[i] = worker.New(worker.Options{ID: id, Spool: s, Config: cfg, ConfigPath: path, Log: log})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var wg sync.WaitGroup
	errs := make([]error, count)
	for i, w := range workers {
		wg.Go(func() { errs[i] = w.Run(ctx) })
	}
	ran := make(chan struct{})
	var stopper sync.WaitGroup
	stopper.Go(func() { stopOnSignals(ctx, sigs, ran, workers, cancel, log) })
	wg.Wait()
	close(ran)
	stopper.Wait()
	return errors.Join(errs...)
}

// stopOnSignals stops the workers gracefully on SIGTERM or Ctrl-C: they
// claim nothing more, and a running job may finish for up to stop_timeout
// seconds; then, or at a second signal, the workers end their jobs and put
// them back uncounted (cancel). A signal to a worker that worker stop has
// already asked to finish (its stop flag is set) means its grace is over:
// cancel at once. It returns when ran is closed.
func stopOnSignals(ctx context.Context, sigs <-chan os.Signal, ran <-chan struct{}, workers []*worker.Worker, cancel func(), log *slog.Logger) {
	var grace <-chan time.Time
	signalled := false
	done := ctx.Done()
	for {
		select {
		case <-ran:
			return
		case <-grace:
			log.Warn("stop_timeout is over: ending the running jobs; they will run again")
			cancel()
		case sig := <-sigs:
			if signalled || slices.ContainsFunc(workers, (*worker.Worker).StopRequested) {
				log.Warn("stopping now: ending the running jobs; they will run again", "signal", sig.String())
				cancel()
				continue
			}
			signalled = true
			d := config.Seconds(workers[0].Config().StopTimeout)
			log.Info("stopping: no new jobs; a running job may finish", "signal", sig.String(), "stop_timeout", d.String())
			for _, w := range workers {
				w.Drain()
			}
			t := time.NewTimer(d)
			defer t.Stop()
			grace = t.C
		case <-done:
			done, grace = nil, nil
		}
	}
}

// startDetached starts count worker processes in their own sessions and
// returns once each has registered.
func (a *app) startDetached(count int) error {
	s, _, err := a.open()
	if err != nil {
		return err
	}
	if err := s.CheckPrivate(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(s.Root())
	if err != nil {
		return err
	}
	base := []string{"--spool", root}
	if path, _ := a.configPath(); path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		base = append(base, "--config", abs)
	}
	type child struct {
		id   string
		cmd  *exec.Cmd
		done chan error
	}
	var children []child
	for range count {
		id := newWorkerID()
		logf, err := os.OpenFile(s.WorkerLog(id), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		args := append(append([]string{}, base...), "worker", "start", "--foreground", "--count", "1", "--worker-id", id)
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = worker.DetachAttr()
		err = cmd.Start()
		logf.Close()
		if err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		c := child{id: id, cmd: cmd, done: make(chan error, 1)}
		go func() { c.done <- cmd.Wait() }()
		children = append(children, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range children {
		for !s.WorkerAlive(c.id) || s.StatHeartbeat(c.id) != nil {
			select {
			case err := <-c.done:
				return fmt.Errorf("worker %s exited at start (%v); see %s", c.id, err, s.WorkerLog(c.id))
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("worker %s did not register within 10s; see %s", c.id, s.WorkerLog(c.id))
			}
		}
		fmt.Fprintf(a.stdout, "started worker %s (pid %d)\n", c.id, c.cmd.Process.Pid)
		_ = c.cmd.Process.Release()
	}
	return nil
}

// stopWorkers asks all workers to stop, waits up to timeout, terminates the
// rest, and puts back any job they left in processing/.
func (a *app) stopWorkers(timeout time.Duration) error {
	s, cfg, err := a.openExisting(false)
	if err != nil {
		return err
	}
	all, err := s.Workers(false)
	if err != nil {
		return err
	}
	var live []spool.WorkerInfo
	for _, w := range all {
		if w.Alive {
			live = append(live, w)
			if err := s.RequestStop(w.ID); err != nil {
				return err
			}
		}
	}
	if len(live) == 0 {
		fmt.Fprintln(a.stdout, "no workers running")
	} else {
		fmt.Fprintf(a.stdout, "stopping %d worker(s)\n", len(live))
	}
	left := waitGone(s, live, time.Now().Add(timeout))
	if len(left) > 0 {
		host, _ := os.Hostname()
		for _, w := range left {
			if w.Host == host && w.PID > 0 {
				fmt.Fprintf(a.stdout, "worker %s still running after %s: terminating pid %d\n", w.ID, timeout, w.PID)
				_ = s.MarkTerminated(w.ID) // its job goes back uncounted even if it cannot put it back itself
				_ = worker.Terminate(w.PID)
			}
		}
		left = waitGone(s, left, time.Now().Add(10*time.Second))
		for _, w := range left {
			if w.Host == host && w.PID > 0 {
				_ = worker.Kill(w.PID)
			}
		}
		left = waitGone(s, left, time.Now().Add(5*time.Second))
	}
	if len(left) > 0 {
		return fmt.Errorf("%d worker(s) did not stop (on another host?): %s", len(left), left[0].ID)
	}
	// Put back what killed workers left in processing/, killing what is
	// left of their jobs first; only then forget their heartbeats, which
	// name those jobs' processes.
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if n := worker.RecoverOrphans(s, cfg.MaxRetries, cfg.MaxInterrupts, log); n > 0 {
		fmt.Fprintf(a.stdout, "%d interrupted job(s) put back\n", n)
	}
	if _, err := s.Workers(true); err != nil {
		return err
	}
	if len(live) > 0 {
		fmt.Fprintln(a.stdout, "all workers stopped")
	}
	return nil
}

// waitGone waits until the workers' locks are free or the deadline passes,
// and returns those still alive.
func waitGone(s *spool.Spool, ws []spool.WorkerInfo, deadline time.Time) []spool.WorkerInfo {
	for {
		var left []spool.WorkerInfo
		for _, w := range ws {
			if s.WorkerAlive(w.ID) {
				left = append(left, w)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		ws = left
		time.Sleep(20 * time.Millisecond)
	}
}
