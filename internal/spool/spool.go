// Package spool keeps queuectl's state: a Maildir-style directory tree in
// which each job is one JSON file and its state is the directory it sits in.
// It is the only package that knows the spool's paths.
//
// Layout:
//
//	tmp/         files being written, before they are published
//	pending/     <id>.json ready, or scheduled for later
//	processing/  <id>.json claimed by one live worker
//	failed/      <id>.json waiting for a retry
//	done/        <id>.json completed
//	dead/        <id>.json retries exhausted (the dead letter queue)
//	rejected/    files that are not valid jobs, with <name>.reason
//	workers/     heartbeat and lock files of live workers
//	logs/        <id>.log output of every attempt that printed something
//	keys/        <hash> the unique keys held by live jobs (see keys.go)
//	deps/        <id> the jobs that named id in after (see deps.go)
//	.lock        taken to keep ids and unique keys unique (see Enqueue)
//
// Every state change is one rename. A file is made durable (written and
// fsynced in tmp/) before the rename that publishes it, and the directory
// that received it is fsynced after. A claim writes no file: it marks the
// job file (its owner's write permission goes) and renames it into
// processing/, where the mark stands for the run that started (see Claim).
package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// State is a job's state: the name of the directory that holds it.
type State string

// The states of a job, and Rejected for files that are not valid jobs.
const (
	Pending    State = "pending"
	Processing State = "processing"
	Failed     State = "failed"
	Done       State = "done"
	Dead       State = "dead"
	Rejected   State = "rejected"
)

// States lists the job states in the order a job usually passes them.
var States = []State{Pending, Processing, Failed, Done, Dead}

// ParseState maps a name given by a user to a State; "completed" is an alias
// of "done".
func ParseState(s string) (State, error) {
	switch st := State(strings.ToLower(s)); st {
	case Pending, Processing, Failed, Done, Dead, Rejected:
		return st, nil
	case "completed":
		return Done, nil
	}
	return "", fmt.Errorf("unknown state %q: want pending, processing, failed, done (or completed), dead or rejected", s)
}

// Directories that are not states.
const (
	dirTmp     = "tmp"
	dirWorkers = "workers"
	dirLogs    = "logs"
	lockName   = ".lock"
)

// Sentinel errors that callers branch on.
var (
	ErrNotFound = errors.New("no job with id")
	ErrExists   = errors.New("a job with this id exists")
)

// StateError says that a job is not in the state an operation needs.
type StateError struct {
	ID   string
	Is   State
	Want State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("job %s is %s, not %s", e.ID, e.Is, e.Want)
}

// Spool is an open spool directory.
type Spool struct {
	root  string
	group bool // shared with the group: directories 0770, files 0660
	// existing: opened by OpenExisting; a missing state directory reads
	// as empty.
	existing bool
	readOnly bool // Options.ReadOnly: the spool lock creates no file
	shared        // a spool on a network file system (see hosts.go)
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// beforePurgeLock, when set (by tests), is called by Purge before each
	// hold of the lock for removals: a window for racing changes.
	beforePurgeLock func()
	// pool keeps displaced job files for reuse as records (see recordPool).
	pool recordPool
	// held: a job's claim and outcome are flushed by held calls (see
	// HoldSyncs).
	held atomic.Bool
}

// Options change how a spool is opened.
type Options struct {
	// GroupShared makes a spool for several users of one group: its
	// directories are created 0770 with the setgid bit and its files 0660,
	// and CheckPrivate accepts group write access (never write access for
	// others).
	GroupShared bool
	// ReadOnly promises that the caller changes nothing (OpenExisting
	// only): the spool lock, where a check takes it, is taken without
	// creating its file.
	ReadOnly bool
	// Network treats the spool as one on a network file system shared by
	// several hosts even where that is not detected (see Spool.Network).
	Network bool
	// Lease is how long a heartbeat of a worker on another host stays
	// valid (see SetLease); zero means DefaultLease.
	Lease time.Duration
}

// NoSpoolError says that a directory given as a spool is not one: it does
// not exist, is not a directory, or holds none of the job directories.
type NoSpoolError struct {
	Root string
	Why  string
}

func (e *NoSpoolError) Error() string { return "no spool at " + e.Root + ": " + e.Why }

// dirPerm and filePerm are a private spool's modes.
const (
	dirPerm  = 0o700
	filePerm = 0o600
)

