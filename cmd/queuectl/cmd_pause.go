package main

import (
	"fmt"

	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

func (a *app) pauseCmd() *cobra.Command {
	cmd := a.toggleCmd((*spool.Spool).Pause,
		"already paused", "paused: no new jobs start until queuectl resume; running jobs finish")
	cmd.Use = "pause"
	cmd.Short = "Hold the queue: no worker claims a job until resume; running jobs finish"
	cmd.Long = `Pause the whole spool: no worker, running now or started later, claims a job
until queuectl resume. Jobs already running finish. Once pause returns, no job
starts that was not already in processing/. status shows that the spool is
paused.`
	cmd.Example = "  queuectl pause\n  queuectl resume"
	return cmd
}

func (a *app) resumeCmd() *cobra.Command {
	cmd := a.toggleCmd((*spool.Spool).Resume, "resumed", "not paused")
	cmd.Use = "resume"
	cmd.Short = "Let workers claim jobs again after pause"
	cmd.Example = "  queuectl resume"
	return cmd
}

// toggleCmd is pause or resume: set does the change and says whether the
// flag was set before, which picks the message.
func (a *app) toggleCmd(set func(*spool.Spool) (bool, error), ifWas, ifWasNot string) *cobra.Command {
	return &cobra.Command{
		Args: noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			s, _, err := a.openExisting(false)
			if err != nil {
				return err
			}
			was, err := set(s)
			if err != nil {
				return err
			}
			msg := ifWasNot
			if was {
				msg = ifWas
			}
			_, err = fmt.Fprintln(a.stdout, msg)
			return err
		}),
	}
}
