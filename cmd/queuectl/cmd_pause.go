package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) pauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause",
		Short: "Hold the queue: no worker claims a job until resume; running jobs finish",
		Long: `Pause the whole spool: no worker, running now or started later, claims a job
until queuectl resume. Jobs already running finish. Once pause returns, no job
starts that was not already in processing/. status shows that the spool is
paused.`,
		Example: "  queuectl pause\n  queuectl resume",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			s, _, err := a.openExisting(false)
			if err != nil {
				return err
			}
			was, err := s.Pause()
			if err != nil {
				return err
			}
			if was {
				_, err = fmt.Fprintln(a.stdout, "already paused")
			} else {
				_, err = fmt.Fprintln(a.stdout, "paused: no new jobs start until queuectl resume; running jobs finish")
			}
			return err
		}),
	}
}

func (a *app) resumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "resume",
		Short:   "Let workers claim jobs again after pause",
		Example: "  queuectl resume",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			s, _, err := a.openExisting(false)
			if err != nil {
				return err
			}
			was, err := s.Resume()
			if err != nil {
				return err
			}
			if was {
				_, err = fmt.Fprintln(a.stdout, "resumed")
			} else {
				_, err = fmt.Fprintln(a.stdout, "not paused")
			}
			return err
		}),
	}
}
