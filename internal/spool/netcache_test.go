//go:build !windows

package spool

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// TestNetworkReadsShared: on a network spool the workers of one process
// share listings (for maxAge) and reads of new job files, and one orphan
// scan per interval; on a local spool every call reads anew.
func TestNetworkReadsShared(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		network bool
	}{
		{name: "network", network: true},
		{name: "local", network: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := OpenWith(filepath.Join(t.TempDir(), "spool"), Options{Network: tc.network})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Enqueue(&job.Job{ID: "a", Command: "true", Priority: 1}); err != nil {
				t.Fatal(err)
			}
			first, err := s.NamesShared(Pending, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			j, err := s.PeekShared(Pending, "a.json", true)
			if err != nil || j.Priority != 1 {
				t.Fatalf("PeekShared: %v, %v", j, err)
			}
			// Changes that a shared read does not see yet.
			if err := s.Enqueue(&job.Job{ID: "b", Command: "true"}); err != nil {
				t.Fatal(err)
			}
			l, err := s.Claim(Pending, "a", "w1")
			if err != nil {
				t.Fatal(err)
			}
			l.SetRequeue("again", 5)
			if err := s.Commit(l)[0]; err != nil {
				t.Fatal(err)
			}
			again, err := s.NamesShared(Pending, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if shared := slices.Equal(again, first); shared != tc.network {
				t.Errorf("second listing %v after %v: shared %v, want %v", again, first, shared, tc.network)
			}
			fresh, err := s.NamesShared(Pending, 0)
			if err != nil || len(fresh) != 2 {
				t.Errorf("listing with maxAge 0: %v, %v; want both jobs", fresh, err)
			}
			j, err = s.PeekShared(Pending, "a.json", true)
			if err != nil {
				t.Fatal(err)
			}
			if shared := j.Attempts == 0; shared != tc.network {
				t.Errorf("second read: attempts %d; shared %v, want %v", j.Attempts, shared, tc.network)
			}
			if j, err := s.Peek(Pending, "a.json"); err != nil || j.Attempts != 1 {
				t.Errorf("Peek: %v, %v; want the file as it is, attempts 1", j, err)
			}
			if !s.OrphanScanTurn(time.Hour) {
				t.Error("the first orphan scan is not this caller's turn")
			}
			if turn := s.OrphanScanTurn(time.Hour); turn == tc.network {
				t.Errorf("a second orphan scan within the interval: turn %v", turn)
			}
		})
	}
}

// TestOrphanScanAtExpiry: on a network spool the next orphan scan is due
// the moment the heartbeat of a live owner of another host becomes older
// than the lease, not only a scan interval after the last scan: a dead
// host's jobs are then seen a lease after its last heartbeat.
func TestOrphanScanAtExpiry(t *testing.T) {
	t.Parallel()
	s := openNetwork(t) // lease 30 s
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	const owner = "hosta-1-aa"
	data, err := json.Marshal(Heartbeat{ID: owner, Host: "hosta", State: "busy", HeartbeatAt: now.Add(-28 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s.workerPath(owner, ".json"), string(data))
	l := claimAs(t, s, "a", owner)
	defer l.Release()
	if got := s.UntilOrphanScan(time.Hour); got != time.Hour {
		t.Errorf("before any scan: next in %v, want the interval", got)
	}
	if !s.OrphanScanTurn(time.Hour) {
		t.Fatal("the first scan is not due")
	}
	if ids, err := s.Orphans(); err != nil || len(ids) != 0 {
		t.Fatalf("Orphans with the owner alive: %v, %v", ids, err)
	}
	if got, want := s.UntilOrphanScan(time.Hour), 2*time.Second+time.Millisecond; got != want {
		t.Errorf("next scan in %v, want %v (when the owner's heartbeat expires)", got, want)
	}
	now = now.Add(time.Second)
	if s.OrphanScanTurn(time.Hour) {
		t.Error("a scan is due before the heartbeat expired")
	}
	now = now.Add(time.Second + 2*time.Millisecond)
	if !s.OrphanScanTurn(time.Hour) {
		t.Fatal("no scan due once the heartbeat expired")
	}
	if ids, err := s.Orphans(); err != nil || !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("Orphans after the expiry: %v, %v; want [a]", ids, err)
	}
	if s.OrphanScanTurn(time.Hour) {
		t.Error("a second scan is due for the same expiry")
	}
	if got := s.UntilOrphanScan(time.Hour); got != time.Hour {
		t.Errorf("no live owner left: next in %v, want the interval", got)
	}
}

// TestPeekSharedBeingRead: a caller that does not wait gets ErrBeingRead
// for a file that another caller is reading, and the shared result once
// that read is over.
func TestPeekSharedBeingRead(t *testing.T) {
	t.Parallel()
	s := openNetwork(t)
	if err := s.Enqueue(&job.Job{ID: "a", Command: "true", Priority: 3}); err != nil {
		t.Fatal(err)
	}
	p := &peeked{done: make(chan struct{})} // as PeekShared leaves it while it reads
	s.netc.peeks = map[peekKey]*peeked{{Pending, "a.json"}: p}
	if _, err := s.PeekShared(Pending, "a.json", false); !errors.Is(err, ErrBeingRead) {
		t.Fatalf("PeekShared without wait during a read: %v, want ErrBeingRead", err)
	}
	p.at, p.j = time.Now(), &job.Job{ID: "a", Priority: 7}
	close(p.done)
	if j, err := s.PeekShared(Pending, "a.json", false); err != nil || j.Priority != 7 {
		t.Fatalf("PeekShared after the read: %v, %v; want the shared job", j, err)
	}
}

// TestSlowListingServesLonger: a listing that took long serves for
// listingShare times as long, so that a large directory on a slow server
// is not listed over and over.
func TestSlowListingServesLonger(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		took   time.Duration
		shared bool
	}{
		{name: "slow listing", took: time.Second, shared: true},
		{name: "quick listing", took: time.Millisecond, shared: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openNetwork(t)
			s.netc.lists = map[State]*listing{Pending: {at: time.Now().Add(-2 * time.Second), took: tc.took, names: []string{"old.json"}}}
			names, err := s.NamesShared(Pending, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if shared := slices.Equal(names, []string{"old.json"}); shared != tc.shared {
				t.Errorf("listing %v: shared %v, want %v", names, shared, tc.shared)
			}
		})
	}
}

// TestTakenRecently: a job noted as taken by one worker of the process
// counts as taken for the others until a later listing shows its name
// again; on a local spool nothing is noted.
func TestTakenRecently(t *testing.T) {
	t.Parallel()
	for _, network := range []bool{true, false} {
		s, err := OpenWith(filepath.Join(t.TempDir(), "spool"), Options{Network: network})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.NamesShared(Pending, time.Hour); err != nil {
			t.Fatal(err)
		}
		s.NoteTaken(Pending, "a")
		if got := s.TakenRecently(Pending, "a"); got != network {
			t.Errorf("network %v: taken after the note: %v", network, got)
		}
		if s.TakenRecently(Failed, "a") || s.TakenRecently(Pending, "b") {
			t.Errorf("network %v: another key counts as taken", network)
		}
		time.Sleep(time.Millisecond) // a listing that begins after the note
		if _, err := s.NamesShared(Pending, 0); err != nil {
			t.Fatal(err)
		}
		if s.TakenRecently(Pending, "a") {
			t.Errorf("network %v: still taken after a later listing", network)
		}
	}
}
