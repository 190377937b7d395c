package worker

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// createNoWindow keeps a job of a detached worker from opening a console.
const createNoWindow = 0x08000000

// canGate: cmd /C has no gate to hold a job back, so a claim is flushed
// before the job starts.
const canGate = false

func gatedShell(command string, _ *os.File) *exec.Cmd { return shell(command) }

// createSuspended starts a job's shell with its thread suspended: the
// reaper lets it run once it is in the job's Job Object (see reaper).
const createSuspended = 0x00000004

// shell returns the command that runs a job's command line with cmd /C,
// passing the line untouched. It starts suspended: the caller must hand
// its pid to reaper.track, which lets it run.
func shell(command string) *exec.Cmd {
	cmd := exec.Command("cmd")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CmdLine:       "cmd /C " + command,
		CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | createNoWindow | createSuspended,
	}
	return cmd
}

// terminate ends the job's process tree: Windows has no SIGTERM to send.
func terminate(cmd *exec.Cmd) error { return kill(cmd) }

// kill ends the job's process tree: every process in its Job Object.
func kill(cmd *exec.Cmd) error {
	if killJobObject(cmd.Process.Pid) {
		return nil
	}
	return KillGroup(cmd.Process.Pid)
}

// KillGroup ends the process tree rooted at pid, if it still exists.
func KillGroup(pid int) error {
	if pid <= 0 {
		return nil
	}
	return exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(pid)).Run()
}

// waitGroupGone returns at once: the tree is killed whole on Windows.
func waitGroupGone(int, <-chan time.Time) {}

// describeExit says how a finished command ended, and its exit code if it
// had one.
func describeExit(err error) (string, *int) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "could not run: " + err.Error(), nil
	}
	code := ee.ExitCode()
	return "exit status " + strconv.Itoa(code), &code
}

// leftovers: not found on Windows, where a job's processes are not read.
func leftovers(string, string, func(string) bool) []int { return nil }

// Windows' errors for exhausted handles and memory.
const (
	errorTooManyOpenFiles  = syscall.Errno(4)
	errorNotEnoughMemory   = syscall.Errno(8)
	errorOutOfMemory       = syscall.Errno(14)
	errorNoSystemResources = syscall.Errno(1450)
)

// workerFault reports whether a job could not start for a reason of the
// worker's own, not the job's: no handles or memory left. The job is put
// back uncounted and the worker backs off.
func workerFault(err error) bool {
	for _, e := range []syscall.Errno{errorTooManyOpenFiles, errorNotEnoughMemory, errorOutOfMemory, errorNoSystemResources} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
