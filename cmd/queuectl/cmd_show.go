package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

func (a *app) showCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job: every field, where it is, when it runs next, and its runs",
		Long: `Show one job: every field, its state, when it runs next and why it is not
running now (scheduled, backing off, paused), and its history: one line per
run (the last 20 are kept), with its attempt, times, worker, exit code and
error. --json prints the job object with "state" and "history".`,
		Example:           "  queuectl show job-001\n  queuectl show job-001 --json",
		Args:              exactArgs("ID"),
		ValidArgsFunction: a.completeJobs(1),
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runShow(args[0], asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the job as JSON")
	return cmd
}

func (a *app) runShow(id string, asJSON bool) error {
	s, cfg, err := a.openReadOnly()
	if err != nil {
		return err
	}
	j, st, err := s.Get(id)
	if err != nil {
		return err
	}
	v := view(j, st, cfg)
	if asJSON {
		b, err := v.appendObject(job.Object(nil, "  ", ""))
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(append(b, '\n'))
		return err
	}
	return printShow(a.stdout, &v, nextRun(s, j, st, cfg, time.Now()))
}

// nextRun says when job j, in state st, runs next, and why not now.
func nextRun(s *spool.Spool, j *job.Job, st spool.State, cfg *config.Config, now time.Time) string {
	paused := ""
	if s.Paused() {
		paused = "; the spool is paused: nothing runs until queuectl resume"
	}
	switch st {
	case spool.Pending:
		if j.Waits() {
			if w := waitingFor(s, j); w != "" {
				return "waiting for " + w + paused
			}
		}
		if due := j.Due(); due.After(now) {
			return fmt.Sprintf("scheduled: not before %s (%s)%s", stamp(&due), until(due, now), paused)
		}
		if paused != "" {
			return "paused: due now, runs after queuectl resume"
		}
		if !anyWorker(s) {
			return "due now: no worker is running (queuectl worker start)"
		}
		return "due now: waiting for a free worker"
	case spool.Failed:
		n := len(j.History)
		why := "backing off after a failed run"
		if n > 0 {
			why = fmt.Sprintf("backing off after run %d failed (%s)", j.Attempts, oneLine(j.History[n-1].Error))
		}
		if due := j.Due(); due.After(now) {
			return fmt.Sprintf("%s: retry %d of %d not before %s (%s)%s", why, j.Attempts, j.Retries(cfg.MaxRetries), stamp(&due), until(due, now), paused)
		}
		if paused != "" {
			return "paused: the retry is due, runs after queuectl resume"
		}
		return "retry due now: waiting for a free worker"
	case spool.Processing:
		since := ""
		if !j.StartedAt.IsZero() {
			since = fmt.Sprintf(" since %s (%s)", stamp(&j.StartedAt), ago(j.StartedAt, now))
		}
		return fmt.Sprintf("running: attempt %d on worker %s%s", j.Attempts, cmp.Or(j.Worker, "unknown"), since)
	case spool.Done:
		return "done: it does not run again"
	case spool.Dead:
		return fmt.Sprintf("dead: it runs again only after queuectl dlq retry %s", j.ID)
	}
	return "-"
}

// waitingFor lists the dependencies of j that are not done yet, with their
// states; "" when every one is done.
func waitingFor(s *spool.Spool, j *job.Job) string {
	var out []string
	for _, d := range j.After {
		st, err := s.Find(d)
		switch {
		case err != nil:
			out = append(out, d+" (gone)")
		case st != spool.Done:
			out = append(out, fmt.Sprintf("%s (%s)", d, st))
		}
	}
	return strings.Join(out, ", ")
}

func anyWorker(s *spool.Spool) bool {
	ws, err := s.Workers(false)
	if err != nil {
		return true // cannot tell: say nothing alarming
	}
	for _, w := range ws {
		if w.Alive {
			return true
		}
	}
	return false
}

// until says how far t is ahead of now, for people: "in 4s", "in 3m20s".
func until(t, now time.Time) string { return "in " + roundAge(t.Sub(now)) }

// ago says how far t is behind now, for people: "4s ago".
func ago(t, now time.Time) string { return roundAge(now.Sub(t)) + " ago" }

// printShow prints a job as a list of fields, then its runs.
func printShow(w io.Writer, v *jobView, next string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	field := func(k, val string) { fmt.Fprintf(tw, "%s:\t%s\n", k, val) }
	field("id", v.ID)
	field("state", v.State)
	field("next", next)
	field("command", clean(v.Command, 200))
	field("dir", clean(v.Dir, 200))
	if len(v.Env) > 0 {
		var kv []string
		for k, val := range v.Env {
			kv = append(kv, k+"="+val)
		}
		field("env", clean(strings.Join(slices.Sorted(slices.Values(kv)), " "), 200))
	}
	if len(v.After) > 0 {
		field("after", strings.Join(v.After, ", "))
	}
	if v.UniqueKey != "" {
		field("unique_key", clean(v.UniqueKey, 200))
	}
	if len(v.NoRetryOn) > 0 {
		codes := make([]string, len(v.NoRetryOn))
		for i, c := range v.NoRetryOn {
			codes[i] = fmt.Sprint(c)
		}
		field("no_retry_on", strings.Join(codes, ", "))
	}
	field("priority", fmt.Sprint(v.Priority))
	field("attempts", fmt.Sprintf("%d of at most %d", v.Attempts, v.MaxRetries+1))
	if v.Interrupts > 0 {
		field("interruptions", fmt.Sprint(v.Interrupts))
	}
	timeout := "none"
	if v.Timeout > 0 {
		timeout = fmt.Sprintf("%gs", v.Timeout)
	}
	field("timeout", timeout)
	field("run_at", stamp(v.RunAt))
	field("created_at", stamp(v.CreatedAt))
	field("updated_at", stamp(v.UpdatedAt))
	field("started_at", stamp(v.StartedAt))
	field("finished_at", stamp(v.FinishedAt))
	field("worker", clean(v.Worker, 100))
	exit := "-"
	if v.ExitCode != nil {
		exit = fmt.Sprint(*v.ExitCode)
	}
	field("exit_code", exit)
	field("last_error", clean(v.LastError, 200))
	if err := tw.Flush(); err != nil {
		return err
	}
	if v.Output != "" {
		fmt.Fprintf(w, "output (last %d bytes kept):\n", len(v.Output))
		out := strings.TrimSuffix(v.Output, "\n")
		for _, l := range strings.Split(out, "\n") {
			fmt.Fprintf(w, "  %s\n", clean(l, 400))
		}
	}
	if len(v.History) == 0 {
		_, err := fmt.Fprintln(w, "history: no runs yet")
		return err
	}
	fmt.Fprintln(w, "history:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ATTEMPT\tSTARTED\tFINISHED\tWORKER\tEXIT\tERROR")
	for _, r := range v.History {
		exit := "-"
		if r.ExitCode != nil {
			exit = fmt.Sprint(*r.ExitCode)
		}
		attempt := fmt.Sprint(r.Attempt)
		if r.Stopped {
			attempt += " (stopped)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", attempt, stamp(timePtr(r.StartedAt)), stamp(timePtr(r.FinishedAt)),
			clean(r.Worker, 40), exit, clean(r.Error, 80))
	}
	return tw.Flush()
}
