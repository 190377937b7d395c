// Network spools are detected by statfs on Linux and macOS and by the drive
// type on Windows (see netfs_*.go); these tests force the mode. On Windows
// a network recovery would hold the job file open, which Windows cannot
// replace, so these tests do not run there.

//go:build !windows

package spool

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// openNetwork opens a spool treated as one on a network file system.
func openNetwork(t *testing.T) *Spool {
	t.Helper()
	s, err := OpenWith(filepath.Join(t.TempDir(), "spool"), Options{Network: true, Lease: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// beatAs writes a heartbeat for worker id as if it ran on host, last
// beating age ago.
func beatAs(t *testing.T, s *Spool, id, host string, age time.Duration) {
	t.Helper()
	data, err := json.Marshal(Heartbeat{ID: id, Host: host, State: "busy", HeartbeatAt: time.Now().UTC().Add(-age)})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s.workerPath(id, ".json"), string(data))
	write(t, s.workerPath(id, ".lock"), "")
}

// claimAs enqueues job id and claims it for worker, the lease held (and the
// file locked) by this process as the owner's would be.
func claimAs(t *testing.T, s *Spool, id, worker string) *Lease {
	t.Helper()
	if err := s.Enqueue(&job.Job{ID: id, Command: "true"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Claim(Pending, id, worker)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNetworkClaimNamesWorker(t *testing.T) {
	t.Parallel()
	s := openNetwork(t)
	l := claimAs(t, s, "a", "hostb-1-aa")
	defer l.Release()
	fi, err := os.Lstat(s.path(Processing, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o200 == 0 {
		t.Errorf("claimed file has mode %v: a claim mark, which a writable open for the lock would need to undo", fi.Mode())
	}
	j, err := s.Read(Processing, "a")
	if err != nil {
		t.Fatal(err)
	}
	if j.Worker != "hostb-1-aa" || j.Attempts != 1 || j.State != string(Processing) {
		t.Errorf("claimed file says worker %q, attempts %d, state %q; want the attempt written at once", j.Worker, j.Attempts, j.State)
	}
}

func TestNetworkOwnerLiveness(t *testing.T) {
	t.Parallel()
	const lease = 30 * time.Second
	for _, tc := range []struct {
		name     string
		host     string        // where the owner's heartbeat says it runs; "" for this host
		age      time.Duration // of its last heartbeat
		noBeat   bool          // its heartbeat is gone
		release  bool          // its lock is free (died on this host, or locks not shared)
		orphaned bool
	}{
		{name: "other host, fresh heartbeat, lock held", host: "hosta", age: time.Second},
		{name: "other host, fresh heartbeat, lock not shared", host: "hosta", age: time.Second, release: true},
		{name: "other host, stale heartbeat, lock still held for it", host: "hosta", age: lease + time.Second, orphaned: true},
		{name: "other host, stale heartbeat, lock free", host: "hosta", age: lease + time.Second, release: true, orphaned: true},
		{name: "this host, lock held, stale heartbeat", age: lease + time.Minute},
		{name: "this host, lock free", release: true, orphaned: true},
		{name: "heartbeat gone", noBeat: true, orphaned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openNetwork(t)
			host := tc.host
			if host == "" {
				host = s.host
			}
			const owner = "w-1-aa"
			if !tc.noBeat {
				beatAs(t, s, owner, host, tc.age)
			}
			l := claimAs(t, s, "a", owner)
			defer l.Release()
			if tc.release {
				l.Release()
			}
			ids, err := s.Orphans()
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(ids, "a"); got != tc.orphaned {
				t.Fatalf("Orphans lists the job: %v, want %v", got, tc.orphaned)
			}
			j, st, err := s.Recover("a", 3, 0)
			switch {
			case !tc.orphaned && !errors.Is(err, ErrBusy):
				t.Fatalf("Recover of a live owner's job: %v, %v; want ErrBusy", st, err)
			case tc.orphaned && err != nil:
				t.Fatalf("Recover: %v", err)
			case tc.orphaned && (st != Pending || j.Attempts != 1):
				t.Fatalf("recovered to %s with attempts %d; want pending, the interrupted run counted", st, j.Attempts)
			}
			if tc.orphaned {
				if _, err := os.Lstat(s.path(Processing, "a")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("processing/a.json still there after recovery: %v", err)
				}
				if _, _, err := s.Recover("a", 3, 0); !errors.Is(err, ErrGone) {
					t.Errorf("second Recover: %v, want ErrGone", err)
				}
			}
		})
	}
}

// A file moved into processing/ whose attempt is not yet written names no
// owner: it is left alone for a lease, then recovered.
func TestNetworkHalfClaimedFile(t *testing.T) {
	t.Parallel()
	s := openNetwork(t)
	if err := s.Enqueue(&job.Job{ID: "a", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.path(Pending, "a"), s.path(Processing, "a")); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.Orphans(); len(ids) != 0 {
		t.Fatalf("a claim in progress taken for orphaned: %v", ids)
	}
	if _, _, err := s.Recover("a", 3, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("Recover of a claim in progress: %v, want ErrBusy", err)
	}
	s.Now = func() time.Time { return time.Now().Add(31 * time.Second) }
	if _, st, err := s.Recover("a", 3, 0); err != nil || st != Pending {
		t.Fatalf("Recover after a lease: %v, %v", st, err)
	}
}

func TestNetworkRemoteWorkerAlive(t *testing.T) {
	t.Parallel()
	s := openNetwork(t)
	beatAs(t, s, "fresh", "hosta", time.Second)
	beatAs(t, s, "stale", "hosta", time.Minute)
	// Nobody holds either lock file here: on a network file system that
	// says nothing about a worker of another host.
	if !s.WorkerAlive("fresh") {
		t.Error("a worker of another host with a fresh heartbeat is taken for dead")
	}
	if s.WorkerAlive("stale") {
		t.Error("a worker of another host whose heartbeat is older than the lease is taken for alive")
	}
	if _, err := s.Workers(true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.workerPath("fresh", ".json")); err != nil {
		t.Errorf("the live remote worker's heartbeat was removed: %v", err)
	}
	if _, err := os.Lstat(s.workerPath("stale", ".json")); err == nil {
		t.Error("the dead remote worker's heartbeat was kept")
	}
}

// On a local spool the lock alone decides, as before: a stale heartbeat of
// "another host" does not make a held job orphaned.
func TestLocalSpoolIgnoresHeartbeats(t *testing.T) {
	t.Parallel()
	s := open(t)
	if s.Network() {
		t.Skip("the test directory is on a network file system")
	}
	beatAs(t, s, "w-1-aa", "hosta", time.Hour)
	l := claimAs(t, s, "a", "w-1-aa")
	defer l.Release()
	if ids, _ := s.Orphans(); len(ids) != 0 {
		t.Fatalf("orphans on a local spool with the lock held: %v", ids)
	}
}
