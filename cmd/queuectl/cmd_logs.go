package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

func (a *app) logsCmd() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print the captured output of a job, every attempt",
		Example: `  queuectl logs job-001
  queuectl logs --follow job-001`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: a.completeJobs(1),
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runLogs(args[0], follow)
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing output while the job runs or waits to run")
	return cmd
}

// runLogs prints the log of job id. A job that printed nothing has no log,
// and that is not an error: it prints nothing. With follow it waits for the
// job to end and returns an error (exit 1) if it ended dead, as wait does.
func (a *app) runLogs(id string, follow bool) error {
	if err := job.CheckID(id); err != nil {
		return err
	}
	s, cfg, err := a.openReadOnly()
	if err != nil {
		return err
	}
	if _, err := s.Find(id); err != nil {
		return err
	}
	f, err := os.Open(s.LogPath(id))
	switch {
	case errors.Is(err, os.ErrNotExist) && !follow:
		return nil
	case errors.Is(err, os.ErrNotExist):
		f = nil // not written yet: look again while following
	case err != nil:
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	// Woken by notifications: output added to the log, the job reaching
	// done/ or dead/ (a rescan every poll_interval where there are none).
	var changes *spool.Changes
	if follow {
		changes = s.Watch(config.Seconds(cfg.PollInterval), true, spool.Done, spool.Dead)
		defer changes.Close()
	}
	for {
		// The state is taken before the output is copied: once the job
		// is seen ended, what it printed is all in the log.
		st, findErr := s.Find(id)
		if f == nil {
			if f, err = os.Open(s.LogPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if err != nil {
				f = nil
			}
		}
		if f != nil {
			if _, err := io.Copy(a.stdout, f); err != nil {
				return err
			}
		}
		switch {
		case !follow:
			return nil
		case findErr != nil:
			return findErr // removed while followed
		case st == spool.Done:
			return nil
		case st == spool.Dead:
			return deadError(s, id)
		}
		awaitChange(changes, id)
	}
}

// awaitChange waits for a change that may concern job id.
func awaitChange(c *spool.Changes, id string) {
	for changed := range c.C {
		if changed == "" || changed == id {
			return
		}
	}
}

// deadError says that job id ended in the dead letter queue, and why.
func deadError(s *spool.Spool, id string) error {
	why := ""
	if j, err := s.Read(spool.Dead, id); err == nil && j.LastError != "" {
		why = " (" + oneLine(j.LastError) + ")"
	}
	return fmt.Errorf("job %s is dead%s; queuectl dlq retry %s runs it again", id, why, id)
}
