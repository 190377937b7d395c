package worker

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
	"golang.org/x/sys/windows"
)

// Jobs run with cmd /C: a success is done with its output, a failure is
// retried, then dead, its exit code kept.
func TestCmdOutcomes(t *testing.T) {
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "hello", Command: "echo Hello Queue"})
	e.enqueue(&job.Job{ID: "fails", Command: "exit 3", MaxRetries: retries(1)})
	e.start(2)
	e.waitFor("both ended", func() bool { return e.count(spool.Done) == 1 && e.count(spool.Dead) == 1 })
	if j := e.read(spool.Done, "hello"); j.Attempts != 1 || !strings.Contains(j.Output, "Hello Queue") {
		t.Errorf("done job: attempts %d, output %q", j.Attempts, j.Output)
	}
	j := e.read(spool.Dead, "fails")
	if j.Attempts != 2 || j.ExitCode == nil || *j.ExitCode != 3 || j.LastError != "exit status 3" {
		t.Errorf("dead job: attempts %d, exit code %v, last error %q", j.Attempts, j.ExitCode, j.LastError)
	}
	if n := e.count(spool.Processing); n != 0 {
		t.Errorf("%d jobs left in processing/", n)
	}
}

// A timeout ends the job's whole process tree, the grandchild included
// (cmd starts ping, which would run for a minute).
func TestTimeoutEndsTree(t *testing.T) {
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "long", Command: "ping -n 60 127.0.0.1 >nul", Timeout: 1, MaxRetries: retries(0)})
	e.start(1)
	e.waitFor("ping running", func() bool { return countProcs(t, "ping.exe") > 0 })
	start := time.Now()
	e.waitFor("the job dead", func() bool { return e.count(spool.Dead) == 1 })
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("the job took %s to end: its timeout did not end ping", d)
	}
	if j := e.read(spool.Dead, "long"); !strings.HasPrefix(j.LastError, "timed out") {
		t.Errorf("last error %q", j.LastError)
	}
	e.waitFor("ping gone", func() bool { return countProcs(t, "ping.exe") == 0 })
}

// A worker told to stop at once ends its job's tree and puts the job back
// uncounted.
func TestStopPutsBack(t *testing.T) {
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "long", Command: "ping -n 60 127.0.0.1 >nul"})
	e.start(1)
	e.waitFor("ping running", func() bool { return countProcs(t, "ping.exe") > 0 })
	e.shutdown()
	if j := e.read(spool.Pending, "long"); j.Attempts != 0 {
		t.Errorf("put back with attempts %d, want 0", j.Attempts)
	}
	e.waitFor("ping gone", func() bool { return countProcs(t, "ping.exe") == 0 })
}

// A job whose owner died (its lease released) is recovered by a worker
// and run again, its interrupted run counted; a live lease is left alone.
func TestRecoverOrphanCmd(t *testing.T) {
	e := newEnv(t)
	e.enqueue(&job.Job{ID: "orphan", Command: "echo again"})
	e.enqueue(&job.Job{ID: "held", Command: "echo never"})
	lease, err := e.s.Claim(spool.Pending, "orphan", "ghost")
	if err != nil {
		t.Fatal(err)
	}
	lease.Release()
	held, err := e.s.Claim(spool.Pending, "held", "alive")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	e.start(1)
	e.waitFor("orphan done", func() bool { return e.count(spool.Done) == 1 })
	if j := e.read(spool.Done, "orphan"); j.Attempts != 2 {
		t.Errorf("attempts %d, want 2", j.Attempts)
	}
	time.Sleep(1500 * time.Millisecond) // a recovery round or more
	if st, err := e.s.Find("held"); err != nil || st != spool.Processing {
		t.Errorf("held job is %s, %v", st, err)
	}
}

// countProcs counts the running processes whose image is named exe.
func countProcs(t *testing.T, exe string) int {
	t.Helper()
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	n := 0
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if strings.EqualFold(windows.UTF16ToString(pe.ExeFile[:]), exe) {
			n++
		}
	}
	return n
}
