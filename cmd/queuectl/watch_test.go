package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/queuectl/queuectl/internal/spool"
)

// TestWatchModelRedraws feeds the live view's model the snapshots of a
// spool that changes: each view shows the counts of the last, and a tick
// asks for the next read.
func TestWatchModelRedraws(t *testing.T) {
	t.Parallel()
	dir := newSpool(t, "a", "b")
	s, err := spool.OpenExisting(dir, spool.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &watchModel{s: s, interval: time.Second, l: looks{human: true}, tp: &throughput{}}
	if got := m.View().Content; !strings.Contains(got, "reading") {
		t.Errorf("before the first read the view shows %q", got)
	}
	step := func(want string) {
		t.Helper()
		msg := m.Init()()
		if _, ok := msg.(snapMsg); !ok {
			t.Fatalf("Init's command gave %T, want a snapshot", msg)
		}
		if _, cmd := m.Update(msg); cmd == nil {
			t.Fatal("no tick asked for after a snapshot")
		}
		if got := m.View().Content; !strings.Contains(got, want) {
			t.Errorf("view lacks %q:\n%s", want, got)
		}
	}
	step("pending 2  processing 0")
	newSpoolJob(t, dir, "c")
	step("pending 3  processing 0")
	if _, cmd := m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"}); cmd == nil {
		t.Error("q does not quit")
	}
}

// TestThroughput checks the count of finished jobs over the last minute
// from counts seen at refreshes: rises add up, a fall (purge, retention)
// only sets a new base, and samples older than a minute drop out.
func TestThroughput(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		samples          [][3]int // seconds after t0, done, dead
		done, dead, span int      // span in seconds
	}{
		{"one sample", [][3]int{{0, 5, 1}}, 0, 0, 0},
		{"rises", [][3]int{{0, 5, 1}, {1, 7, 1}, {2, 10, 2}}, 5, 1, 2},
		{"a purge", [][3]int{{0, 50, 0}, {1, 52, 0}, {2, 0, 0}, {3, 3, 0}}, 5, 0, 3},
		{"a minute only", [][3]int{{0, 0, 0}, {30, 10, 0}, {70, 15, 0}, {80, 16, 0}}, 6, 0, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tp throughput
			for _, s := range tt.samples {
				tp.add(t0.Add(time.Duration(s[0])*time.Second), s[1], s[2])
			}
			done, dead, span := tp.finished()
			if done != tt.done || dead != tt.dead || span != time.Duration(tt.span)*time.Second {
				t.Errorf("finished() = %d done, %d dead over %v; want %d, %d over %ds", done, dead, span, tt.done, tt.dead, tt.span)
			}
		})
	}
}

// TestRelative checks the times said for people.
func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{-400 * time.Millisecond, "just now"},
		{45 * time.Second, "45s ago"},
		{3*time.Minute + 59*time.Second, "3m ago"},
		{5 * time.Hour, "5h ago"},
		{47 * time.Hour, "47h ago"},
		{72 * time.Hour, "3d ago"},
		{-5 * time.Minute, "in 5m"},
	}
	for _, tt := range tests {
		if got := relative(now.Add(-tt.d), now); got != tt.want {
			t.Errorf("relative(now-%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// newSpool makes a spool in a temporary directory with the given jobs
// pending, enqueued as a user would.
func newSpool(t *testing.T, ids ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "spool")
	for _, id := range ids {
		newSpoolJob(t, dir, id)
	}
	return dir
}

// newSpoolJob enqueues one more job in the spool dir.
func newSpoolJob(t *testing.T, dir, id string) {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run([]string{"enqueue", "--spool", dir, "--id", id, "--command", "true"}, nil, &out, &errs); code != 0 {
		t.Fatalf("enqueue %s: exit %d: %s", id, code, errs.String())
	}
}
