package main

import (
	"fmt"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/spf13/cobra"
)

// purgeOpts are the flags of purge.
type purgeOpts struct {
	state     string
	olderThan string
	all       bool
}

func (a *app) purgeCmd() *cobra.Command {
	var o purgeOpts
	cmd := &cobra.Command{
		Use:   "purge --state STATE (--older-than D | --all)",
		Short: "Remove done, dead or rejected jobs, with their logs",
		Long: `Remove the jobs in done/ or dead/ (each with its log), or the files in
rejected/ (each with its .reason file), that were last updated more than D
ago, or all of them. A job's last update is its updated_at (its file's
mtime if it has none); a rejected file's is its mtime. Prints how many it
removed. Removing a job frees its id; a new job with that id starts with no
log. Jobs that may still run (pending, processing, failed) are never
purged: cancel them first.

Running workers also remove old done jobs by themselves: see done_retention
and dead_retention in queuectl config list.`,
		Example: `  queuectl purge --state done --older-than 7d
  queuectl purge --state dead --older-than 12h
  queuectl purge --state rejected --all`,
		Args: noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runPurge(cmd, o)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.state, "state", "", "done (or completed), dead or rejected")
	f.StringVar(&o.olderThan, "older-than", "", "remove what was last updated longer ago than this: 7d, 12h, 30m, 90s or seconds")
	f.BoolVar(&o.all, "all", false, "remove every job (or file) in the state")
	return cmd
}

func (a *app) runPurge(cmd *cobra.Command, o purgeOpts) error {
	flags := cmd.Flags()
	if !flags.Changed("state") {
		return &usageError{"purge needs --state: done, dead or rejected"}
	}
	if err := exclusive(cmd, "older-than", "all", "give an age, or --all for everything"); err != nil {
		return err
	}
	if !flags.Changed("older-than") && !flags.Changed("all") {
		return &usageError{"purge needs --older-than D (such as 7d) or --all"}
	}
	st, err := spool.ParseState(o.state)
	if err != nil {
		return err
	}
	switch st {
	case spool.Pending, spool.Processing, spool.Failed:
		return fmt.Errorf("--state %s: %s jobs may still run and are never purged; use queuectl cancel (they move to dead/), then purge --state dead", o.state, st)
	}
	popts := spool.PurgeOptions{All: o.all}
	var age time.Duration
	if !o.all {
		secs, err := parseSeconds("--older-than", o.olderThan)
		if err != nil {
			return err
		}
		age = config.Seconds(secs)
	}
	s, _, err := a.openExisting(false)
	if err != nil {
		return err
	}
	popts.Before = s.Now().Add(-age)
	n, err := s.Purge(cmd.Context(), st, popts)
	what := "job(s)"
	if st == spool.Rejected {
		what = "file(s)"
	}
	if n > 0 || err == nil {
		fmt.Fprintf(a.stdout, "removed %d %s from %s/\n", n, what, st)
	}
	return err
}
