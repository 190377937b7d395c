package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

// maxPriority bounds --priority, as the contract bounds a job's priority.
const maxPriority = 1_000_000

type enqueueOpts struct {
	id, command, file, dir string
	batch                  string
	maxRetries, priority   int
	timeout, runAt, delay  string
}

func (a *app) enqueueCmd() *cobra.Command {
	var o enqueueOpts
	cmd := &cobra.Command{
		Use:   "enqueue [JSON]",
		Short: "Add a job to the queue",
		Long: `Add a job to the queue. The job comes from --command, from a JSON job given
as the argument, from --file (- for stdin), or as JSON on stdin. Flags given
beside JSON override its fields. Without --id a fresh id is made. The job's
id is printed on stdout.`,
		Example: `  queuectl enqueue --id hello --command "echo Hello Queue"
  queuectl enqueue --command "make backup" --max-retries 5 --priority 10 --timeout 10m
  queuectl enqueue --command "./report.sh" --delay 30s
  echo '{"id":"job-004","command":"echo Hello"}' | queuectl enqueue
  queuectl enqueue --file job.json
  queuectl enqueue --batch jobs.jsonl        # one JSON job a line; - for stdin`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{"enqueue takes at most one JSON argument (quote it)"}
			}
			return nil
		},
		RunE: op(func(cmd *cobra.Command, args []string) error {
			if err := exclusive(cmd, "run-at", "delay", "give one time to wait for"); err != nil {
				return err
			}
			if err := exclusive(cmd, "command", "file", "give the job once"); err != nil {
				return err
			}
			if cmd.Flags().Changed("batch") {
				return a.runBatch(cmd, o.batch, args)
			}
			return a.runEnqueue(cmd, o, args)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.id, "id", "", "job id (default: a new one)")
	f.StringVarP(&o.command, "command", "c", "", "shell command to run")
	f.StringVarP(&o.file, "file", "f", "", "read the job as JSON from this file (- for stdin)")
	f.StringVar(&o.dir, "dir", "", "working directory of the command, relative to the current one (default: the current directory)")
	f.Var(newIntFlag(&o.maxRetries, 0, 0, job.MaxRetriesLimit), "max-retries", "retries after the first run (default: the max_retries setting)")
	f.Var(newIntFlag(&o.priority, 0, -maxPriority, maxPriority), "priority", "higher runs first; negative allowed")
	f.StringVar(&o.timeout, "timeout", "", "time limit per run: seconds or a duration such as 30s (default: command_timeout)")
	f.StringVar(&o.runAt, "run-at", "", "do not run before this RFC 3339 time, such as 2026-11-27T10:00:00Z")
	f.StringVar(&o.delay, "delay", "", "do not run before this long from now: seconds or a duration such as 5m")
	f.StringVar(&o.batch, "batch", "", "enqueue many jobs from JSON Lines in this file (- or nothing: stdin), all or none")
	f.Lookup("batch").NoOptDefVal = "-"
	return cmd
}

func (a *app) runEnqueue(cmd *cobra.Command, o enqueueOpts, args []string) error {
	flags := cmd.Flags()
	if flags.Changed("command") && len(args) > 0 || flags.Changed("file") && len(args) > 0 {
		return &usageError{"give the job once: --command, --file or a JSON argument"}
	}
	s, cfg, err := a.open()
	if err != nil {
		return err
	}
	j, err := a.readJob(o, flags.Changed("command"), args)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	if flags.Changed("id") {
		j.ID = o.id
	}
	if flags.Changed("dir") {
		j.Dir = o.dir
	}
	if j.Dir, err = jobDir(j.Dir); err != nil {
		return err
	}
	if flags.Changed("max-retries") {
		j.MaxRetries = &o.maxRetries
	}
	if flags.Changed("priority") {
		if o.priority < -job.MaxPriority || o.priority > job.MaxPriority {
			return fmt.Errorf("--priority %d: must be between %d and %d", o.priority, -job.MaxPriority, job.MaxPriority)
		}
		j.Priority = o.priority
	}
	if flags.Changed("timeout") {
		if j.Timeout, err = parseSeconds("--timeout", o.timeout); err != nil {
			return err
		}
	}
	switch {
	case flags.Changed("run-at"):
		t, err := time.Parse(time.RFC3339Nano, o.runAt)
		if err != nil {
			return fmt.Errorf("--run-at %q: want an RFC 3339 time such as 2026-11-27T10:00:00Z", o.runAt)
		}
		j.RunAt = t.UTC()
	case flags.Changed("delay"):
		d, err := parseSeconds("--delay", o.delay)
		if err != nil {
			return err
		}
		j.RunAt = now.Add(time.Duration(d * float64(time.Second)))
	}
	if j.MaxRetries == nil {
		j.MaxRetries = &cfg.MaxRetries
	}
	if j.ID == "" {
		j.ID = job.NewID(now)
	}
	// A new job starts afresh whatever its JSON said about earlier runs.
	j.Attempts, j.ExitCode, j.Output, j.LastError, j.Worker = 0, nil, "", "", ""
	j.StartedAt, j.FinishedAt, j.CreatedAt, j.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if err := s.Enqueue(j); err != nil {
		if errors.Is(err, spool.ErrExists) {
			return fmt.Errorf("%w: choose another id", err)
		}
		return err
	}
	_, err = fmt.Fprintln(a.stdout, j.ID)
	return err
}

