//go:build linux

package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// powercutCheck checks a spool after a power cut (its disk image mounted
// on the host) against what the guest's serial consoles recorded: "ACK id"
// once enqueue acknowledged a job, "RUN id attempt" when a run started.
//
//   - every acknowledged job is in exactly one state directory;
//   - every file in a state directory is a complete, valid job (a torn or
//     empty file would be a write made visible before it was durable);
//   - attempts, as queuectl reads it, is at least the number of runs seen
//     (each RUN line is one started run) and at least the highest attempt
//     number a run was given;
//   - with -drained, every acknowledged job is done or dead and ran.
//
// The files named as arguments hold the ACK and RUN lines to check
// against: the consoles, or, when the disk was rebuilt from a
// dm-log-writes log, the marks the guest put in the log (see logReplay).
// -console names consoles whose acknowledgements are only counted: a job
// acknowledged there but not in the log was acknowledged after the last
// flush the log holds, and the replayed disk may rightly lack it.
func powercutCheck(args []string) error {
	fs := flag.NewFlagSet("powercut-check", flag.ExitOnError)
	spoolDir := fs.String("spool", "", "the spool on the mounted image")
	drained := fs.Bool("drained", false, "the queue was drained: every acked job must be done or dead")
	var consoles fileList
	fs.Var(&consoles, "console", "a console whose acks are counted, not checked (repeatable)")
	_ = fs.Parse(args)
	acked := map[string]bool{}
	runs := map[string][]int{}
	for _, path := range fs.Args() {
		if err := readConsole(path, acked, runs); err != nil {
			return err
		}
	}
	consoleAcked := map[string]bool{}
	for _, path := range consoles {
		if err := readConsole(path, consoleAcked, map[string][]int{}); err != nil {
			return err
		}
	}
	consoleOnly := 0
	for id := range consoleAcked {
		if !acked[id] {
			consoleOnly++
		}
	}
	var problems []string
	where := map[string][]spool.State{}
	files, tmp := 0, 0
	for _, st := range spool.States {
		dir := filepath.Join(*spoolDir, string(st))
		des, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, de := range des {
			id, ok := strings.CutSuffix(de.Name(), ".json")
			if !ok {
				problems = append(problems, fmt.Sprintf("%s/%s: not a job file", st, de.Name()))
				continue
			}
			files++
			data, err := os.ReadFile(filepath.Join(dir, de.Name()))
			if err != nil {
				return err
			}
			if _, err := job.Parse(data, id); err != nil {
				problems = append(problems, fmt.Sprintf("%s/%s: not a valid job (%d bytes): %v", st, de.Name(), len(data), err))
				continue
			}
			where[id] = append(where[id], st)
		}
	}
	if des, err := os.ReadDir(filepath.Join(*spoolDir, "tmp")); err == nil {
		tmp = len(des)
	}
	s, err := spool.OpenExisting(*spoolDir, spool.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	var lost, twice, fewer, notDone, notRun int
	for id := range acked {
		sts := where[id]
		switch {
		case len(sts) == 0:
			lost++
			problems = append(problems, id+": acknowledged, but in no state")
			continue
		case len(sts) > 1:
			twice++
			problems = append(problems, fmt.Sprintf("%s: in %v", id, sts))
		}
		j, err := s.Read(sts[0], id)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", id, err))
			continue
		}
		n, top := len(runs[id]), 0
		for _, a := range runs[id] {
			top = max(top, a)
		}
		if j.Attempts < n || j.Attempts < top {
			fewer++
			problems = append(problems, fmt.Sprintf("%s (%s): attempts %d, but %d run(s) seen, the last as attempt %d", id, sts[0], j.Attempts, n, top))
		}
		if *drained {
			if sts[0] != spool.Done && sts[0] != spool.Dead {
				notDone++
				problems = append(problems, fmt.Sprintf("%s: %s after the drain", id, sts[0]))
			}
			if n == 0 {
				notRun++
				problems = append(problems, id+": never ran")
			}
		}
	}
	unacked := 0
	for id := range where {
		if !acked[id] && !consoleAcked[id] {
			unacked++ // being enqueued when the power went: either way is right
		}
	}
	total := 0
	for _, r := range runs {
		total += len(r)
	}
	fmt.Printf("acked %d, job files %d (unacked %d), runs seen %d, lost %d, in two states %d, invalid files %d, attempts below runs %d, not finished %d, never ran %d, files in tmp/ %d\n",
		len(acked), files, unacked, total, lost, twice, countPrefix(problems, "not a valid"), fewer, notDone, notRun, tmp)
	if len(consoles) > 0 {
		fmt.Printf("  acked on the console but not in the log, so not checked: %d\n", consoleOnly)
	}
	for i, p := range problems {
		if i == 20 {
			fmt.Printf("... and %d more\n", len(problems)-20)
			break
		}
		fmt.Println("  " + p)
	}
	if len(acked) == 0 {
		problems = append(problems, "no job was acknowledged: the load did not run")
	}
	if len(problems) > 0 {
		return errors.New("FAIL")
	}
	return nil
}

// fileList is a repeatable flag of file names.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func countPrefix(problems []string, sub string) int {
	n := 0
	for _, p := range problems {
		if strings.Contains(p, sub) {
			n++
		}
	}
	return n
}

// readConsole reads the ACK and RUN lines of one serial console log.
func readConsole(path string, acked map[string]bool, runs map[string][]int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimRight(sc.Text(), "\r"))
		switch {
		case len(fields) == 2 && fields[0] == "ACK":
			acked[fields[1]] = true
		case len(fields) == 3 && fields[0] == "RUN":
			a, err := strconv.Atoi(fields[2])
			if err != nil {
				continue
			}
			runs[fields[1]] = append(runs[fields[1]], a)
		}
	}
	return sc.Err()
}
