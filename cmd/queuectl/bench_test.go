package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchSpool returns a spool with n pending jobs, enqueued as one batch.
func benchSpool(b *testing.B, n int) (dir string) {
	b.Helper()
	dir = filepath.Join(b.TempDir(), "spool")
	none := filepath.Join(b.TempDir(), "none.toml")
	if err := os.WriteFile(none, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("QUEUECTL_CONFIG", none)
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "{\"id\": \"b%06d\", \"command\": \"echo %d\"}\n", i, i)
	}
	if n == 0 {
		return dir
	}
	if code := run([]string{"--spool", dir, "enqueue", "--batch"}, strings.NewReader(lines.String()), io.Discard, os.Stderr); code != 0 {
		b.Fatalf("enqueue --batch: exit %d", code)
	}
	return dir
}

// BenchmarkListJSON runs list --json over 10,000 pending jobs.
func BenchmarkListJSON(b *testing.B) {
	dir := benchSpool(b, 10000)
	for b.Loop() {
		if code := run([]string{"--spool", dir, "list", "--json"}, nil, io.Discard, os.Stderr); code != 0 {
			b.Fatalf("list: exit %d", code)
		}
	}
}

// BenchmarkEnqueueBatch enqueues 1,000 jobs with one enqueue --batch.
func BenchmarkEnqueueBatch(b *testing.B) {
	var lines strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&lines, "{\"command\": \"echo %d\"}\n", i)
	}
	dir := benchSpool(b, 0)
	for b.Loop() {
		if code := run([]string{"--spool", dir, "enqueue", "--batch"}, strings.NewReader(lines.String()), io.Discard, os.Stderr); code != 0 {
			b.Fatalf("enqueue --batch: exit %d", code)
		}
	}
}
