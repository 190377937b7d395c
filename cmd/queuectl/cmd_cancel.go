package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"github.com/queuectl/queuectl/internal/worker"
	"github.com/spf13/cobra"
)

// cancelAtOnce is how many jobs cancel settles at the same time: running
// jobs that ignore SIGTERM take 2 s each to end, and one at a time that
// adds up.
const cancelAtOnce = 8

func (a *app) cancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID... | cancel -",
		Short: "Cancel jobs: they go to the dead letter queue, running ones ended first",
		Long: `Cancel jobs, named as arguments or, with -, one a line on stdin. A pending,
scheduled or failed job moves to dead/ at once with last_error "cancelled". A
running job has its whole process group terminated by its worker (SIGTERM,
SIGKILL after 2 s), then moves to dead/ the same way; cancel returns once it is
there. dlq retry brings a cancelled job back. Exit 3 if any id is unknown, else
1 if any job had already ended (done or dead); the others are cancelled all the
same.`,
		Example: `  queuectl cancel job-001 job-002
  queuectl list --state pending --json | jq -r '.[].id' | queuectl cancel -`,
		ValidArgsFunction: a.completeJobs(0),
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return &usageError{"missing ID (or - to read ids from stdin)"}
			case slices.Contains(args, "-") && len(args) > 1:
				return &usageError{"- reads the ids from stdin and takes no other argument"}
			}
			return nil
		},
		RunE: op(func(cmd *cobra.Command, args []string) error {
			ids, err := a.jobIDs(args)
			if err != nil {
				return err
			}
			return a.runCancel(cmd.Context(), ids)
		}),
	}
}

// jobIDs returns the ids of args, or those read from stdin, one a line, for
// "-"; each is checked, and one given twice counts once.
func (a *app) jobIDs(args []string) ([]string, error) {
	if len(args) == 1 && args[0] == "-" {
		args = nil
		sc := bufio.NewScanner(a.stdin)
		for sc.Scan() {
			if id := strings.TrimSpace(sc.Text()); id != "" {
				args = append(args, id)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read ids from stdin: %w", err)
		}
		if len(args) == 0 {
			return nil, &usageError{"no ids on stdin"}
		}
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range args {
		if err := job.CheckID(id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// runCancel cancels the jobs ids, several at a time, and prints a line for
// each, in the order given: on stdout what became of it, on stderr why it
// could not be cancelled.
func (a *app) runCancel(ctx context.Context, ids []string) error {
	s, cfg, err := a.openExisting(false)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	type result struct {
		st        spool.State
		cancelled bool
		err       error
		done      chan struct{}
	}
	results := make([]result, len(ids))
	for i := range results {
		results[i].done = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cancelAtOnce, len(ids)) {
		wg.Go(func() {
			for i := range next {
				r := &results[i]
				r.st, r.cancelled, r.err = worker.Cancel(ctx, s, ids[i], cfg)
				close(r.done)
			}
		})
	}
	go func() {
		for i := range ids {
			next <- i
		}
		close(next)
	}()
	defer wg.Wait()
	code := exitOK
	for i, id := range ids {
		r := &results[i]
		<-r.done
		switch {
		case errors.Is(r.err, spool.ErrNotFound):
			fmt.Fprintf(a.stderr, "queuectl: no job with id: %s\n", id)
		case r.err != nil:
			fmt.Fprintf(a.stderr, "queuectl: cannot cancel %s: %s\n", id, oneLine(r.err.Error()))
		case r.cancelled:
			fmt.Fprintf(a.stdout, "job %s cancelled\n", id)
			continue
		default:
			fmt.Fprintf(a.stdout, "job %s already %s\n", id, r.st)
			code = worse(code, exitFailed)
			continue
		}
		code = worse(code, jobCode(r.err))
	}
	if code != exitOK {
		return &resultError{code: code}
	}
	return nil
}
