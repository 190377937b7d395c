package main

import (
	"fmt"

	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

func (a *app) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and retry jobs in the dead letter queue",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &usageError{"dlq needs a command: list or retry"}
		},
	}
	var asJSON bool
	list := &cobra.Command{
		Use:     "list",
		Short:   "List dead jobs: those whose retries are exhausted",
		Example: "  queuectl dlq list\n  queuectl dlq list --json",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runList([]spool.State{spool.Dead}, asJSON)
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of jobs")
	retry := &cobra.Command{
		Use:     "retry ID",
		Short:   "Move a dead job back to pending, with its attempts reset",
		Example: "  queuectl dlq retry job-002",
		Args:    exactArgs("ID"),

		ValidArgsFunction: a.completeJobs(1, spool.Dead),
		RunE: op(func(cmd *cobra.Command, args []string) error {
			s, _, err := a.openExisting(false)
			if err != nil {
				return err
			}
			j, err := s.Retry(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "%s: moved from dead to pending, attempts reset\n", j.ID)
			return err
		}),
	}
	cmd.AddCommand(list, retry)
	return cmd
}
