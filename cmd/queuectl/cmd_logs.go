package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

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
		Args: exactArgs("ID"),
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runLogs(args[0], follow)
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing output while the job runs or waits to run")
	return cmd
}

func (a *app) runLogs(id string, follow bool) error {
	if err := job.CheckID(id); err != nil {
		return err
	}
	s, _, err := a.open()
	if err != nil {
		return err
	}
	st, findErr := s.Find(id)
	f, err := os.Open(s.LogPath(id))
	if errors.Is(err, os.ErrNotExist) {
		if findErr != nil {
			return findErr
		}
		if st == spool.Done || st == spool.Dead {
			return nil // it ran and printed nothing: no log is kept
		}
		if !follow {
			return fmt.Errorf("job %s is %s and has no output yet", id, st)
		}
		for errors.Is(err, os.ErrNotExist) && !finished(s, id) {
			time.Sleep(100 * time.Millisecond)
			f, err = os.Open(s.LogPath(id))
		}
		if err != nil {
			return findErr
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if _, err := io.Copy(a.stdout, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		if finished(s, id) {
			_, err := io.Copy(a.stdout, f) // what was written before the end
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finished reports whether job id will not run again by itself: it is done,
// dead, or gone.
func finished(s *spool.Spool, id string) bool {
	st, err := s.Find(id)
	return err != nil || st == spool.Done || st == spool.Dead
}
