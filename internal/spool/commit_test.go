package spool

import (
	"os"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// Outcomes committed together land each where it chose, each whole, with
// nothing left in processing/ or tmp/; with the job path's flushes held
// (HoldSyncs) too.
func TestCommitBatch(t *testing.T) {
	t.Run("flushes", func(t *testing.T) { testCommitBatch(t, false) })
	t.Run("held flushes", func(t *testing.T) { testCommitBatch(t, true) })
}

func testCommitBatch(t *testing.T, held bool) {
	s := open(t)
	if held {
		if !onLocalDisk(s.root) {
			t.Skip("the test's spool is not on a local disk file system")
		}
		s.HoldSyncs()
		if !s.held.Load() {
			t.Fatal("HoldSyncs did not hold the flushes of a spool on a local disk")
		}
	}
	ids := []string{"ok", "retry", "last", "stopped"}
	for _, id := range ids {
		if err := s.Enqueue(&job.Job{ID: id, Command: "true", MaxRetries: ptr(1)}); err != nil {
			t.Fatal(err)
		}
	}
	var ls []*Lease
	for _, id := range ids {
		l, err := s.Claim(Pending, id, "w")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	// "last" is in its second attempt: its failure is its last.
	ls[2].Job.Attempts = 2
	ls[0].SetComplete("out\n")
	if to := ls[1].SetFail("exit status 1", ptr(1), "", 3, time.Hour); to != Failed {
		t.Errorf("retry goes to %s", to)
	}
	if to := ls[2].SetFail("exit status 1", ptr(1), "", 3, time.Hour); to != Dead {
		t.Errorf("last goes to %s", to)
	}
	if to := ls[3].SetRequeue("interrupted", 3); to != Pending {
		t.Errorf("stopped goes to %s", to)
	}
	for i, err := range s.Commit(ls...) {
		if err != nil {
			t.Errorf("%s: %v", ids[i], err)
		}
	}
	want := map[string]State{"ok": Done, "retry": Failed, "last": Dead, "stopped": Pending}
	for id, st := range want {
		j, err := s.Read(st, id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if j.State != string(st) || j.Attempts == 0 || j.FinishedAt.IsZero() {
			t.Errorf("%s in %s: %+v", id, st, j)
		}
	}
	if j, _ := s.Read(Done, "ok"); j != nil && (j.Output != "out\n" || j.ExitCode == nil || *j.ExitCode != 0) {
		t.Errorf("done job: %+v", j)
	}
	for _, d := range []string{s.dir(Processing), s.dir("tmp")} {
		if es, _ := os.ReadDir(d); len(es) != 0 {
			t.Errorf("%s not empty: %v", d, es)
		}
	}
	// Committed leases are released: a second commit is refused.
	if err := s.Commit(ls[0])[0]; err == nil {
		t.Error("a released lease was committed again")
	}
}

func ptr[T any](v T) *T { return &v }

// A network spool's flushes are never held: a server that does not answer
// would stop the whole worker process.
func TestHoldSyncsNotOnNetworkSpool(t *testing.T) {
	s, err := OpenWith(tempDir(t), Options{Network: true})
	if err != nil {
		t.Fatal(err)
	}
	s.HoldSyncs()
	if s.held.Load() {
		t.Fatal("HoldSyncs held the flushes of a network spool")
	}
}
