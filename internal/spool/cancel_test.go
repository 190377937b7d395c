package spool

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// TestRecoverHonoursCancel: an orphan with a cancel request goes to dead/
// as cancelled, its interrupted run counted, and the request goes; one
// whose run had ended done keeps that outcome.
func TestRecoverHonoursCancel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		finish func(l *Lease) // what the owner got to write before it died
		want   State
	}{
		{"running", func(*Lease) {}, Dead},
		{"failed", func(l *Lease) { l.SetFail("exit status 1", nil, "", 3, time.Hour) }, Dead},
		{"done", func(l *Lease) { l.SetComplete("") }, Done},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			mustDo(t, s.Enqueue(&job.Job{ID: "j", Command: "true"}))
			l, err := s.Claim(Pending, "j", "ghost")
			mustDo(t, err)
			tc.finish(l)
			if l.to != "" {
				// The record written, not moved: as Commit leaves it
				// when its owner dies between the two.
				l.recorded = true
				l.Job.State = string(l.to)
				data, err := job.Marshal(l.Job)
				mustDo(t, err)
				path, f, err := s.writeTempLocked("j", data)
				mustDo(t, err)
				mustDo(t, l.replaceWith(path, f))
			}
			mustDo(t, s.RequestCancel("j"))
			l.Release()
			_, st, err := s.Recover("j", 3, 0)
			if err != nil || st != tc.want {
				t.Fatalf("Recover: %s, %v; want %s", st, err, tc.want)
			}
			j, err := s.Read(tc.want, "j")
			mustDo(t, err)
			if tc.want == Dead && (j.LastError != Cancelled || j.Attempts != 1) {
				t.Fatalf("last_error %q, attempts %d", j.LastError, j.Attempts)
			}
			if tc.want == Dead && s.CancelRequested("j") {
				t.Fatal("the cancel request is left behind")
			}
		})
	}
}

// TestCancelWaitingAgainstClaims: of a cancel and claims racing for one
// job, exactly one wins, and the job is in exactly one directory.
func TestCancelWaitingAgainstClaims(t *testing.T) {
	t.Parallel()
	s := open(t)
	for i := range 200 {
		id := fmt.Sprintf("j%d", i)
		mustDo(t, s.Enqueue(&job.Job{ID: id, Command: "true"}))
		var wg sync.WaitGroup
		var cancelled, claimed bool
		wg.Go(func() {
			err := s.CancelWaiting(Pending, id)
			cancelled = err == nil
			if err != nil && !errors.Is(err, ErrGone) && !errors.Is(err, ErrBusy) {
				t.Errorf("%s: cancel: %v", id, err)
			}
		})
		wg.Go(func() {
			l, err := s.Claim(Pending, id, "w")
			if err == nil {
				claimed = true
				mustDo(t, l.Complete(""))
			}
		})
		wg.Wait()
		var in []State
		for _, st := range States {
			if _, err := os.Lstat(s.path(st, id)); err == nil {
				in = append(in, st)
			}
		}
		switch {
		case cancelled == claimed:
			t.Fatalf("%s: cancelled %v, claimed %v", id, cancelled, claimed)
		case len(in) != 1 || cancelled && in[0] != Dead || claimed && in[0] != Done:
			t.Fatalf("%s: cancelled %v, claimed %v, in %v", id, cancelled, claimed, in)
		}
	}
}

// TestRetryClearsCancel: a cancel request left behind does not bury the
// job again once dlq retry brings it back; doctor reports such leftovers.
func TestRetryClearsCancel(t *testing.T) {
	t.Parallel()
	s := open(t)
	mustDo(t, s.Enqueue(&job.Job{ID: "j", Command: "true"}))
	mustDo(t, s.CancelWaiting(Pending, "j"))
	mustDo(t, s.RequestCancel("j")) // an interrupted cancel's
	mustDo(t, s.RequestCancel("nope"))
	s.Now = func() time.Time { return time.Now().Add(time.Minute) }
	fs, err := s.Check()
	mustDo(t, err)
	stale := 0
	for _, f := range fs {
		if f.Kind == "stale-cancel" {
			stale++
		}
	}
	if stale != 2 {
		t.Fatalf("findings %+v, want 2 stale-cancel", fs)
	}
	if _, err := s.Retry("j"); err != nil {
		t.Fatal(err)
	}
	if s.CancelRequested("j") {
		t.Fatal("the cancel request survived dlq retry")
	}
}
