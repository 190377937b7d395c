package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

// statusView is status --json, as the contract gives it.
type statusView struct {
	Counts map[spool.State]int `json:"counts"`
	Paused bool                `json:"paused"`
	// OldestPendingAge is how long the longest-waiting claimable job has
	// been due, in seconds; absent when no job is due.
	OldestPendingAge *float64     `json:"oldest_pending_age_seconds,omitempty"`
	Workers          []workerView `json:"workers"`
}

// workerView is one worker in status --json.
type workerView struct {
	ID          string     `json:"id"`
	PID         int        `json:"pid"`
	Host        string     `json:"host"`
	State       string     `json:"state"`
	Job         string     `json:"job"`
	HeartbeatAt *time.Time `json:"heartbeat_at"`
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON, watch bool
	interval := time.Second
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show how many jobs are in each state, and the workers",
		Long: `Show how many jobs are in each state, and the workers. With --watch, a live
view: on a terminal it redraws in place until q or Ctrl-C; otherwise it prints
a snapshot every --interval until interrupted.`,
		Example: "  queuectl status\n  queuectl status --json\n  queuectl status --watch --interval 2s",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			if watch && asJSON {
				return &usageError{"--watch and --json cannot be combined: --json prints one snapshot"}
			}
			if cmd.Flags().Changed("interval") && !watch {
				return &usageError{"--interval goes with --watch"}
			}
			if watch {
				return a.runWatch(interval)
			}
			return a.runStatus(asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&watch, "watch", false, "keep showing the status: redrawn in place on a terminal, a snapshot every --interval otherwise")
	cmd.Flags().Var(newSecondsFlag(&interval, time.Hour), "interval", "with --watch: time between refreshes, seconds or a duration such as 500ms")
	return cmd
}

// collectStatus reads what status shows.
func collectStatus(s *spool.Spool, now time.Time) (statusView, error) {
	v := statusView{Counts: map[spool.State]int{}, Workers: []workerView{}}
	var err error
	for _, st := range statusStates {
		if v.Counts[st], err = s.Count(st); err != nil {
			return v, err
		}
	}
	v.Paused = s.Paused()
	oldest, due, err := s.OldestDue(now)
	if err != nil {
		return v, err
	}
	if due {
		age := now.Sub(oldest).Seconds()
		v.OldestPendingAge = &age
	}
	ws, err := s.Workers(false)
	if err != nil {
		return v, err
	}
	for _, w := range ws {
		wv := workerView{ID: w.ID, PID: w.PID, Host: w.Host, State: w.State, Job: w.Job, HeartbeatAt: timePtr(w.HeartbeatAt)}
		if !w.Alive {
			wv.State = "stale" // its process is gone; the next worker start or stop clears it
		}
		v.Workers = append(v.Workers, wv)
	}
	return v, nil
}

// statusStates are the states status counts, in the order it shows them.
var statusStates = append(append([]spool.State{}, spool.States...), spool.Rejected)

func (a *app) runStatus(asJSON bool) error {
	s, _, err := a.openReadOnly()
	if err != nil {
		return err
	}
	v, err := collectStatus(s, time.Now().UTC())
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(a.stdout, v)
	}
	l := looksFor(a.stdout)
	if l.human {
		return printStatusHuman(a.stdout, s, v, l)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tJOBS")
	for _, st := range statusStates {
		fmt.Fprintf(tw, "%s\t%d\n", st, v.Counts[st])
	}
	fmt.Fprintf(tw, "\nspool: %s\n", s.Root())
	if since, ok := s.PausedSince(); ok {
		fmt.Fprintf(tw, "paused since %s: no job is claimed until queuectl resume\n", stamp(&since))
	}
	if v.OldestPendingAge != nil {
		fmt.Fprintf(tw, "oldest pending job: due for %s\n", v.oldestDue())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.Workers) == 0 {
		_, err := fmt.Fprintln(a.stdout, "workers: none running")
		return err
	}
	tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nWORKER\tPID\tHOST\tSTATE\tJOB\tHEARTBEAT")
	for _, w := range v.Workers {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", w.ID, w.PID, w.Host, w.State, clean(w.Job, 40), stamp(w.HeartbeatAt))
	}
	return tw.Flush()
}

// oldestDue says, for people, how long the oldest claimable job has been
// due; only when OldestPendingAge is set.
func (v *statusView) oldestDue() string {
	return roundAge(time.Duration(*v.OldestPendingAge * float64(time.Second)))
}

// roundAge rounds a duration for people: 45s, 3m20s, 2h5m.
func roundAge(d time.Duration) string {
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