// readJob returns the job given by --command, --file, the argument or stdin.
func (a *app) readJob(o enqueueOpts, command bool, args []string) (*job.Job, error) {
	var data []byte
	var from string
	switch {
	case command:
		return &job.Job{Command: o.command}, nil
	case len(args) == 1:
		data, from = []byte(args[0]), "argument"
	case o.file != "" && o.file != "-":
		f, err := os.Open(o.file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if data, err = readLimited(f); err != nil {
			return nil, fmt.Errorf("%s: %w", o.file, err)
		}
		from = o.file
	default:
		if o.file == "" && isTerminal(a.stdin) {
			return nil, &usageError{"nothing to enqueue: give --command, --file, or a JSON job as the argument or on stdin"}
		}
		var err error
		if data, err = readLimited(a.stdin); err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return nil, &usageError{"nothing to enqueue: stdin is empty; give --command, --file, or a JSON job"}
		}
		from = "stdin"
	}
	j, err := job.Parse(data, "")
	if err != nil {
		return nil, fmt.Errorf("invalid job in %s: %w", from, err)
	}
	return j, nil
}

// jobDir returns the absolute directory that a job enqueued from here runs
// in: dir resolved against the current directory, or the current
// directory itself when dir is empty (a job runs where it was enqueued,
// not where its worker happens to run).
func jobDir(dir string) (string, error) {
	var err error
	if dir == "" {
		dir, err = os.Getwd()
	} else {
		dir, err = filepath.Abs(dir)
	}
	if err != nil {
		return "", fmt.Errorf("cannot tell the directory the job is to run in (%v): give an absolute --dir", err)
	}
	return dir, nil
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, job.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > job.MaxSize {
		return nil, job.ErrTooLarge
	}
	return data, nil
}

// isTerminal reports whether r is an interactive terminal, where waiting
// for a job on stdin would only hang.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parseSeconds reads a non-negative number of seconds, a Go duration
// (90s, 30m, 1h30m) or a number of days (7d).
func parseSeconds(flag, v string) (float64, error) {
	s, err := strconv.ParseFloat(v, 64)
	if days, ok := strings.CutSuffix(v, "d"); err != nil && ok {
		if n, derr := strconv.ParseFloat(days, 64); derr == nil {
			s, err = n*24*3600, nil
		}
	}
	if err != nil {
		d, derr := time.ParseDuration(v)
		if derr != nil {
			return 0, fmt.Errorf("%s %q: want seconds or a duration such as 30s, 5m or 7d", flag, v)
		}
		s = d.Seconds()
	}
	if s < 0 || s != s || s > job.MaxTimeout {
		return 0, fmt.Errorf("%s %q: must be between 0 and %g seconds", flag, v, float64(job.MaxTimeout))
	}
	return s, nil
}

// runBatch enqueues the jobs of a JSON Lines file: every line is checked
// first, and a bad line rejects the whole batch.
func (a *app) runBatch(cmd *cobra.Command, from string, args []string) error {
	// --batch takes an optional value, so "--batch FILE" arrives as
	// --batch=- and an argument.
	if from == "-" && len(args) == 1 {
		from, args = args[0], nil
	}
	if len(args) > 0 {
		return &usageError{"--batch takes one file"}
	}
	for _, name := range []string{"id", "command", "file", "dir", "max-retries", "priority", "timeout", "run-at", "delay"} {
		if cmd.Flags().Changed(name) {
			return &usageError{"--batch takes its jobs whole from the file; --" + name + " cannot be combined with it"}
		}
	}
	var r io.Reader = a.stdin
	if from != "-" {
		f, err := os.Open(from)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	s, cfg, err := a.open()
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	var jobs []*job.Job
	var lines []int
	given := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), job.MaxSize+1)
	n := 0 // the physical line, blank ones counted
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		j, err := job.Parse([]byte(text), "")
		if err != nil {
			return fmt.Errorf("line %d: %w; nothing was enqueued", n, err)
		}
		if j.ID == "" {
			// Fresh ids of one batch share their time: draw again on the
			// rare collision of their random parts.
			for j.ID = job.NewID(now); given[j.ID]; j.ID = job.NewID(now) {
			}
		}
		given[j.ID] = true
		if j.Dir, err = jobDir(j.Dir); err != nil {
			return err
		}
		if j.MaxRetries == nil {
			j.MaxRetries = &cfg.MaxRetries
		}
		j.Attempts, j.ExitCode, j.Output, j.LastError, j.Worker = 0, nil, "", "", ""
		j.StartedAt, j.FinishedAt, j.CreatedAt, j.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		jobs = append(jobs, j)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = job.ErrTooLarge
		}
		return fmt.Errorf("line %d: %w; nothing was enqueued", n+1, err)
	}
	if len(jobs) == 0 {
		return &usageError{"nothing to enqueue: the batch is empty"}
	}
	var done atomic.Int64
	bar := startProgress(a.stderr, "enqueue", fmt.Sprintf("%d jobs", len(jobs)), 2*int64(len(jobs)), &done)
	err = s.EnqueueBatchProgress(jobs, &done)
	bar.finish(err == nil)
	if err != nil {
		var be *spool.BatchError
		var twice *spool.TwiceError
		switch {
		case errors.As(err, &be) && errors.As(be.Err, &twice):
			return fmt.Errorf("line %d: id %s is also on line %d; nothing was enqueued", lines[be.Index], twice.ID, lines[twice.First])
		case errors.As(err, &be):
			return fmt.Errorf("line %d: %w; nothing was enqueued", lines[be.Index], be.Err)
		}
		return err
	}
	w := bufio.NewWriter(a.stdout)
	for _, j := range jobs {
		fmt.Fprintln(w, j.ID)
	}
	return w.Flush()
}