func (s *Spool) dirMode() os.FileMode {
	if s.group {
		return 0o770 | os.ModeSetgid
	}
	return dirPerm
}

func (s *Spool) fileMode() os.FileMode {
	if s.group {
		return 0o660
	}
	return filePerm
}

// Open opens the private spool at root, creating its layout where missing.
func Open(root string) (*Spool, error) { return OpenWith(root, Options{}) }

// OpenWith opens the spool at root with options, creating its layout where
// missing.
func OpenWith(root string, o Options) (*Spool, error) {
	s := &Spool{root: root, group: o.GroupShared, Now: time.Now}
	if root == "" {
		return nil, errors.New("open spool: no directory given")
	}
	defer s.detectShared(o) // once the directory exists
	dirs := (&Spool{}).layout()
	_, err := os.Stat(root)
	created := errors.Is(err, fs.ErrNotExist)
	if err := os.MkdirAll(root, s.dirMode().Perm()); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if created && s.group {
		if err := os.Chmod(root, s.dirMode()); err != nil { // beyond the umask
			return nil, fmt.Errorf("open spool: %w", err)
		}
	}
	for _, d := range dirs {
		p := filepath.Join(root, d)
		err := os.Mkdir(p, s.dirMode().Perm())
		if err == nil {
			created = true
			if s.group {
				err = os.Chmod(p, s.dirMode())
			}
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("open spool: %w", err)
		}
	}
	if created {
		// New directories must survive a crash before the first job is
		// acknowledged in them.
		for _, d := range []string{root, filepath.Dir(filepath.Clean(root))} {
			if err := syncDir(d); err != nil {
				return nil, fmt.Errorf("open spool: %w", err)
			}
		}
	}
	return s, nil
}

// OpenExisting opens the spool at root without creating anything, for the
// commands that only read it and for those that change jobs that must
// exist already. The error is a *NoSpoolError when root does not exist, is
// not a directory, or holds none of the job directories (pending/,
// processing/, failed/, done/, dead/): a mistyped path is not taken for an
// empty queue. A spool that lacks only some of its directories is opened,
// and the missing ones read as empty (doctor reports them).
func OpenExisting(root string, o Options) (*Spool, error) {
	if root == "" {
		return nil, errors.New("open spool: no directory given")
	}
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &NoSpoolError{Root: root, Why: "the directory does not exist"}
	case err != nil:
		return nil, fmt.Errorf("open spool: %w", err)
	case !fi.IsDir():
		return nil, &NoSpoolError{Root: root, Why: "not a directory"}
	}
	s := &Spool{root: root, group: o.GroupShared, existing: true, readOnly: o.ReadOnly, Now: time.Now}
	s.detectShared(o)
	for _, st := range States {
		if fi, err := os.Stat(s.dir(st)); err == nil && fi.IsDir() {
			return s, nil
		}
	}
	return nil, &NoSpoolError{Root: root, Why: "it holds none of the job directories pending/, processing/, failed/, done/ and dead/"}
}

// missing reports whether err says that a directory of a spool opened by
// OpenExisting is missing, which reads as an empty one.
func (s *Spool) missing(err error) bool {
	return s.existing && errors.Is(err, fs.ErrNotExist)
}

// Root returns the spool's directory.
func (s *Spool) Root() string { return s.root }

// dir returns the directory of a state.
func (s *Spool) dir(st State) string { return filepath.Join(s.root, string(st)) }

// path returns where the job id sits when it is in state st.
func (s *Spool) path(st State, id string) string {
	return filepath.Join(s.root, string(st), id+".json")
}

// Path returns the file of job id in state st, for messages to users.
func (s *Spool) Path(st State, id string) string { return s.path(st, id) }

// now returns the current time in UTC, without a monotonic reading.
func (s *Spool) now() time.Time { return s.Now().UTC() }

// IDFromName returns the job id that a file name in a state directory
// stands for, or an error saying why the name cannot be a job's.
func IDFromName(name string) (string, error) {
	id, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return "", fmt.Errorf("file name %q does not end in .json", name)
	}
	if err := job.CheckID(id); err != nil {
		return "", fmt.Errorf("file name: %w", err)
	}
	return id, nil
}

// Ignored reports whether a name in pending/ belongs to a writer that has
// not finished yet: dotfiles and names ending in .tmp.
func Ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp")
}
