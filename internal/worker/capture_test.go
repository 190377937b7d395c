package worker

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/spool"
)

// A grace timer that fires late (the worker's processor was held, or the
// machine busy) gives the output its grace again: what the run wrote
// meanwhile still reaches the job file.
func TestCaptureGraceAfterLateTimer(t *testing.T) {
	s, err := spool.Open(filepath.Join(tempDir(t), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer func(f func(time.Time) time.Duration) { sinceDeadline = f }(sinceDeadline)
	sinceDeadline = func(time.Time) time.Duration { return time.Hour } // every timer late
	c, w, err := newCapture(s, "late", "=== attempt 1\n")
	if err != nil {
		t.Fatal(err)
	}
	const grace = 100 * time.Millisecond
	go func() {
		time.Sleep(3 * grace) // past the first grace, within maxGraces of them
		w.WriteString("the tail\n")
		w.Close()
	}()
	out, err := c.end(grace, "=== exit status 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "the tail") {
		t.Fatalf("output after late timers = %q, want the tail written after the first grace", out)
	}
}
