//go:build unix

package worker

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// TestHooks: on_success, on_failure and on_dead run once the outcome is
// durable (the job file is where its outcome put it), with the job's id,
// state, exit code and attempt; a hook that fails is logged and leaves the
// job as it was.
func TestHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := filepath.Join(e.dir, "hooks.log")
	record := func(hook string) string {
		return `d=$QUEUECTL_JOB_SPOOL/$QUEUECTL_STATE/$QUEUECTL_JOB_ID.json; test -f "$d" && w=durable || w=missing; ` +
			`echo "` + hook + ` $QUEUECTL_JOB_ID $QUEUECTL_STATE [$QUEUECTL_EXIT_CODE] $QUEUECTL_ATTEMPT $w" >> ` + got
	}
	e.cfg.OnSuccess = record("success")
	e.cfg.OnFailure = record("failure")
	e.cfg.OnDead = record("dead") + "; echo hook broke >&2; exit 7"
	one := 1
	e.enqueue(&job.Job{ID: "good", Command: "exit 0"})
	e.enqueue(&job.Job{ID: "bad", Command: "exit 3", MaxRetries: &one})
	e.enqueue(&job.Job{ID: "gone", Command: "kill -9 $$", MaxRetries: new(int)})
	log := e.startLogged("")
	e.waitFor("3 hooks ran and failed", func() bool {
		return len(lines(t, got)) == 4 && strings.Count(log.String(), "hook failed") == 2
	})
	have := lines(t, got)
	slices.Sort(have)
	want := []string{
		"dead bad dead [3] 2 durable",
		"dead gone dead [] 1 durable",
		"failure bad failed [3] 1 durable",
		"success good done [0] 1 durable",
	}
	if !slices.Equal(have, want) {
		t.Errorf("hooks ran with\n%s\nwant\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(log.String(), `hook=on_dead job=bad err="exit status 7" output="hook broke"`) {
		t.Errorf("the failed hook is not logged as expected:\n%s", log.String())
	}
	// The failing hooks changed nothing.
	for _, id := range []string{"bad", "gone"} {
		if j := e.read(spool.Dead, id); j.State != string(spool.Dead) || strings.Contains(j.LastError, "hook") {
			t.Errorf("job %s after its hook failed: %+v", id, j)
		}
	}
	if n := e.count(spool.Done); n != 1 {
		t.Errorf("%d jobs done, want 1", n)
	}
}

// TestHookOffJobPath: a hook that hangs does not hold up the next claim.
func TestHookOffJobPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	started, release := filepath.Join(e.dir, "started"), filepath.Join(e.dir, "release")
	e.cfg.OnSuccess = `if [ "$QUEUECTL_JOB_ID" = first ]; then touch ` + started + `; while ! test -e ` + release + `; do sleep 0.05; done; fi`
	e.cfg.HookTimeout = 600
	e.enqueue(&job.Job{ID: "first", Command: "true"})
	e.start(1)
	e.waitFor("the first hook started", func() bool { _, err := os.Stat(started); return err == nil })
	for _, id := range []string{"second", "third", "fourth"} {
		e.enqueue(&job.Job{ID: id, Command: "true"})
	}
	e.waitFor("the jobs after it done while it hangs", func() bool { return e.count(spool.Done) == 4 })
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestHookTimeout: a hook that hangs is killed at hook_timeout, its whole
// process group with it, and logged; the job stays done.
func TestHookTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pidFile := filepath.Join(e.dir, "child.pid")
	e.cfg.HookTimeout = 0.2
	e.cfg.OnSuccess = `sleep 300 & echo $! > ` + pidFile + `; wait`
	log := e.startLogged("")
	e.enqueue(&job.Job{ID: "slow-hook", Command: "true"})
	e.waitFor("the hanging hook killed at its timeout", func() bool {
		return strings.Contains(log.String(), `hook=on_success job=slow-hook err="timed out after 200ms; process group killed"`)
	})
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the hook's child gone", func() bool {
		// Gone, or a zombie that nobody reaps here: either way, no
		// longer running.
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err == nil && strings.Contains(string(st), ") Z ")
	})
	if j := e.read(spool.Done, "slow-hook"); j.State != string(spool.Done) || j.LastError != "" {
		t.Errorf("job after its hook timed out: %+v", j)
	}
}
