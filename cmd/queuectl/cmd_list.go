package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

func (a *app) listCmd() *cobra.Command {
	var state string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, in claim order for pending and failed ones",
		Example: `  queuectl list
  queuectl list --state pending
  queuectl list --state completed --json`,
		Args: noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			states := spool.States
			if state != "" {
				st, err := spool.ParseState(state)
				if err != nil {
					return err
				}
				states = []spool.State{st}
			}
			return a.runList(states, asJSON)
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "only this state: pending, processing, failed, done (or completed), dead or rejected")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of jobs")
	_ = cmd.RegisterFlagCompletionFunc("state", completeStates())
	return cmd
}

func (a *app) runList(states []spool.State, asJSON bool) error {
	s, cfg, err := a.openReadOnly()
	if err != nil {
		return err
	}
	var entries []spool.Entry
	for _, st := range states {
		es, err := s.List(st)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
	}
	jobs := make([]jobView, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.State == spool.Rejected:
			jobs = append(jobs, jobView{ID: e.Name, State: string(e.State), LastError: e.Err.Error()})
		case e.Err != nil:
			hint := ""
			if e.State == spool.Pending || e.State == spool.Failed {
				hint = " (a worker moves it to rejected/)"
			}
			fmt.Fprintf(a.stderr, "queuectl: skipping %s/%s: %s%s\n", e.State, oneLine(e.Name), oneLine(e.Err.Error()), hint)
		default:
			jobs = append(jobs, view(e.Job, e.State, cfg))
		}
	}
	if asJSON {
		return writeJobs(a.stdout, jobs)
	}
	return printJobs(a.stdout, jobs, len(states) == 1, looksFor(a.stdout))
}

// jobView is a job as list --json shows it: every field of the contract
// present, defaults filled in, and the state from the job's directory.
type jobView struct {
	ID         string            `json:"id"`
	State      string            `json:"state"`
	Command    string            `json:"command"`
	Dir        string            `json:"dir,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	After      []string          `json:"after,omitempty"`
	UniqueKey  string            `json:"unique_key,omitempty"`
	MaxRetries int               `json:"max_retries"`
	NoRetryOn  []int             `json:"no_retry_on,omitempty"`
	Priority   int               `json:"priority"`
	Timeout    float64           `json:"timeout"`
	RunAt      *time.Time        `json:"run_at"`
	Attempts   int               `json:"attempts"`
	Interrupts int               `json:"interruptions,omitempty"`
	CreatedAt  *time.Time        `json:"created_at"`
	UpdatedAt  *time.Time        `json:"updated_at"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	Worker     string            `json:"worker,omitempty"`
	LastError  string            `json:"last_error"`
	ExitCode   *int              `json:"exit_code"`
	Output     string            `json:"output"`
	History    []job.Run         `json:"history,omitempty"`
}

