package worker

import (
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestGroupOfZombiesIsGone: a process group whose processes have all
// exited, though not yet reaped (as an init that reaps orphans only now
// and then leaves them), counts as gone, so that ending a job (cancel,
// timeout, stop) does not wait out its whole grace for them; one with a
// live process does not.
func TestGroupOfZombiesIsGone(t *testing.T) {
	t.Parallel()
	live := shell("sleep 30")
	must(t, live.Start())
	defer func() { _ = kill(live); _ = live.Wait() }()
	if onlyZombies(live.Process.Pid) {
		t.Fatal("a group with a live process counts as gone")
	}
	dead := exec.Command("/bin/sh", "-c", "exit 0")
	dead.SysProcAttr = sysProcAttr()
	must(t, dead.Start())
	defer func() { _ = dead.Wait() }()
	pid := dead.Process.Pid
	for deadline := time.Now().Add(time.Minute); alive(pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the shell does not exit")
		}
	}
	// A zombie now: kill(2) still finds its group.
	if !onlyZombies(pid) {
		t.Fatal("a group of zombies (" + strconv.Itoa(pid) + ") counts as running")
	}
	start := time.Now()
	timeout := time.After(10 * time.Second)
	waitGroupGone(pid, timeout)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("waitGroupGone waited %v for a group of zombies", took)
	}
}
