package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/queuectl/queuectl/internal/job"
)

// A job whose file was removed (by hand, as a first user did with rm
// spool/done/X.json) leaves its log; a new job with its id must not start
// with that log, whether it comes alone or in a batch, small (looked up one
// by one) or large (looked up by listing). While the old job is there, the
// enqueue fails and its log stays.
func TestEnqueueRemovesStaleLog(t *testing.T) {
	t.Parallel()
	batch := func(n int) func(s *Spool, id string) error {
		return func(s *Spool, id string) error {
			jobs := []*job.Job{{ID: id, Command: "true"}}
			for i := 1; i < n; i++ {
				jobs = append(jobs, &job.Job{ID: fmt.Sprintf("%s-%d", id, i), Command: "true"})
			}
			_, err := s.EnqueueBatch(jobs)
			return err
		}
	}
	for _, tt := range []struct {
		name    string
		enqueue func(s *Spool, id string) error
	}{
		{"single", func(s *Spool, id string) error { return s.Enqueue(&job.Job{ID: id, Command: "true"}) }},
		{"batch of 1", batch(1)},
		{"batch of 100", batch(100)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			write(t, s.Path(Done, "x"), `{"command": "echo old"}`)
			write(t, s.LogPath("x"), "old output\n")
			if err := tt.enqueue(s, "x"); !errors.Is(err, ErrExists) {
				t.Fatalf("enqueue beside the done job: %v, want ErrExists", err)
			}
			if _, err := os.Lstat(s.LogPath("x")); err != nil {
				t.Fatalf("the log of the job still there is gone: %v", err)
			}
			mustDo(t, os.Remove(s.Path(Done, "x")))
			if err := tt.enqueue(s, "x"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(s.LogPath("x")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the new job x has the old job's log: %v", err)
			}
			if _, err := s.Read(Pending, "x"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
