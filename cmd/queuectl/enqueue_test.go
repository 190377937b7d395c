package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuectl/queuectl/internal/job"
)

// TestEnqueueCommandTooLong: a command longer than the system can run is
// refused at enqueue, from --command (too long to pass through a script),
// with one line naming its length and the limit.
func TestEnqueueCommandTooLong(t *testing.T) {
	t.Parallel()
	spool := filepath.Join(t.TempDir(), "spool")
	for _, n := range []int{job.MaxCommand + 1, 1 << 20} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--spool", spool, "enqueue", "--id", "long", "--command", strings.Repeat("x", n)},
			strings.NewReader(""), &stdout, &stderr)
		want := fmt.Sprintf("queuectl: field \"command\": %d bytes long, over the limit of %d bytes (the longest command the system can run)\n", n, job.MaxCommand)
		if code != exitFailed || stdout.Len() != 0 || stderr.String() != want {
			t.Errorf("enqueue of a %d-byte command: exit %d, stdout %q, stderr %q; want exit 1 and %q", n, code, stdout.String(), stderr.String(), want)
		}
	}
	if names, _ := os.ReadDir(filepath.Join(spool, "pending")); len(names) != 0 {
		t.Errorf("pending/ holds %d files", len(names))
	}
}
