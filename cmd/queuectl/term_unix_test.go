//go:build !windows

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// These tests run queuectl (this test binary, put in $PATH as queuectl by
// testscript.Main) in a pseudo-terminal, as a person at a terminal would.

// hang is how long a test waits for what must come: there only to stop a
// hung test, never a measure of speed.
const hang = 60 * time.Second

// colourCode matches an ANSI foreground colour.
var colourCode = regexp.MustCompile(`\x1b\[(3[0-7]|38;[0-9;]+)m`)

// screen collects what a program writes to a terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until what the screen shows matches re.
func (s *screen) waitFor(t *testing.T, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(hang); !r.MatchString(s.String()); {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%q", re, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// termEnv is the environment of a program at a colour terminal, with
// NO_COLOR set to noColor unless that is empty.
func termEnv(noColor string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") && !strings.HasPrefix(kv, "QUEUECTL_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TERM=xterm-256color", "GORACE=atexit_sleep_ms=0")
	if noColor != "" {
		env = append(env, "NO_COLOR="+noColor)
	}
	return env
}

// startInPTY starts queuectl with args at a terminal of its own; what it
// shows collects in the returned screen.
func startInPTY(t *testing.T, env []string, args ...string) (*exec.Cmd, *os.File, *screen) {
	t.Helper()
	cmd := exec.Command("queuectl", args...)
	cmd.Env = env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	scr := &screen{}
	copied := make(chan struct{})
	go func() {
		io.Copy(scr, tty) // ends with an error once the program has gone
		close(copied)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
		<-copied
	})
	return cmd, tty, scr
}

// waitExit waits for cmd to end and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(hang):
		t.Fatalf("queuectl %s did not exit", strings.Join(cmd.Args[1:], " "))
		return -1
	}
}

// TestWatchInTerminal starts status --watch at a terminal, sees the counts
// drawn, quits it with a key and checks that it exits 0; and that NO_COLOR
// takes the colours away. (That a redraw shows new counts is
// TestWatchModelRedraws: the terminal gets only the cells that changed.)
func TestWatchInTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, noColor, key string
		colour             bool
	}{
		{name: "q", key: "q", colour: true},
		{name: "ctrl-c", key: "\x03", colour: true},
		{name: "NO_COLOR", noColor: "yes", key: "q", colour: false}, // any value, as no-color.org says
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := newSpool(t, "a", "b")
			cmd, tty, scr := startInPTY(t, termEnv(tt.noColor), "status", "--watch", "--interval", "200ms", "--spool", dir)
			scr.waitFor(t, `pending(\x1b\[[0-9;]*m)* 2  (\x1b\[[0-9;]*m)*processing`)
			scr.waitFor(t, `paused: no`)
			if _, err := tty.WriteString(tt.key); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd); code != 0 {
				t.Fatalf("exit code %d, want 0; the terminal shows:\n%q", code, scr.String())
			}
			if got := colourCode.MatchString(scr.String()); got != tt.colour {
				t.Errorf("colour shown: %v, want %v; the terminal shows:\n%q", got, tt.colour, scr.String())
			}
		})
	}
}

// TestWatchPlain runs status --watch with its output in a pipe: a
// snapshot every interval (three are read), until SIGINT, then exit 0. The interval is
// checked loosely, as a lower bound only.
func TestWatchPlain(t *testing.T) {
	t.Parallel()
	dir := newSpool(t, "a", "b")
	const interval = 300 * time.Millisecond
	cmd := exec.Command("queuectl", "status", "--watch", "--interval", interval.String(), "--spool", dir)
	cmd.Env = append(termEnv(""), "TZ=UTC")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errs bytes.Buffer
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var stamps []time.Time
	var text strings.Builder
	sc := bufio.NewScanner(out)
	for len(stamps) < 3 && sc.Scan() {
		line := sc.Text()
		text.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "== "); ok {
			at, err := time.Parse(snapshotTime, strings.Fields(rest)[0])
			if err != nil {
				t.Fatalf("snapshot header %q: %v", line, err)
			}
			stamps = append(stamps, at)
		}
	}
	if len(stamps) < 3 {
		t.Fatalf("fewer than three snapshots before the output ended:\n%s\nstderr: %s", text.String(), errs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0; stderr: %s", code, errs.String())
	}
	if gap := stamps[1].Sub(stamps[0]); gap < interval/2 {
		t.Errorf("snapshots %v apart, want about %v", gap, interval)
	}
	got := text.String()
	for _, want := range []string{
		"\npending 2  processing 0  failed 0  done 0  dead 0  rejected 0\n",
		"\nfinished: measuring (from the next refresh on)\n",
		"\nfinished: 0 in the last ",
		"\npaused: no\n",
		"\nworkers: none running\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("snapshots lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("escape codes in output to a pipe:\n%q", got)
	}
}

