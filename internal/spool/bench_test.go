package spool

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/queuectl/queuectl/internal/job"
)

// BenchmarkList reads and parses a pending/ of 10,000 jobs.
func BenchmarkList(b *testing.B) {
	s, err := Open(filepath.Join(tempDir(b), "spool"))
	if err != nil {
		b.Fatal(err)
	}
	jobs := make([]*job.Job, 10000)
	for i := range jobs {
		jobs[i] = &job.Job{ID: fmt.Sprintf("j%05d", i), Command: "echo hello"}
	}
	if _, err := s.EnqueueBatch(jobs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if es, err := s.List(Pending); err != nil || len(es) != len(jobs) {
			b.Fatal(len(es), err)
		}
	}
}
