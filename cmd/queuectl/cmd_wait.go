package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

func (a *app) waitCmd() *cobra.Command {
	var timeout string
	cmd := &cobra.Command{
		Use:   "wait ID...",
		Short: "Wait until jobs are done or dead",
		Long: `Wait until every job named is done or dead, printing a line for each as it
ends. Exit 0 when all are done, 1 when any is dead, 3 for an unknown id (before
waiting), 75 when --timeout passes first.`,
		Example: `  queuectl wait job-001 job-002
  queuectl wait --timeout 5m job-001`,
		ValidArgsFunction: a.completeJobs(0),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{"missing ID"}
			}
			return nil
		},
		RunE: op(func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			if cmd.Flags().Changed("timeout") {
				secs, err := parseSeconds("--timeout", timeout)
				if err != nil {
					return err
				}
				d = config.Seconds(secs)
			}
			ids, err := a.jobIDs(args)
			if err != nil {
				return err
			}
			return a.runWait(cmd.Context(), ids, d)
		}),
	}
	cmd.Flags().StringVar(&timeout, "timeout", "", "give up after this long (seconds or a duration such as 5m): exit 75")
	return cmd
}

// runWait waits for the jobs ids to end, within timeout if it is not 0.
func (a *app) runWait(ctx context.Context, ids []string, timeout time.Duration) error {
	s, cfg, err := a.openReadOnly()
	if err != nil {
		return err
	}
	code := exitOK
	for _, id := range ids {
		if _, err := s.Find(id); err != nil {
			fmt.Fprintf(a.stderr, "queuectl: %s\n", oneLine(err.Error()))
			code = worse(code, jobCode(err))
		}
	}
	if code != exitOK {
		return &resultError{code: code} // before waiting
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var dead []string
	ended := map[string]bool{}
	err = s.Await(ctx, ids, config.Seconds(cfg.PollInterval), func(id string, st spool.State) error {
		ended[id] = true
		if st == spool.Done {
			_, err := fmt.Fprintf(a.stdout, "job %s done\n", id)
			return err
		}
		dead = append(dead, id)
		why := ""
		if j, err := s.Read(spool.Dead, id); err == nil && j.LastError != "" {
			why = " (" + oneLine(j.LastError) + ")"
		}
		_, err := fmt.Fprintf(a.stdout, "job %s dead%s\n", id, why)
		return err
	})
	if errors.Is(err, context.DeadlineExceeded) {
		var left []string
		for _, id := range ids {
			if !ended[id] {
				left = append(left, id)
			}
		}
		return &timeoutError{fmt.Sprintf("timed out after %s waiting for %s; nothing was changed, wait again to go on", timeout, strings.Join(left, ", "))}
	}
	if err != nil {
		return err
	}
	switch len(dead) {
	case 0:
		return nil
	case 1:
		return deadError(s, dead[0])
	}
	return fmt.Errorf("%d jobs are dead: %s; queuectl dlq list says why", len(dead), strings.Join(dead, ", "))
}