// TestListAndStatusInTerminal checks the terminal manners of list and
// status: states in colour unless NO_COLOR is set, times relative to now.
func TestListAndStatusInTerminal(t *testing.T) {
	t.Parallel()
	const esc = `(\x1b\[[0-9;]*m)*`
	tests := []struct {
		args    []string
		noColor string
		want    string // a regexp the screen must match
		colour  bool
	}{
		{args: []string{"list"}, want: `a +` + esc + `pending` + esc + ` +0 +0/4 +- +(just now|[0-9]+[smh] ago) +true`, colour: true},
		{args: []string{"list"}, noColor: "yes", want: `a +pending +0 +0/4 +- +(just now|[0-9]+[smh] ago) +true`},
		{args: []string{"status"}, want: esc + `pending` + esc + ` +1\r?\n`, colour: true},
		{args: []string{"status"}, noColor: "true", want: `\npending +1\r?\n`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s NO_COLOR=%s", tt.args[0], tt.noColor), func(t *testing.T) {
			t.Parallel()
			dir := newSpool(t, "a")
			cmd, _, scr := startInPTY(t, termEnv(tt.noColor), append(tt.args, "--spool", dir)...)
			if code := waitExit(t, cmd); code != 0 {
				t.Fatalf("exit code %d; the terminal shows:\n%q", code, scr.String())
			}
			scr.waitFor(t, tt.want)
			if got := colourCode.MatchString(scr.String()); got != tt.colour {
				t.Errorf("colour shown: %v, want %v; the terminal shows:\n%q", got, tt.colour, scr.String())
			}
		})
	}
}

// TestBatchProgress enqueues a large batch: with stderr at a terminal a
// progress bar is drawn there and ends full; with stderr in a pipe,
// nothing is written to it. stdout, the ids, is the same either way.
func TestBatchProgress(t *testing.T) {
	t.Parallel()
	const n = progressMin + 100
	batch := filepath.Join(t.TempDir(), "jobs.jsonl")
	var lines strings.Builder
	for range n {
		lines.WriteString(`{"command": "true"}` + "\n")
	}
	if err := os.WriteFile(batch, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, atTerminal := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", atTerminal), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "spool")
			ids, err := os.Create(filepath.Join(t.TempDir(), "ids"))
			if err != nil {
				t.Fatal(err)
			}
			defer ids.Close()
			cmd := exec.Command("queuectl", "enqueue", "--spool", dir, "--batch", batch)
			cmd.Env = termEnv("")
			cmd.Stdout = ids
			scr := &screen{}
			if atTerminal {
				ptmx, tty, err := pty.Open()
				if err != nil {
					t.Fatal(err)
				}
				defer ptmx.Close()
				cmd.Stderr = tty
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				tty.Close()
				copied := make(chan struct{})
				go func() { io.Copy(scr, ptmx); close(copied) }()
				defer func() { ptmx.Close(); <-copied }()
			} else {
				cmd.Stderr = scr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
			}
			if code := waitExit(t, cmd); code != 0 {
				t.Fatalf("exit code %d; stderr:\n%q", code, scr.String())
			}
			data, err := os.ReadFile(ids.Name())
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(string(data), "\n"); got != n {
				t.Errorf("%d ids on stdout, want %d", got, n)
			}
			if !atTerminal {
				if scr.String() != "" {
					t.Errorf("stderr in a pipe: %q, want nothing", scr.String())
				}
				return
			}
			scr.waitFor(t, fmt.Sprintf(`\renqueue .*100%% of %d jobs\x1b\[K\r?\n`, n))
		})
	}
}
