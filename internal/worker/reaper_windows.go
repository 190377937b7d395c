package worker

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// reaper puts each job's process tree in a Job Object of its own, which
// gives Windows what process groups give Unix: the job's shell is started
// suspended (see shell), assigned to the Job Object, and only then let
// run, so that every process it starts is in the Job Object too. The
// Job Object is made with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE and only the
// worker holds its handle: when the worker dies, however it dies, Windows
// closes the handle and ends the whole tree. A timeout or a cancel ends
// the tree the same way (kill). Once the job's shell has exited the limit
// is lifted before the handle is closed, so that what the job left
// running on purpose lives on, as on Unix.
type reaper struct {
	mu  sync.Mutex
	pid int
	job windows.Handle // of the running job; 0 if none
}

// jobObjects maps the pid of a tracked job's shell to its Job Object, for
// kill.
var jobObjects sync.Map

var procNtResumeProcess = windows.NewLazySystemDLL("ntdll.dll").NewProc("NtResumeProcess")

// track puts the suspended process pid in a new Job Object and lets it
// run. The process is resumed whatever happens: an error means only that
// its tree will not die with the worker.
func (r *reaper) track(pid int) error {
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_SUSPEND_RESUME|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return fmt.Errorf("open the job's process %d: %w", pid, err)
	}
	defer windows.CloseHandle(p)
	defer resume(p)
	job, err := newKillOnCloseJob()
	if err != nil {
		return err
	}
	if err := windows.AssignProcessToJobObject(job, p); err != nil {
		windows.CloseHandle(job)
		return fmt.Errorf("put the job's process in a Job Object: %w", err)
	}
	r.mu.Lock()
	r.pid, r.job = pid, job
	r.mu.Unlock()
	jobObjects.Store(pid, job)
	return nil
}

// untrack forgets the job's Job Object once its shell has exited, leaving
// alone what it left running.
func (r *reaper) untrack() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.job == 0 {
		return
	}
	jobObjects.Delete(r.pid)
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION // no limits
	_, _ = windows.SetInformationJobObject(r.job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	windows.CloseHandle(r.job)
	r.pid, r.job = 0, 0
}

func (r *reaper) close() { r.untrack() }

// newKillOnCloseJob makes a Job Object whose processes all end when its
// last handle closes.
func newKillOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create a Job Object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("set up a Job Object: %w", err)
	}
	return job, nil
}

// resume lets the suspended process p run.
func resume(p windows.Handle) {
	_, _, _ = procNtResumeProcess.Call(uintptr(p))
}

// killJobObject ends every process of the Job Object of the job whose
// shell is pid; false if that job is not tracked.
func killJobObject(pid int) bool {
	v, ok := jobObjects.Load(pid)
	if !ok {
		return false
	}
	return windows.TerminateJobObject(v.(windows.Handle), 1) == nil
}
