// Network spools are not detected on Windows (see spool's hosts_test.go).

//go:build !windows

package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// TestPollingWorkersClaimWhatWasRecovered: a polling worker on a network
// spool that puts back the job of a dead worker of another host hands it
// to the first worker of its process that looks for a job, itself or
// another, which claims it next, without waiting for a rescan or for its
// turn among the first due jobs (the host kill of nfs-test.sh is timed to
// that job's end); it is handed over once.
func TestPollingWorkersClaimWhatWasRecovered(t *testing.T) {
	t.Parallel()
	s, err := spool.OpenWith(filepath.Join(t.TempDir(), "spool"), spool.Options{Network: true, Lease: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	base := time.Now().Add(-time.Hour)
	if err := s.Enqueue(&job.Job{ID: "held", Command: "true", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := s.Enqueue(&job.Job{ID: fmt.Sprintf("j%02d", i), Command: "true", CreatedAt: base.Add(time.Duration(i+1) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// A worker of another host claimed "held" and stopped beating a lease ago.
	const dead = "otherhost-1-aa"
	reg, err := s.Register(dead)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Beat(spool.Heartbeat{Host: "otherhost", State: "busy", Job: "held", HeartbeatAt: time.Now().UTC().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Claim(spool.Pending, "held", dead)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()

	w := New(Options{ID: "thishost-1-bb", Spool: s, Config: &cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	other := New(Options{ID: "thishost-1-cc", Spool: s, Config: &cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w.scan() // as at their start: "held" is in processing/ then
	other.scan()
	w.recoverOrphans()
	if n, _ := s.Count(spool.Processing); n != 0 {
		t.Fatalf("the dead worker's job was not recovered: %d in processing/", n)
	}
	k, ok := other.next()
	if !ok || k != (key{spool.Pending, "held"}) {
		t.Errorf("the other worker's next after the recovery: %v (%v), want the recovered job", k, ok)
	}
	if k, ok := w.next(); !ok || k.id == "held" {
		t.Errorf("the recovering worker's next: %v (%v), want another job: the recovered one is taken", k, ok)
	}
}

// TestNetworkHeartbeatOnlyPeriodic: on a network spool a change of state
// waits for the periodic heartbeat instead of costing a write of its own;
// on a local one it is written soon. The heartbeats goroutine runs for
// real: a heartbeat stamped before its first periodic tick was written for
// the change.
func TestNetworkHeartbeatOnlyPeriodic(t *testing.T) {
	t.Parallel()
	for _, network := range []bool{true, false} {
		t.Run(fmt.Sprint("network ", network), func(t *testing.T) {
			t.Parallel()
			s, err := spool.OpenWith(filepath.Join(t.TempDir(), "spool"), spool.Options{Network: network})
			if err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			w := New(Options{ID: "h-1-aa", Spool: s, Config: &cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			reg, err := s.Register(w.id)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			start := time.Now().UTC()
			go func() { defer close(done); w.heartbeats(ctx, reg) }()
			defer func() { cancel(); <-done }()
			w.setState("busy", "j", 0)
			w.beatSoon()
			beatAt := func() (time.Time, bool) {
				ws, err := s.Workers(false)
				if err != nil || len(ws) != 1 || ws[0].HeartbeatAt.IsZero() {
					return time.Time{}, false
				}
				return ws[0].HeartbeatAt, true
			}
			if network {
				time.Sleep(3 * beatGap)
				if at, ok := beatAt(); ok && at.Before(start.Add(heartbeatEvery)) {
					t.Fatalf("a heartbeat written %v after the start, before the first periodic one: for the change of state", at.Sub(start))
				}
				return
			}
			for deadline := time.Now().Add(heartbeatEvery / 2); ; time.Sleep(10 * time.Millisecond) {
				if at, ok := beatAt(); ok && at.Before(start.Add(heartbeatEvery)) {
					return // written for the change, before any periodic beat
				}
				if time.Now().After(deadline) {
					if time.Since(start) < heartbeatEvery {
						t.Fatal("no heartbeat written for a change of state on a local spool")
					}
					t.Skip("the machine was too slow to tell a change's heartbeat from the periodic one")
				}
			}
		})
	}
}

// TestPollingWorkerSkipsWhatOthersTook: a polling worker on a network
// spool drops from its view the jobs that another worker of its process
// has just claimed, instead of trying claims that fail.
func TestPollingWorkerSkipsWhatOthersTook(t *testing.T) {
	t.Parallel()
	s, err := spool.OpenWith(filepath.Join(t.TempDir(), "spool"), spool.Options{Network: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	base := time.Now().Add(-time.Hour)
	for i := range 20 {
		if err := s.Enqueue(&job.Job{ID: fmt.Sprintf("j%02d", i), Command: "true", CreatedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	w := New(Options{ID: "thishost-1-bb", Spool: s, Config: &cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w.scan()
	for i := range spreadWindow - 1 {
		s.NoteTaken(spool.Pending, fmt.Sprintf("j%02d", i)) // as the other workers' claims do
	}
	k, ok := w.next()
	if want := fmt.Sprintf("j%02d", spreadWindow-1); !ok || k.id < want {
		t.Errorf("next: %v (%v), want a job from %s on, the others being taken", k, ok, want)
	}
	if w.idx.has(key{spool.Pending, "j00"}) {
		t.Error("a job taken by another worker is still in the worker's view")
	}
}

// TestHeartbeatsDuringFirstScan: the heartbeat is kept fresh while the
// first scan reads the spool, which on a network file system can take
// longer than the lease: other hosts would take the worker for dead.
func TestHeartbeatsDuringFirstScan(t *testing.T) {
	t.Parallel()
	s, err := spool.OpenWith(filepath.Join(t.TempDir(), "spool"), spool.Options{Network: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	w := New(Options{ID: "thishost-1-dd", Spool: s, Config: &cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	beating := make(chan bool, 1)
	w.beforeFirstScan = func() {
		// The heartbeat goroutine is started before the scan; give it
		// time to run (without it this waits in vain).
		deadline := time.Now().Add(10 * time.Second)
		for !w.beating.Load() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		beating <- w.beating.Load()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if !<-beating {
		t.Error("no heartbeats during the first scan")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
