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
	Counts  map[spool.State]int `json:"counts"`
	Workers []workerView        `json:"workers"`
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
	s, _, err := a.open()
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
	if asJSON {
		return writeJSON(a.stdout, v)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tJOBS")
	for _, st := range states {
		fmt.Fprintf(tw, "%s\t%d\n", st, v.Counts[st])
	}
	fmt.Fprintf(tw, "\nworkers: %d running\n", len(v.Workers))
	fmt.Fprintf(tw, "spool: %s\n", s.Root())
	return tw.Flush()
}
