package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/durable"
	"github.com/queuectl/queuectl/internal/job"
)

// Heartbeat is what a worker says about itself in workers/<id>.json.
type Heartbeat struct {
	ID          string    `json:"id"`
	PID         int       `json:"pid"`
	Host        string    `json:"host"`
	State       string    `json:"state"` // idle, busy, stopping
	Job         string    `json:"job"`   // the job it runs, if busy
	JobPID      int       `json:"job_pid,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
}

// WorkerInfo is a worker found in workers/, live or not.
type WorkerInfo struct {
	Heartbeat
	Alive bool // its lock is held: the process lives
}

// Registration is a worker's hold on its name: the lock on
// workers/<id>.lock, held for the worker's whole life.
type Registration struct {
	s    *Spool
	id   string
	key  string   // this registration's own, for its counts (see SaveCounts)
	lock *os.File // open and locked: workers/<id>.lock
}

// Register takes the lock of worker id; it fails if a live process holds it.
//
// The lock file appears under its name already locked, so that no prober
// (Workers, WorkerAlive) can ever find it free while its worker lives: it
// is created and locked in tmp/, then published with a rename that never
// overwrites. (Created in place, it would be free between the create and
// the lock, and a prober could take it for a dead worker's and remove it,
// leaving the worker locked on a file that nobody sees.) A lock file left
// at the name by a dead worker of the same id is removed first, under its
// lock.
func (s *Spool) Register(id string) (*Registration, error) {
	if err := job.CheckID(id); err != nil {
		return nil, fmt.Errorf("register worker: %w", err)
	}
	final := s.workerPath(id, ".lock")
	for try := 0; ; try++ {
		tmp, f, err := s.createLock("worker-" + id)
		if err != nil {
			return nil, fmt.Errorf("register worker %s: %w", id, err)
		}
		err = publish(tmp, final)
		if err == nil {
			os.Remove(s.workerPath(id, ".stop")) // flags left by an earlier worker of this name
			os.Remove(s.workerPath(id, ".terminated"))
			_ = s.foldCounts(id) // counts that an earlier one could not fold
			return &Registration{s: s, id: id, key: newCountsKey(id), lock: f}, nil
		}
		f.Close()
		os.Remove(tmp)
		if !errors.Is(err, fs.ErrExist) || try > 0 {
			return nil, fmt.Errorf("register worker %s: %w", id, err)
		}
		alive, release := s.probeLock(id)
		if alive {
			return nil, fmt.Errorf("register worker %s: another process holds it", id)
		}
		s.removeDead(id)
		release()
	}
}

// Beat writes the worker's heartbeat. It is not fsynced: a heartbeat is only
// worth anything while the machine runs.
func (r *Registration) Beat(hb Heartbeat) error {
	hb.ID = r.id
	data, err := json.Marshal(hb)
	if err != nil {
		return err
	}
	tmp := r.s.tempPath("worker-" + r.id)
	if err := os.WriteFile(tmp, data, r.s.fileMode()); err != nil {
		return err
	}
	if err := renameOver(tmp, r.s.workerPath(r.id, ".json")); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Close removes the worker's files and releases the lock; its counts are
// folded into the spool's totals first (see SaveCounts). The lock file
// goes last of the files, while still locked: whoever opens it meanwhile
// finds it free once released, which is true.
func (r *Registration) Close() error {
	err := r.s.foldCounts(r.id)
	os.Remove(r.s.workerPath(r.id, ".json"))
	os.Remove(r.s.workerPath(r.id, ".stop"))
	os.Remove(r.s.workerPath(r.id, ".terminated"))
	os.Remove(r.s.workerPath(r.id, ".lock"))
	return errors.Join(err, r.lock.Close()) // releases the lock
}

// StopRequested reports whether worker id has been asked to stop.
func (s *Spool) StopRequested(id string) bool { return exists(s.workerPath(id, ".stop")) }

// RequestStop asks worker id to stop by creating its stop flag.
func (s *Spool) RequestStop(id string) error {
	f, err := os.OpenFile(s.workerPath(id, ".stop"), os.O_WRONLY|os.O_CREATE, s.fileMode())
	if err != nil {
		return fmt.Errorf("stop worker %s: %w", id, err)
	}
	return f.Close()
}

// MarkTerminated records that worker stop is about to terminate worker id
// (workers/<id>.terminated): a worker ended from outside may not get to
// put its job back (on Windows it never does), so recovery reads the mark
// and puts the job back uncounted, as a stop. The mark goes with the
// worker's other files once it is found dead (Workers with clean).
func (s *Spool) MarkTerminated(id string) error {
	f, err := os.OpenFile(s.workerPath(id, ".terminated"), os.O_WRONLY|os.O_CREATE, s.fileMode())
	if err != nil {
		return fmt.Errorf("stop worker %s: %w", id, err)
	}
	return f.Close()
}

// terminatedByStop reports whether worker id carries the mark of
// MarkTerminated.
func (s *Spool) terminatedByStop(id string) bool {
	if job.CheckID(id) != nil {
		return false
	}
	_, err := os.Lstat(s.workerPath(id, ".terminated"))
	return err == nil
}

// WorkerDir returns the directory of heartbeats and stop flags, for
// watching.
func (s *Spool) WorkerDir() string { return filepath.Join(s.root, dirWorkers) }

// IsStopFlag reports whether a name in WorkerDir is worker id's stop flag.
func IsStopFlag(name, id string) bool { return name == id+".stop" }

// WorkerLog returns the log file of a detached worker.
func (s *Spool) WorkerLog(id string) string { return s.workerPath(id, ".log") }

func (s *Spool) workerPath(id, ext string) string {
	return filepath.Join(s.root, dirWorkers, id+ext)
}

// Workers lists the workers that have a heartbeat or a lock file, telling
// live ones (lock held) from dead ones. Files of dead workers are removed
// when clean is true.
func (s *Spool) Workers(clean bool) ([]WorkerInfo, error) {
	des, err := os.ReadDir(s.WorkerDir())
	if s.missing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	seen := map[string]bool{}
	var out []WorkerInfo
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".lock")
		if !ok || seen[id] || job.CheckID(id) != nil {
			continue
		}
		seen[id] = true
		w := WorkerInfo{Heartbeat: Heartbeat{ID: id}}
		if hb, err := s.ReadHeartbeat(id); err == nil {
			w.Heartbeat = hb
			w.ID = id
		}
		alive, release := s.probeLock(id)
		w.Alive = alive
		if !alive && clean {
			s.removeDead(id)
		}
		release()
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// WorkerAlive reports whether worker id holds its lock.
func (s *Spool) WorkerAlive(id string) bool {
	if _, err := os.Lstat(s.workerPath(id, ".lock")); err != nil {
		return false
	}
	alive, release := s.probeLock(id)
	release()
	return alive
}

// createLock creates an empty file in tmp/, locked, for Register.
func (s *Spool) createLock(hint string) (string, *os.File, error) {
	path := s.tempPath(hint)
	f, err := createExcl(path, s.fileMode())
	if err != nil {
		return "", nil, err
	}
	if err = f.Chmod(s.fileMode()); err == nil {
		err = tryLock(f)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return "", nil, err
	}
	return path, f, nil
}

// removeDead removes the files of worker id, whose lock the caller holds
// (see probeLock): the worker is dead. Its counts are folded into the
// totals first; if that fails, the counts file stays (a reader counts it,
// and the next Register of the id tries again).
func (s *Spool) removeDead(id string) {
	_ = s.foldCounts(id)
	os.Remove(s.workerPath(id, ".json"))
	os.Remove(s.workerPath(id, ".stop"))
	os.Remove(s.workerPath(id, ".terminated"))
	os.Remove(s.workerPath(id, ".lock"))
}

// probeLock tries worker id's lock: alive is true if another process holds
// it (or it cannot be tried). When the lock was free it stays taken until
// release is called, so that a dead worker's files can be removed safely.
//
// The lock file is never created here: a worker that has just removed it
// on its way out must not leave one behind. It is opened for reading only,
// which a lock needs and which another member of a shared spool's group
// is allowed (on a network spool, for writing where allowed: see shared).
func (s *Spool) probeLock(id string) (alive bool, release func()) {
	path := s.workerPath(id, ".lock")
	open := func() (*os.File, error) { return openProbe(path) }
	if s.network {
		// The lock of a worker of another host proves nothing on a network
		// file system (see shared): its heartbeat decides. Locks of this
		// host's workers need a descriptor open for writing there.
		if _, err := os.Lstat(path); err == nil {
			if remote, alive := s.remoteAlive(id); remote {
				return alive, func() {}
			}
		}
		open = func() (*os.File, error) { return openWritable(path) }
	}
	f, err := open()
	if errors.Is(err, fs.ErrNotExist) {
		return false, func() {}
	}
	if err != nil {
		return true, func() {}
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return true, func() {}
	}
	// Locked, but maybe a file that a remover unlinked while this one
	// opened it, with another at the name now: that one is not known to
	// be free, so say alive (a caller removes nothing and looks again).
	if fi, err := f.Stat(); err != nil || samePath(fi, path) != nil {
		f.Close()
		return true, func() {}
	}
	return false, func() { f.Close() }
}

// OpenLog opens the log of job id for appending.
func (s *Spool) OpenLog(id string) (*os.File, error) {
	if err := job.CheckID(id); err != nil {
		return nil, err
	}
	// Never through a symlink: it could point the output at any file the
	// worker's user can write.
	f, err := durable.OpenFile(s.LogPath(id), os.O_RDWR|os.O_CREATE|os.O_APPEND|oNoFollow, s.fileMode())
	if err == nil && s.group {
		err = f.Chmod(s.fileMode())
	}
	return f, err
}

// LogPath returns the log file of job id.
func (s *Spool) LogPath(id string) string {
	return filepath.Join(s.root, dirLogs, id+".log")
}

// ReadHeartbeat returns the last heartbeat of worker id.
func (s *Spool) ReadHeartbeat(id string) (Heartbeat, error) {
	var hb Heartbeat
	if err := job.CheckID(id); err != nil {
		return hb, err
	}
	data, err := readEntry(s.workerPath(id, ".json"))
	if err != nil {
		return hb, err
	}
	err = json.Unmarshal(data, &hb)
	return hb, err
}

// StatHeartbeat reports whether worker id has written a heartbeat.
func (s *Spool) StatHeartbeat(id string) error {
	_, err := os.Lstat(s.workerPath(id, ".json"))
	return err
}
