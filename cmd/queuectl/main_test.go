package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"queuectl":   func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"bigjob":     bigjob,
		"exitcode":   exitcode,
		"waitfor":    waitfor,
		"within":     within,
		"noprocs":    noprocs,
		"andthen":    andthen,
		"sigworkers": sigworkers,
	})
}

// bigjob PATH SIZE [ID [FILL]] writes a valid job file of exactly SIZE
// bytes, its command the ASCII text FILL (default x) repeated, to test the
// limit on job files.
func bigjob() {
	if len(os.Args) < 3 || len(os.Args) > 5 {
		fmt.Fprintln(os.Stderr, "usage: bigjob PATH SIZE [ID [FILL]]")
		os.Exit(2)
	}
	size, err := strconv.Atoi(os.Args[2])
	head, fill := `{"command": "`, "x"
	if len(os.Args) >= 4 {
		head = `{"id": "` + os.Args[3] + `", "command": "`
	}
	if len(os.Args) == 5 {
		fill = os.Args[4]
	}
	const tail = `"}`
	n := size - len(head) - len(tail)
	if err != nil || fill == "" || n < 1 || strings.ContainsAny(fill, `"\\`) {
		fmt.Fprintln(os.Stderr, "bigjob: bad size or fill")
		os.Exit(2)
	}
	data := head + strings.Repeat(fill, n/len(fill)+1)[:n] + tail
	if err := os.WriteFile(os.Args[1], []byte(data), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bigjob:", err)
		os.Exit(1)
	}
}

// exitcode N queuectl [ARGS...] runs queuectl and succeeds only if it exits
// with status N (testscript's "! exec" tells only failure from success).
// queuectl runs in this process, with the standard streams of this one.
func exitcode() {
	if len(os.Args) < 3 || os.Args[2] != "queuectl" {
		fmt.Fprintln(os.Stderr, "usage: exitcode N queuectl [ARGS...]")
		os.Exit(2)
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "exitcode: bad status %q\n", os.Args[1])
		os.Exit(2)
	}
	if got := run(os.Args[3:], os.Stdin, os.Stdout, os.Stderr); got != want {
		fmt.Fprintf(os.Stderr, "exitcode: queuectl exited with status %d, want %d\n", got, want)
		os.Exit(1)
	}
}

// TestScripts runs the command-line scenarios in testdata/script: each is a
// terminal session with the expected output and exit codes.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Start every script without configuration from the outside.
			env.Setenv("QUEUECTL_CONFIG", "")
			env.Setenv("QUEUECTL_SPOOL", "")
			// Under -race every process exits a second late by default.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			// A script that fails half-way may leave workers (detached
			// ones survive it) and their jobs behind: end them.
			env.Defer(func() {
				if left := stopLeftovers(env.WorkDir); len(left) > 0 {
					env.T().Log("ended processes left in $WORK: " + strings.Join(left, "; "))
				}
			})
			return nil
		},
	})
}

