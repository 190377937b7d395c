//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// TestCrashPoints kills queuectl (SIGKILL) at every point of enqueue,
// claim, complete, fail and recover where a crash must be survivable, using
// a build with the crashpoints tag, then restarts and checks that no
// acknowledged job is lost, no half-written file is ever visible in
// pending/, no job is in two directories, and the job finishes.
func TestCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds queuectl")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "queuectl")
	build := exec.Command("go", "build", "-tags", "crashpoints", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	t.Run("enqueue", func(t *testing.T) {
		for _, point := range []string{"temp/written", "temp/synced", "enqueue/published", "enqueue/dir-synced"} {
			t.Run(strings.ReplaceAll(point, "/", "-"), func(t *testing.T) {
				t.Parallel()
				c := newCrashEnv(t, bin)
				c.run("", "enqueue", "--id", "acked", "--command", "true")
				err := c.runErr(point, "enqueue", "--id", "crashed", "--command", "true")
				if err == nil {
					t.Fatalf("enqueue was not killed at %s", point)
				}
				c.checkPending()
				c.drain("acked")
				// The crashed enqueue was not acknowledged: its job may or
				// may not exist, but if it does it is whole and runs.
				if _, err := c.s.Find("crashed"); err == nil {
					c.drain("crashed")
				}
			})
		}
	})

	// The n-th time a worker reaches a point, and the attempts the job
	// ends with: a crash once the claim is visible in processing/ counts
	// as a run; one after the outcome replaced the job file does not (the
	// recoverer finishes the move). A short job's file is rewritten once,
	// with its outcome; a job that runs longer than recordAfter gets its
	// attempt written first. (A failing job ends dead with attempts
	// 1 + max_retries whatever the crash.)
	type point struct {
		at       string
		attempts int
	}
	worker := []point{
		{"claim/locked", 1}, {"claim/marked", 1}, {"claim/renamed", 2}, {"claim/synced", 2},
		{"temp/written#1", 2}, {"temp/synced#1", 2}, {"rewrite/renamed#1", 1},
		{"move/recorded#1", 1}, {"move/published#1", 1}, {"move/done#1", 1},
	}
	recorded := []point{
		{"temp/written#1", 2}, {"temp/synced#1", 2}, {"rewrite/renamed#1", 2},
		{"temp/written#2", 2}, {"temp/synced#2", 2}, {"rewrite/renamed#2", 1},
		{"move/recorded#1", 1}, {"move/published#1", 1}, {"move/done#1", 1},
	}
	for _, tc := range []struct {
		name, command string
		points        []point
		want          spool.State
	}{
		{"complete", "echo ok", worker, spool.Done},
		{"fail", "exit 3", worker, spool.Dead},
		{"record", "sleep 0.4; echo ok", recorded, spool.Done},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range tc.points {
				t.Run(strings.NewReplacer("/", "-", "#", "-").Replace(p.at), func(t *testing.T) {
					t.Parallel()
					c := newCrashEnv(t, bin)
					c.run("", "enqueue", "--id", "j", "--command", tc.command, "--max-retries", "2")
					if err := c.runErr(p.at, "worker", "start", "--foreground"); err == nil {
						t.Fatalf("the worker was not killed at %s", p.at)
					}
					c.checkPending()
					c.drainTo("j", tc.want)
					want := p.attempts
					if tc.want == spool.Dead {
						want = 3
					}
					if j, err := c.s.Read(tc.want, "j"); err != nil || j.Attempts != want {
						t.Errorf("after a crash at %s: %+v, %v; want attempts %d", p.at, j, err, want)
					}
				})
			}
		})
	}

	// A worker killed while it recovers another dead worker's job.
	t.Run("recover", func(t *testing.T) {
		for _, point := range []string{"temp/written#1", "rewrite/renamed#1", "move/recorded#1", "move/published#1", "move/done#1"} {
			t.Run(strings.NewReplacer("/", "-", "#", "-").Replace(point), func(t *testing.T) {
				t.Parallel()
				c := newCrashEnv(t, bin)
				c.run("", "enqueue", "--id", "j", "--command", "echo ok")
				if err := c.runErr("claim/synced", "worker", "start", "--foreground"); err == nil {
					t.Fatal("the first worker was not killed")
				}
				if err := c.runErr(point, "worker", "start", "--foreground"); err == nil {
					t.Fatalf("the recovering worker was not killed at %s", point)
				}
				c.checkPending()
				c.drainTo("j", spool.Done)
				if j, err := c.s.Read(spool.Done, "j"); err != nil || j.Attempts != 2 {
					t.Errorf("after two crashes: %+v, %v; want attempts 2", j, err)
				}
			})
		}
	})
}

