//go:build unix

package worker

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

// reaperScript is the reaper's program (see reaper). It reads "+ PGID"
// when a job's process group starts and "-" when it ends; at the end of
// its input, which comes when the worker's end of the pipe closes (the
// kernel closes it when the worker dies, however it dies), it kills the
// group it still knows of.
const reaperScript = `g=
while read -r op p; do
	case $op in
	+) g=$p ;;
	-) g= ;;
	esac
done
if [ -n "$g" ]; then kill -s KILL -- "-$g" 2>/dev/null; fi
exit 0`

// reaper makes a job's whole process group die with its worker. The
// kernel kills a job's shell when its worker dies (a parent-death signal
// on Linux), but not the shell's children: a sleep, a build, a server the
// job started would run on until a recoverer found them. So each worker
// keeps a small shell beside it, in a process group of its own (signals
// to the worker's group do not reach it), that holds the read end of a
// pipe from the worker and learns from it which group runs now. When the
// worker dies, the pipe ends, and the reaper kills that group at once.
//
// The group is written before the job's shell passes its gate (see
// gatedShell), so no code of the job runs before the reaper can know it:
// what is in the pipe is read before its end, even if the worker dies
// right after writing. A reaper that died is started again at the next
// job.
type reaper struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	pipe *os.File // the write end; nil when no reaper runs
	done chan struct{}
}

// track tells the reaper that group pgid runs a job now. An error means
// the job would not die with the worker; the job runs all the same (a
// recoverer kills what a dead worker's job left: see killLeftovers).
func (r *reaper) track(pgid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := "+ " + strconv.Itoa(pgid) + "\n"
	if r.pipe != nil {
		if _, err := io.WriteString(r.pipe, msg); err == nil {
			return nil
		}
		r.stopLocked() // it died: start another
	}
	if err := r.startLocked(); err != nil {
		return err
	}
	_, err := io.WriteString(r.pipe, msg)
	return err
}

// untrack tells the reaper that the job's group has ended.
func (r *reaper) untrack() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pipe != nil {
		_, _ = io.WriteString(r.pipe, "-\n")
	}
}

func (r *reaper) startLocked() error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start the reaper: %w", err)
	}
	cmd := exec.Command("/bin/sh", "-c", reaperScript)
	cmd.Stdin = pr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		return fmt.Errorf("start the reaper: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	r.cmd, r.pipe, r.done = cmd, pw, done
	return nil
}

// close ends the reaper, once the worker has no job running: its input
// ends and it exits. It returns when it has.
func (r *reaper) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

func (r *reaper) stopLocked() {
	if r.pipe == nil {
		return
	}
	r.pipe.Close()
	<-r.done
	r.cmd, r.pipe, r.done = nil, nil, nil
}