// waitfor polls (every 20ms) until a condition holds, and fails if it does
// not within the deadline: 60 seconds by default, there only to stop a hung
// test, or SECONDS after -t.
//
//	waitfor [-t SECONDS] PATH...                        until every PATH exists
//	waitfor [-t SECONDS] -any PATH...                   until one PATH exists
//	waitfor [-t SECONDS] -grep REGEXP FILE              until FILE's content matches
//	waitfor [-t SECONDS] -group PIDFILE                 until no live process is left in
//	                                                    the process group PIDFILE names
//	waitfor [-t SECONDS] -stdout REGEXP queuectl ARGS...  until queuectl (run in this
//	                                                    process) exits 0 with matching
//	                                                    stdout, which is then printed
//
// REGEXP is matched in multi-line mode, as testscript's stdout and grep do.
func waitfor() {
	usage := func() {
		fmt.Fprintln(os.Stderr, "usage: waitfor [-t SECONDS] [-any] PATH... | -grep REGEXP FILE | -group PIDFILE | -stdout REGEXP queuectl ARGS...")
		os.Exit(2)
	}
	args := os.Args[1:]
	limit := 60 * time.Second
	if len(args) >= 2 && args[0] == "-t" {
		secs, err := strconv.ParseFloat(args[1], 64)
		if err != nil || secs <= 0 {
			usage()
		}
		limit = time.Duration(secs * float64(time.Second))
		args = args[2:]
	}
	if len(args) == 0 {
		usage()
	}
	var check func() (ok bool, why string)
	switch args[0] {
	case "-any":
		if len(args) < 2 {
			usage()
		}
		check = func() (bool, string) {
			for _, p := range args[1:] {
				if _, err := os.Lstat(p); err == nil {
					return true, ""
				}
			}
			return false, "none of " + strings.Join(args[1:], " ") + " exists"
		}
	case "-grep":
		if len(args) != 3 {
			usage()
		}
		re := mustCompile(args[1])
		check = func() (bool, string) {
			data, err := os.ReadFile(args[2])
			if err != nil {
				return false, err.Error()
			}
			if !re.Match(data) {
				return false, fmt.Sprintf("%s does not match %q; it holds:\n%s", args[2], args[1], data)
			}
			return true, ""
		}
	case "-group":
		if len(args) != 2 {
			usage()
		}
		check = func() (bool, string) {
			data, err := os.ReadFile(args[1])
			if err != nil {
				return false, err.Error()
			}
			pgid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil || pgid <= 1 {
				return false, fmt.Sprintf("%s: no process group id in %q", args[1], data)
			}
			left, err := processes(func(p proc) bool { return p.pgrp == pgid })
			if err != nil {
				return false, err.Error()
			}
			if len(left) > 0 {
				return false, fmt.Sprintf("process group %d still has: %s", pgid, strings.Join(left, "; "))
			}
			return true, ""
		}
	case "-stdout":
		if len(args) < 3 || args[2] != "queuectl" {
			usage()
		}
		re := mustCompile(args[1])
		var last string
		check = func() (bool, string) {
			var stdout, stderr bytes.Buffer
			code := run(args[3:], strings.NewReader(""), &stdout, &stderr)
			last = stdout.String()
			if code == 0 && re.MatchString(last) {
				return true, ""
			}
			return false, fmt.Sprintf("queuectl %s exited %d; stdout does not match %q:\n%s%s",
				strings.Join(args[3:], " "), code, args[1], last, stderr.String())
		}
		defer func() { fmt.Print(last) }()
	default:
		check = func() (bool, string) {
			for _, p := range args {
				if _, err := os.Lstat(p); err != nil {
					return false, p + " does not exist" + listing(filepath.Dir(p))
				}
			}
			return true, ""
		}
	}
	deadline := time.Now().Add(limit)
	for {
		ok, why := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "waitfor: after %v: %s\n", limit, why)
			os.Exit(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustCompile(expr string) *regexp.Regexp {
	re, err := regexp.Compile("(?m)" + expr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad regexp:", err)
		os.Exit(2)
	}
	return re
}

// listing says what directory dir holds, for failure messages.
func listing(dir string) string {
	des, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return fmt.Sprintf(" (%s holds: %s)", dir, strings.Join(names, " "))
}

// within SECONDS queuectl [ARGS...] runs queuectl, in this process with
// the standard streams of this one, and succeeds only if it exits 0 within
// SECONDS.
func within() {
	if len(os.Args) < 3 || os.Args[2] != "queuectl" {
		fmt.Fprintln(os.Stderr, "usage: within SECONDS queuectl [ARGS...]")
		os.Exit(2)
	}
	secs, err := strconv.ParseFloat(os.Args[1], 64)
	if err != nil || secs <= 0 {
		fmt.Fprintf(os.Stderr, "within: bad seconds %q\n", os.Args[1])
		os.Exit(2)
	}
	start := time.Now()
	code := run(os.Args[3:], os.Stdin, os.Stdout, os.Stderr)
	took := time.Since(start)
	if code != 0 {
		fmt.Fprintf(os.Stderr, "within: queuectl exited with status %d\n", code)
		os.Exit(1)
	}
	if took > time.Duration(secs*float64(time.Second)) {
		fmt.Fprintf(os.Stderr, "within: queuectl took %v, more than %gs\n", took.Round(time.Millisecond), secs)
		os.Exit(1)
	}
}

// andthen queuectl A... -- queuectl B... runs queuectl A as a process of
// its own, then, as soon as it has exited, queuectl B in this process, with
// the standard streams of this one: B sees the state that A left, without
// the start-up time of one more process in which what A started in the
// background could catch up. It fails if A or B fails. (A runs as its own
// process because queuectl re-executes itself to start detached workers.)
func andthen() {
	args := os.Args[1:]
	i := slices.Index(args, "--")
	if i < 1 || args[0] != "queuectl" || len(args) < i+2 || args[i+1] != "queuectl" {
		fmt.Fprintln(os.Stderr, "usage: andthen queuectl ARGS... -- queuectl ARGS...")
		os.Exit(2)
	}
	cmd := exec.Command("queuectl", args[1:i]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "andthen: queuectl %s: %v\n", strings.Join(args[1:i], " "), err)
		os.Exit(1)
	}
	if code := run(args[i+2:], os.Stdin, os.Stdout, os.Stderr); code != 0 {
		fmt.Fprintf(os.Stderr, "andthen: queuectl %s exited with status %d\n", strings.Join(args[i+2:], " "), code)
		os.Exit(1)
	}
}

// noprocs [-t SECONDS] succeeds once no process but itself runs in $WORK
// (as its working directory): no worker and no job is left behind. Processes
// get up to SECONDS (default 10; short, so that a leftover job such as
// "sleep 60" cannot end by itself in time) to finish exiting. Needs /proc.
func noprocs() {
	limit := 10 * time.Second
	if len(os.Args) == 3 && os.Args[1] == "-t" {
		secs, err := strconv.ParseFloat(os.Args[2], 64)
		if err != nil || secs <= 0 {
			fmt.Fprintf(os.Stderr, "noprocs: bad seconds %q\n", os.Args[2])
			os.Exit(2)
		}
		limit = time.Duration(secs * float64(time.Second))
	} else if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: noprocs [-t SECONDS]")
		os.Exit(2)
	}
	work := os.Getenv("WORK")
	deadline := time.Now().Add(limit)
	for {
		left, err := inDir(work)
		if err != nil {
			fmt.Fprintln(os.Stderr, "noprocs:", err)
			os.Exit(1)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "noprocs: after %v, still running in $WORK: %s\n", limit, strings.Join(left, "; "))
			os.Exit(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopLeftovers ends the processes that run in dir: SIGTERM, then SIGKILL
// after 5 seconds. It returns what it found.
func stopLeftovers(dir string) []string {
	left, err := inDir(dir)
	if err != nil || len(left) == 0 {
		return nil
	}
	signalAll := func(sig syscall.Signal) {
		ps, _ := processesIn(dir)
		for _, p := range ps {
			if pr, err := os.FindProcess(p.pid); err == nil {
				_ = pr.Signal(sig)
			}
		}
	}
	signalAll(syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if now, _ := inDir(dir); len(now) == 0 {
			return left
		}
	}
	signalAll(syscall.SIGKILL)
	return left
}

// proc is a process as /proc/PID/stat tells it.
type proc struct {
	pid, pgrp int
	desc      string // pid and command line, for messages
}

// processes lists the live (not zombie) processes other than this one for
// which keep returns true, described by pid and command line.
func processes(keep func(proc) bool) ([]string, error) {
	ps, err := allProcs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range ps {
		if keep(p) {
			out = append(out, p.desc)
		}
	}
	return out, nil
}

// inDir lists the live processes other than this one whose working
// directory is dir or below it.
func inDir(dir string) ([]string, error) {
	ps, err := processesIn(dir)
	var out []string
	for _, p := range ps {
		out = append(out, p.desc)
	}
	return out, err
}

func processesIn(dir string) ([]proc, error) {
	if dir == "" {
		return nil, fmt.Errorf("no directory given")
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	ps, err := allProcs()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ps, func(p proc) bool {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p.pid))
		return err != nil || (cwd != dir && !strings.HasPrefix(cwd, dir+string(filepath.Separator)))
	}), nil
}

func allProcs() ([]proc, error) {
	des, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes needs /proc: %w", err)
	}
	self := os.Getpid()
	var out []proc
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile("/proc/" + de.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		pgrp, _ := strconv.Atoi(f[2])
		cmdline, _ := os.ReadFile("/proc/" + de.Name() + "/cmdline")
		desc := strconv.Itoa(pid) + " " + strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		out = append(out, proc{pid: pid, pgrp: pgrp, desc: desc})
	}
	return out, nil
}
