//go:build unix

package worker

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// shell returns the command that runs a job's command line.
func shell(command string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

// canGate says that gatedShell can hold a job's shell back.
const canGate = true

// gatePrefix makes the job's shell wait, before anything of the job's own
// runs, for a line on descriptor 3 (the gate), then close it; at the end of
// the gate without a line (the worker died) the shell exits. It is put on
// the job's first line, so that the shell's line numbers stay the job's.
const gatePrefix = "read _ <&3 || exit 1; exec 3<&-; "

// gatedShell is shell, held back at gate until a line is written to it.
func gatedShell(command string, gate *os.File) *exec.Cmd {
	cmd := shell(gatePrefix + command)
	cmd.ExtraFiles = []*os.File{gate}
	return cmd
}

// terminate asks the job's whole process group to stop.
func terminate(cmd *exec.Cmd) error { return signalGroup(cmd.Process.Pid, syscall.SIGTERM) }

// kill ends the job's whole process group at once.
func kill(cmd *exec.Cmd) error { return signalGroup(cmd.Process.Pid, syscall.SIGKILL) }

// KillGroup ends the process group pgid, if it still exists: what is left
// of a dead worker's job.
func KillGroup(pgid int) error {
	if pgid <= 1 {
		return nil
	}
	return signalGroup(pgid, syscall.SIGKILL)
}

func signalGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// waitGroupGone waits until no process is left in group pgid (none but
// zombies, where that can be told), or until timeout fires.
func waitGroupGone(pgid int, timeout <-chan time.Time) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) || onlyZombies(pgid) {
			return
		}
		select {
		case <-timeout:
			return
		case <-tick.C:
		}
	}
}

func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return strings.TrimPrefix(name, "SIG")
	}
	return strconv.Itoa(int(sig))
}

// describeExit says how a finished command ended, and its exit code if it
// had one.
func describeExit(err error) (string, *int) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "could not run: " + err.Error(), nil
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + signalName(ws.Signal()), nil
	}
	code := ee.ExitCode()
	return "exit status " + strconv.Itoa(code), &code
}

// workerFault reports whether a job could not start for a reason of the
// worker's own, not the job's: no descriptors, processes or memory left.
// The job is put back uncounted and the worker backs off.
func workerFault(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
