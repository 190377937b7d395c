package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// maxPriority bounds --priority, as the contract bounds a job's priority.
const maxPriority = 1_000_000

type enqueueOpts struct {
	id, command, file, dir string
	batch                  string
	maxRetries, priority   int
	timeout, runAt, delay  string
	after, env             []string
	uniqueKey, noRetryOn   string
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
  queuectl enqueue --id b --command "./load.sh" --after a --env TARGET=prod
  queuectl enqueue --command "./nightly.sh" --unique-key nightly --no-retry-on 2,64
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
	f.StringSliceVar(&o.after, "after", nil, "run only once these jobs are done: ids separated by commas (repeatable)")
	f.StringVar(&o.uniqueKey, "unique-key", "", "enqueue nothing if a pending, running or failed job has this key (prints that job's id)")
	f.StringArrayVar(&o.env, "env", nil, "set NAME=VALUE in the command's environment (repeatable)")
	f.StringVar(&o.noRetryOn, "no-retry-on", "", "exit codes, such as 2,64, after which the job goes to dead/ at once")
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
	if err := composeFlags(flags, o, j); err != nil {
		return err
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
		var taken *spool.KeyTakenError
		switch {
		case errors.As(err, &taken):
			// Not an error: the job the key asks for is queued already.
			fmt.Fprintf(a.stderr, "queuectl: deduplicated: %v; nothing was enqueued\n", err)
			_, err = fmt.Fprintln(a.stdout, taken.ID)
			return err
		case errors.Is(err, spool.ErrExists):
			return fmt.Errorf("%w: choose another id", err)
		}
		return err
	}
	_, err = fmt.Fprintln(a.stdout, j.ID)
	return err
}

// composeFlags applies --after, --unique-key, --env and --no-retry-on to j:
// --after and --no-retry-on replace what JSON gave, --env adds to it.
func composeFlags(flags *pflag.FlagSet, o enqueueOpts, j *job.Job) error {
	if flags.Changed("after") {
		j.After = nil
		for _, id := range o.after {
			id = strings.TrimSpace(id)
			if err := job.CheckID(id); err != nil {
				return fmt.Errorf("--after %q: %w", id, err)
			}
			j.After = append(j.After, id)
		}
		if len(j.After) == 0 {
			return fmt.Errorf("--after: give the ids of the jobs to wait for, separated by commas")
		}
	}
	if flags.Changed("unique-key") {
		if o.uniqueKey == "" {
			return fmt.Errorf("--unique-key: must not be empty")
		}
		j.UniqueKey = o.uniqueKey
	}
	for _, e := range o.env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			return fmt.Errorf("--env %q: want NAME=VALUE", e)
		}
		if j.Env == nil {
			j.Env = map[string]string{}
		}
		j.Env[name] = value
	}
	if flags.Changed("no-retry-on") {
		codes, err := parseCodes(o.noRetryOn)
		if err != nil {
			return fmt.Errorf("--no-retry-on %q: %w", o.noRetryOn, err)
		}
		j.NoRetryOn = codes
	}
	return nil
}

// parseCodes reads exit codes separated by commas.
func parseCodes(v string) ([]int, error) {
	var codes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want exit codes separated by commas, such as 2,64")
		}
		if n < 1 || n > job.MaxExitCode {
			return nil, fmt.Errorf("exit code %d: must be between 1 and %d", n, job.MaxExitCode)
		}
		if !slices.Contains(codes, int(n)) {
			codes = append(codes, int(n))
		}
	}
	return codes, nil
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
	s, err := config.ParseSeconds(v)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want seconds or a duration such as 30s, 5m or 7d", flag, v)
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
	for _, name := range []string{"id", "command", "file", "dir", "max-retries", "priority", "timeout", "run-at", "delay", "after", "unique-key", "env", "no-retry-on"} {
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
	held, err := s.EnqueueBatchProgress(jobs, &done)
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
	for i, j := range jobs {
		if held[i] != "" {
			fmt.Fprintf(a.stderr, "queuectl: line %d: deduplicated: unique key %q is taken by job %s; job %s was not enqueued\n", lines[i], j.UniqueKey, held[i], j.ID)
			fmt.Fprintln(w, held[i])
			continue
		}
		fmt.Fprintln(w, j.ID)
	}
	return w.Flush()
}
