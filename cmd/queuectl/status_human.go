package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/queuectl/queuectl/internal/spool"
)

// printStatusHuman prints status for people on a terminal: what the plain
// text says, with the states in colour and times relative to now.
func printStatusHuman(w io.Writer, s *spool.Spool, v statusView, l looks) error {
	rows := make([][]string, 0, len(statusStates))
	for _, st := range statusStates {
		rows = append(rows, []string{l.state(string(st)), strconv.Itoa(v.Counts[st])})
	}
	out := l.table([]string{"STATE", "JOBS"}, rows)
	out += fmt.Sprintf("\nspool: %s\n", s.Root())
	if since, ok := s.PausedSince(); ok {
		out += fmt.Sprintf("paused since %s: no job is claimed until queuectl resume\n", whenBoth(l, &since))
	}
	if v.OldestPendingAge != nil {
		out += fmt.Sprintf("oldest pending job: due for %s\n", v.oldestDue())
	}
	if len(v.Workers) == 0 {
		out += "workers: none running\n"
	} else {
		rows = rows[:0]
		for _, wk := range v.Workers {
			rows = append(rows, []string{wk.ID, strconv.Itoa(wk.PID), wk.Host, l.state(wk.State), clean(wk.Job, 40), l.when(wk.HeartbeatAt)})
		}
		out += "\n" + l.table([]string{"WORKER", "PID", "HOST", "STATE", "JOB", "HEARTBEAT"}, rows)
	}
	return l.print(w, out)
}
