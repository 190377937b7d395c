package main

import (
	"bufio"
	"time"

	"github.com/queuectl/queuectl/internal/metrics"
	"github.com/spf13/cobra"
)

func (a *app) metricsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "metrics",
		Short: "Print the queue's metrics in the Prometheus text format",
		Long: `Print the queue's metrics in the Prometheus text format: jobs per state,
workers per state, the oldest pending job's age, whether the spool is paused,
and the runs counted by the workers (by outcome, and a histogram of their
durations), which survive worker restarts. With metrics_file set, running
workers keep that file up to date for node_exporter's textfile collector.`,
		Example: "  queuectl metrics\n  queuectl metrics | grep queuectl_jobs",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			s, _, err := a.openReadOnly()
			if err != nil {
				return err
			}
			bw := bufio.NewWriter(a.stdout)
			if err := metrics.Write(bw, s, time.Now().UTC()); err != nil {
				return err
			}
			return bw.Flush()
		}),
	}
}
