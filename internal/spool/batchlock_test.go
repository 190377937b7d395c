package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// A batch's files wait in tmp/, unlocked, until it publishes them: while
// a batch holds the batch lock, Check does not call them stale however
// old they are (so doctor --repair leaves them); once it lets go, it does.
func TestBatchTempsNotStaleWhileBatchRuns(t *testing.T) {
	s := open(t)
	name := "b1.0123456789ab" + tempExt
	if err := os.WriteFile(filepath.Join(s.root, dirTmp, name), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Now().Add(2 * StaleTemp) }
	reported := func() bool {
		t.Helper()
		findings, err := s.Check()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			if f.Kind == "stale-temp" && f.Path == "tmp/"+name {
				return true
			}
		}
		return false
	}
	if !reported() {
		t.Fatal("an old temp file is not reported when no batch has run")
	}
	release, err := s.holdBatch()
	if err != nil {
		t.Fatal(err)
	}
	if reported() {
		t.Error("an old temp file is reported while a batch runs")
	}
	release()
	if !reported() {
		t.Error("an old temp file is not reported once the batch has ended")
	}
}

// EnqueueBatch holds the batch lock while its files are in tmp/, and lets
// it go when it returns.
func TestEnqueueBatchHoldsBatchLock(t *testing.T) {
	s := open(t)
	jobs := make([]*job.Job, 5000)
	for i := range jobs {
		jobs[i] = &job.Job{ID: fmt.Sprintf("b%05d", i), Command: "true"}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.EnqueueBatch(jobs)
		done <- err
	}()
	seen := false
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
			seen = seen || s.batchRunning()
			time.Sleep(100 * time.Microsecond)
		}
	}
	if !seen {
		t.Error("the batch lock was never seen held while the batch ran")
	}
	if s.batchRunning() {
		t.Error("the batch lock is held after EnqueueBatch returned")
	}
}