type crashEnv struct {
	t        *testing.T
	bin, dir string
	s        *spool.Spool
}

func newCrashEnv(t *testing.T, bin string) *crashEnv {
	dir := t.TempDir()
	s, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return &crashEnv{t: t, bin: bin, dir: dir, s: s}
}

// runErr runs queuectl, killed at crashAt if that is not "", and returns
// its error; a worker that is not killed is stopped after 5 s. When crashAt
// is set, the process must have died there (its mark file says so), not
// of the 5 s limit.
func (c *crashEnv) runErr(crashAt string, args ...string) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--spool", c.s.Root()}, args...)...)
	cmd.Dir = c.dir
	mark := filepath.Join(c.dir, "crash-mark")
	os.Remove(mark)
	cmd.Env = append(os.Environ(), "QUEUECTL_CONFIG=", "QUEUECTL_CRASH_AT="+crashAt, "QUEUECTL_CRASH_MARK="+mark)
	err := cmd.Run()
	if crashAt != "" {
		if got, _ := os.ReadFile(mark); string(got) != crashAt {
			c.t.Fatalf("queuectl %v did not crash at %s (mark %q, %v)", args, crashAt, got, err)
		}
	}
	return err
}

func (c *crashEnv) run(crashAt string, args ...string) {
	c.t.Helper()
	if err := c.runErr(crashAt, args...); err != nil {
		c.t.Fatalf("queuectl %v: %v", args, err)
	}
}

// checkPending: every file in pending/ is a complete, valid job.
func (c *crashEnv) checkPending() {
	c.t.Helper()
	entries, err := c.s.List(spool.Pending)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Err != nil {
			c.t.Errorf("a half-written or invalid file is visible in pending/: %s: %v", e.Name, e.Err)
		}
	}
}

// drain runs a worker until every listed job is done.
func (c *crashEnv) drain(ids ...string) {
	c.t.Helper()
	for _, id := range ids {
		c.drainTo(id, spool.Done)
	}
}

// drainTo runs a worker until job id reaches state want, then checks that
// the spool is consistent: no job in two directories, nothing left in
// processing/.
func (c *crashEnv) drainTo(id string, want spool.State) {
	c.t.Helper()
	os.WriteFile(filepath.Join(c.dir, "queuectl.toml"), []byte("retry_delay = 0.01\n"), 0o600)
	cmd := exec.Command(c.bin, "--spool", c.s.Root(), "--config", filepath.Join(c.dir, "queuectl.toml"), "worker", "start", "--foreground")
	cmd.Dir = c.dir
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.s.Find(id)
		if err == nil && st == want {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s is %s (%v), not %s, after 30 s", id, st, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The directories are read one after another: the worker must not
	// move a job from one to the next meanwhile.
	stop()
	where := map[string][]spool.State{}
	for _, st := range spool.States {
		names, _ := c.s.Names(st)
		for _, n := range names {
			where[n] = append(where[n], st)
		}
	}
	for n, sts := range where {
		if len(sts) > 1 {
			c.t.Errorf("%s is in %v", n, sts)
		}
	}
	j, err := c.s.Read(want, id)
	if err != nil {
		c.t.Fatal(err)
	}
	if want == spool.Done && (j.ExitCode == nil || *j.ExitCode != 0) {
		c.t.Errorf("done job: %s", mustJSON(j))
	}
}

func mustJSON(j *job.Job) string {
	b, _ := json.Marshal(j)
	return fmt.Sprint(string(b))
}
