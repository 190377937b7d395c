package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/queuectl/queuectl/internal/worker"
	"github.com/spf13/cobra"
)

func (a *app) doctorCmd() *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a spool for problems, and repair what is safe to repair",
		Long: `Check the spool and say what is wrong: missing directories, a spool others
can write, files that are not valid jobs, a job in two directories, jobs in
processing/ whose worker is gone, stale temporary files, files of workers
that are no longer running. With --repair, fix what is safe: a job is never
deleted (invalid files go to rejected/, orphans back to pending/; of a job in
two directories the copy furthest along is kept and the other goes to
rejected/). Exits 1 while problems remain.`,
		Example: "  queuectl doctor\n  queuectl doctor --repair",
		Args:    noArgs,
		RunE: op(func(cmd *cobra.Command, args []string) error {
			return a.runDoctor(repair)
		}),
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "fix what can be fixed safely")
	return cmd
}

func (a *app) runDoctor(repair bool) error {
	// Without --repair doctor only reads; with it, it mends a spool that
	// exists and creates none.
	s, cfg, err := a.openExisting(!repair)
	if err != nil {
		return err
	}
	findings, err := s.Check()
	if err != nil {
		return err
	}
	left := 0
	// Orphans first: putting one back kills what is left of its run, which
	// only the dead worker's heartbeat names, so heartbeats must still be
	// there (the stale-worker repair removes them).
	if repair {
		for _, f := range findings {
			if f.Kind == "orphan" {
				n := worker.RecoverOrphans(s, cfg.MaxRetries, cfg.MaxInterrupts, slog.New(slog.NewTextHandler(io.Discard, nil)))
				fmt.Fprintf(a.stdout, "put back %d orphan(s) before the other repairs\n", n)
				break
			}
		}
	}
	for _, f := range findings {
		fmt.Fprintf(a.stdout, "%s: %s\n", oneLine(f.Path), oneLine(f.Msg))
		if !repair || f.Fix == "" {
			left++
			continue
		}
		if f.Kind == "orphan" {
			fmt.Fprintf(a.stdout, "  repaired: %s\n", f.Fix)
			continue
		}
		if err := s.Repair(f); err != nil {
			fmt.Fprintf(a.stdout, "  not repaired: %v\n", err)
			left++
			continue
		}
		fmt.Fprintf(a.stdout, "  repaired: %s\n", f.Fix)
	}
	switch {
	case len(findings) == 0:
		fmt.Fprintf(a.stdout, "spool %s: no problems found\n", s.Root())
		return nil
	case left == 0:
		fmt.Fprintf(a.stdout, "spool %s: %d problem(s) repaired\n", s.Root(), len(findings))
		return nil
	case repair:
		return fmt.Errorf("spool %s: %d problem(s) left to fix by hand", s.Root(), left)
	}
	return fmt.Errorf("spool %s: %d problem(s); queuectl doctor --repair fixes what is safe to fix", s.Root(), left)
}