func view(j *job.Job, st spool.State, cfg *config.Config) jobView {
	return jobView{
		ID: j.ID, State: string(st), Command: j.Command, Dir: j.Dir,
		Env: j.Env, After: j.After, UniqueKey: j.UniqueKey, History: j.History,
		MaxRetries: j.Retries(cfg.MaxRetries), Priority: j.Priority, Timeout: j.Timeout,
		NoRetryOn: j.NoRetryOn, Interrupts: j.Interrupts,
		RunAt: timePtr(j.RunAt), Attempts: j.Attempts, CreatedAt: timePtr(j.CreatedAt),
		UpdatedAt: timePtr(j.UpdatedAt), StartedAt: timePtr(j.StartedAt),
		FinishedAt: timePtr(j.FinishedAt), Worker: j.Worker,
		LastError: j.LastError, ExitCode: j.ExitCode, Output: j.Output,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func writeJSON(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return bw.Flush()
}

// writeJobs prints jobs as a JSON array, as writeJSON would, but without
// reflection: a list may hold a hundred thousand jobs.
func writeJobs(w io.Writer, jobs []jobView) error {
	if len(jobs) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	b := make([]byte, 0, 1024)
	for i := range jobs {
		b = append(b[:0], ",\n  "...)
		if i == 0 {
			b = append(b[:0], "[\n  "...)
		}
		var err error
		if b, err = jobs[i].appendJSON(b); err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString("\n]\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// appendJSON appends v as encoding/json writes it as an element of an
// array indented by two spaces: keep it in step with jobView's tags.
func (v *jobView) appendJSON(b []byte) ([]byte, error) {
	return v.appendObject(job.Object(b, "    ", "  "))
}

// appendObject writes v's fields with w.
func (v *jobView) appendObject(w *job.ObjectWriter) ([]byte, error) {
	w.String("id", v.ID)
	w.String("state", v.State)
	w.String("command", v.Command)
	if v.Dir != "" {
		w.String("dir", v.Dir)
	}
	if len(v.Env) > 0 {
		w.StringMap("env", v.Env)
	}
	if len(v.After) > 0 {
		w.Strings("after", v.After)
	}
	if v.UniqueKey != "" {
		w.String("unique_key", v.UniqueKey)
	}
	w.Int("max_retries", v.MaxRetries)
	if len(v.NoRetryOn) > 0 {
		w.Ints("no_retry_on", v.NoRetryOn)
	}
	w.Int("priority", v.Priority)
	w.Float("timeout", v.Timeout)
	w.Time("run_at", deref(v.RunAt), false)
	w.Int("attempts", v.Attempts)
	if v.Interrupts != 0 {
		w.Int("interruptions", v.Interrupts)
	}
	w.Time("created_at", deref(v.CreatedAt), false)
	w.Time("updated_at", deref(v.UpdatedAt), false)
	w.Time("started_at", deref(v.StartedAt), true)
	w.Time("finished_at", deref(v.FinishedAt), true)
	if v.Worker != "" {
		w.String("worker", v.Worker)
	}
	w.String("last_error", v.LastError)
	w.IntPtr("exit_code", v.ExitCode)
	w.String("output", v.Output)
	if len(v.History) > 0 {
		w.Runs("history", v.History)
	}
	return w.Close()
}

// deref returns the time t points to, or the zero time for nil (timePtr
// never points to a zero time).
func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// printJobs prints an aligned table of jobs; for people (l.human) with
// coloured states and relative times.
func printJobs(w io.Writer, jobs []jobView, oneState bool, l looks) error {
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(w, "no jobs")
		return err
	}
	if l.human {
		return printJobsHuman(w, jobs, oneState, l)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(jobs) > 0 && jobs[0].State == string(spool.Rejected) && oneState {
		fmt.Fprintln(tw, "NAME\tREASON")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\n", clean(j.ID, 60), clean(j.LastError, 100))
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "ID\tSTATE\tPRIORITY\tATTEMPTS\tRUN AT\tUPDATED\tCOMMAND\tLAST ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%s\t%s\t%s\t%s\n", j.ID, j.State, j.Priority,
			j.Attempts, j.MaxRetries+1, stamp(j.RunAt), stamp(j.UpdatedAt),
			clean(j.Command, 40), clean(j.LastError, 40))
	}
	return tw.Flush()
}

// printJobsHuman is printJobs for people.
func printJobsHuman(w io.Writer, jobs []jobView, oneState bool, l looks) error {
	var header []string
	rows := make([][]string, 0, len(jobs))
	if jobs[0].State == string(spool.Rejected) && oneState {
		header = []string{"NAME", "REASON"}
		for _, j := range jobs {
			rows = append(rows, []string{clean(j.ID, 60), clean(j.LastError, 100)})
		}
	} else {
		header = []string{"ID", "STATE", "PRIORITY", "ATTEMPTS", "RUN AT", "UPDATED", "COMMAND", "LAST ERROR"}
		for _, j := range jobs {
			rows = append(rows, []string{j.ID, l.state(j.State), strconv.Itoa(j.Priority),
				fmt.Sprintf("%d/%d", j.Attempts, j.MaxRetries+1), l.when(j.RunAt), l.when(j.UpdatedAt),
				clean(j.Command, 40), clean(j.LastError, 40)})
		}
	}
	return l.print(w, l.table(header, rows))
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// stamp shows a time in the local zone, to the second.
func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// clean makes s fit one table cell: control characters shown escaped, and
// at most n runes.
func clean(s string, n int) string {
	if s == "" {
		return "-"
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	s = b.String()
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}
