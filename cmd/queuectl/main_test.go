package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"queuectl": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"bigjob":   bigjob,
		"exitcode": exitcode,
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
			return nil
		},
	})
}
