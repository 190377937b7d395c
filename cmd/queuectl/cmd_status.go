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
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show how many jobs are in each state, and the workers",
		Example: "  queuectl status\n  queuectl status --json",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runStatus(asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) runStatus(asJSON bool) error {
	s, _, err := a.openReadOnly()
	if err != nil {
		return err
	}
	v := statusView{Counts: map[spool.State]int{}, Workers: []workerView{}}
	states := append(append([]spool.State{}, spool.States...), spool.Rejected)
	for _, st := range states {
		if v.Counts[st], err = s.Count(st); err != nil {
			return err
		}
	}
	v.Paused = s.Paused()
	now := time.Now().UTC()
	oldest, due, err := s.OldestDue(now)
	if err != nil {
		return err
	}
	if due {
		age := now.Sub(oldest).Seconds()
		v.OldestPendingAge = &age
	}
	ws, err := s.Workers(false)
	if err != nil {
		return err
	}
	for _, w := range ws {
		wv := workerView{ID: w.ID, PID: w.PID, Host: w.Host, State: w.State, Job: w.Job, HeartbeatAt: timePtr(w.HeartbeatAt)}
		if !w.Alive {
			wv.State = "stale" // its process is gone; the next worker start or stop clears it
		}
		v.Workers = append(v.Workers, wv)
	}
	if asJSON {
		return writeJSON(a.stdout, v)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tJOBS")
	for _, st := range states {
		fmt.Fprintf(tw, "%s\t%d\n", st, v.Counts[st])
	}
	fmt.Fprintf(tw, "\nspool: %s\n", s.Root())
	if since, ok := s.PausedSince(); ok {
		fmt.Fprintf(tw, "paused since %s: no job is claimed until queuectl resume\n", stamp(&since))
	}
	if v.OldestPendingAge != nil {
		fmt.Fprintf(tw, "oldest pending job: due for %s\n", roundAge(time.Duration(*v.OldestPendingAge*float64(time.Second))))
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

// roundAge rounds a duration for people: 45s, 3m20s, 2h5m.
func roundAge(d time.Duration) string {
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
