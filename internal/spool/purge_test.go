package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// jobAt returns a job file's contents with the given updated_at (none when
// zero).
func jobAt(updated time.Time) string {
	if updated.IsZero() {
		return `{"command": "true"}`
	}
	return fmt.Sprintf(`{"command": "true", "updated_at": %q}`, updated.Format(time.RFC3339Nano))
}

// names returns the sorted names in a directory of the spool.
func spoolNames(t *testing.T, s *Spool, dir string) []string {
	t.Helper()
	names, err := readNames(filepath.Join(s.Root(), dir))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func setMtime(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// TestPurge: seed a spool, purge one state, compare what is left.
func TestPurge(t *testing.T) {
	t.Parallel()
	if os.Getenv("QUEUECTL_TEST_WINE") != "" {
		// Wine's symlinks are not Windows' reparse points, and its
		// directory removal fails ("Invalid function").
		t.Skip("under Wine: symlinks and directory removal are not Windows'")
	}
	now := time.Now().UTC()
	old, young := now.Add(-48*time.Hour), now.Add(-time.Hour)
	cutoff := now.Add(-24 * time.Hour)
	allLogs := []string{"bad.log", "d-old.log", "d-young.log", "old.log", "p.log", "plain-old.log", "plain-young.log", "young.log"}
	for _, tt := range []struct {
		name     string
		st       State
		o        PurgeOptions
		want     int
		left     []string // in the state's directory afterwards
		leftLogs []string
	}{
		{name: "done, all", st: Done, o: PurgeOptions{All: true}, want: 6,
			left: []string{".hidden.json", "note.txt"}, leftLogs: []string{"d-old.log", "d-young.log", "p.log"}},
		{name: "done, older than a day", st: Done, o: PurgeOptions{Before: cutoff}, want: 3,
			left:     []string{".hidden.json", "link.json", "note.txt", "plain-young.json", "young.json"},
			leftLogs: []string{"d-old.log", "d-young.log", "p.log", "plain-young.log", "young.log"}},
		{name: "done, older than a day, one kept", st: Done, o: PurgeOptions{Before: cutoff, Keep: func(id string) bool { return id == "old" }}, want: 2,
			left:     []string{".hidden.json", "link.json", "note.txt", "old.json", "plain-young.json", "young.json"},
			leftLogs: []string{"d-old.log", "d-young.log", "old.log", "p.log", "plain-young.log", "young.log"}},
		{name: "dead, all", st: Dead, o: PurgeOptions{All: true}, want: 2,
			leftLogs: []string{"bad.log", "old.log", "p.log", "plain-old.log", "plain-young.log", "young.log"}},
		{name: "dead, older than a day", st: Dead, o: PurgeOptions{Before: cutoff}, want: 1,
			left: []string{"d-young.json"}, leftLogs: []string{"bad.log", "d-young.log", "old.log", "p.log", "plain-old.log", "plain-young.log", "young.log"}},
		// A reason whose entry is missing goes too, once a minute old (the
		// entry may be about to arrive); it is not counted.
		{name: "rejected, all", st: Rejected, o: PurgeOptions{All: true}, want: 3,
			left: []string{"fresh-orphan.reason"}, leftLogs: allLogs},
		{name: "rejected, older than a day", st: Rejected, o: PurgeOptions{Before: cutoff}, want: 2,
			left: []string{"fresh-orphan.reason", "r-young", "r-young.reason"}, leftLogs: allLogs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			// done/: by updated_at, by mtime without one, an invalid file
			// by its mtime, a symlink (never followed) by its own mtime;
			// names that are not jobs' are left alone.
			write(t, s.Path(Done, "old"), jobAt(old))
			write(t, s.Path(Done, "young"), jobAt(young))
			write(t, s.Path(Done, "plain-old"), jobAt(time.Time{}))
			setMtime(t, s.Path(Done, "plain-old"), old)
			write(t, s.Path(Done, "plain-young"), jobAt(time.Time{}))
			setMtime(t, s.Path(Done, "plain-young"), young)
			write(t, s.Path(Done, "bad"), `{"comand": "true"}`)
			setMtime(t, s.Path(Done, "bad"), old)
			if err := os.Symlink("old.json", s.Path(Done, "link")); err != nil {
				t.Skip("no symlinks here:", err)
			}
			write(t, filepath.Join(s.dir(Done), "note.txt"), "not a job")
			write(t, filepath.Join(s.dir(Done), ".hidden.json"), jobAt(old))
			for _, id := range []string{"old", "young", "plain-old", "plain-young", "bad"} {
				write(t, s.LogPath(id), "output of "+id+"\n")
			}
			// dead/
			write(t, s.Path(Dead, "d-old"), jobAt(old))
			write(t, s.Path(Dead, "d-young"), jobAt(young))
			write(t, s.LogPath("d-old"), "x\n")
			write(t, s.LogPath("d-young"), "x\n")
			// rejected/: entries with reasons, a directory, reasons alone.
			rej := func(name string) string { return filepath.Join(s.dir(Rejected), name) }
			write(t, rej("r-old"), "garbage")
			write(t, rej("r-old.reason"), "why\n")
			setMtime(t, rej("r-old"), old)
			write(t, rej("r-young"), "garbage")
			write(t, rej("r-young.reason"), "why\n")
			setMtime(t, rej("r-young"), young)
			mustDo(t, os.MkdirAll(rej("r-dir/inside"), 0o700))
			write(t, rej("r-dir.reason"), "a directory\n")
			setMtime(t, rej("r-dir"), old)
			write(t, rej("old-orphan.reason"), "entry gone\n")
			setMtime(t, rej("old-orphan.reason"), old)
			write(t, rej("fresh-orphan.reason"), "entry about to arrive\n")
			// Elsewhere: never touched.
			write(t, s.Path(Pending, "p"), jobAt(old))
			write(t, s.LogPath("p"), "p\n")

			n, err := s.Purge(context.Background(), tt.st, tt.o)
			if err != nil || n != tt.want {
				t.Fatalf("Purge = %d, %v; want %d", n, err, tt.want)
			}
			if got := spoolNames(t, s, string(tt.st)); !slices.Equal(got, tt.left) && len(got)+len(tt.left) > 0 {
				t.Errorf("%s/ holds %q, want %q", tt.st, got, tt.left)
			}
			if got := spoolNames(t, s, dirLogs); !slices.Equal(got, tt.leftLogs) {
				t.Errorf("logs/ holds %q, want %q", got, tt.leftLogs)
			}
			if _, err := os.Lstat(s.Path(Pending, "p")); err != nil {
				t.Errorf("a pending job was touched: %v", err)
			}
		})
	}
}

// Jobs that may still run are never purged.
func TestPurgeRefusesRunnable(t *testing.T) {
	t.Parallel()
	s := open(t)
	for _, st := range []State{Pending, Processing, Failed} {
		write(t, s.Path(st, "j-"+string(st)), jobAt(time.Time{}))
		n, err := s.Purge(context.Background(), st, PurgeOptions{All: true})
		if n != 0 || !errors.Is(err, ErrMayRun) {
			t.Errorf("purge %s = %d, %v; want ErrMayRun", st, n, err)
		}
		if _, err := os.Lstat(s.Path(st, "j-"+string(st))); err != nil {
			t.Errorf("the %s job is gone: %v", st, err)
		}
	}
}

// Removals are chunked: a purge of 600 jobs takes the lock at least 3
// times (256 files at most per hold; more holds when the disk is slow).
func TestPurgeChunks(t *testing.T) {
	t.Parallel()
	s := open(t)
	for i := range 600 {
		id := fmt.Sprintf("j%03d", i)
		write(t, s.Path(Done, id), jobAt(time.Time{}))
		write(t, s.LogPath(id), "x\n")
	}
	holds := 0
	s.beforePurgeLock = func() { holds++ }
	n, err := s.Purge(context.Background(), Done, PurgeOptions{All: true})
	if err != nil || n != 600 {
		t.Fatalf("Purge = %d, %v; want 600", n, err)
	}
	if holds < 3 {
		t.Errorf("the lock was taken %d times for 600 jobs, want 3 or more", holds)
	}
	t.Logf("%d holds of the lock for 600 jobs", holds)
	if left := spoolNames(t, s, dirLogs); len(left) != 0 {
		t.Errorf("logs left: %q", left)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	write(t, s.Path(Done, "late"), jobAt(time.Time{}))
	if n, err := s.Purge(ctx, Done, PurgeOptions{All: true}); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Purge with an ended context = %d, %v", n, err)
	}
}

// A job file replaced between Purge's judging and its removal (the old job
// removed by another purge, a new job of the same id enqueued and run to
// done) is not removed, nor is the new job's log.
func TestPurgeLeavesReplacedJob(t *testing.T) {
	t.Parallel()
	s := open(t)
	old := time.Now().Add(-48 * time.Hour)
	write(t, s.Path(Done, "x"), jobAt(old))
	write(t, s.LogPath("x"), "old\n")
	raced := false
	s.beforePurgeLock = func() {
		if raced {
			return
		}
		raced = true
		// Another purge removes the old job first.
		other, err := Open(s.Root())
		mustDo(t, err)
		if n, err := other.Purge(context.Background(), Done, PurgeOptions{All: true}); n != 1 || err != nil {
			t.Fatalf("the other purge = %d, %v", n, err)
		}
		mustDo(t, s.Enqueue(&job.Job{ID: "x", Command: "echo new"}))
		if _, err := os.Lstat(s.LogPath("x")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the new job x starts with a log: %v", err)
		}
		write(t, s.LogPath("x"), "new\n") // as its worker writes it
		mustDo(t, os.Rename(s.Path(Pending, "x"), s.Path(Done, "x")))
	}
	n, err := s.Purge(context.Background(), Done, PurgeOptions{Before: time.Now().Add(-24 * time.Hour)})
	if err != nil || n != 0 {
		t.Fatalf("Purge = %d, %v; want 0 (the judged file was replaced)", n, err)
	}
	if j, err := s.Read(Done, "x"); err != nil || j.Command != "echo new" {
		t.Fatalf("the new job x: %+v, %v", j, err)
	}
	if data, err := os.ReadFile(s.LogPath("x")); err != nil || string(data) != "new\n" {
		t.Fatalf("the new job's log: %q, %v", data, err)
	}
}

// TestPurgeRaceEnqueue: purges of old done jobs run without pause while an
// id is enqueued again and again as soon as it is free: the new job and its
// log are never removed, and no new job starts with the old job's log.
func TestPurgeRaceEnqueue(t *testing.T) {
	t.Parallel()
	s := open(t)
	cutoff := time.Now().Add(-24 * time.Hour)
	oldJob := jobAt(time.Now().Add(-48 * time.Hour))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop) // also when the test fails half-way
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Purge(context.Background(), Done, PurgeOptions{Before: cutoff}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for round := range 100 {
		id := fmt.Sprintf("x%d", round%3)
		// An old job of the id, done long ago, with its log.
		tmp := s.tempPath("old")
		write(t, tmp, oldJob)
		write(t, s.LogPath(id), "old\n")
		// On Windows the name of the last round's file, removed while a
		// purge had it open, stays taken until the purge closes it.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			err := publish(tmp, s.path(Done, id))
			if err == nil {
				break
			}
			if !errors.Is(err, fs.ErrExist) || time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
		// Enqueue the id as soon as a purge has freed it.
		for {
			err := s.Enqueue(&job.Job{ID: id, Command: "true"})
			if err == nil {
				break
			}
			if !errors.Is(err, ErrExists) {
				t.Fatal(err)
			}
		}
		if data, err := os.ReadFile(s.LogPath(id)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("round %d: the new job %s has a log already: %q, %v", round, id, data, err)
		}
		// It runs and is done: young, it must survive every purge.
		write(t, s.LogPath(id), "new\n")
		mustDo(t, os.Rename(s.Path(Pending, id), s.Path(Done, id)))
		for range 3 {
			if _, err := s.Read(Done, id); err != nil {
				t.Fatalf("round %d: the new job was removed: %v", round, err)
			}
			if data, err := os.ReadFile(s.LogPath(id)); err != nil || string(data) != "new\n" {
				t.Fatalf("round %d: the new job's log: %q, %v", round, data, err)
			}
			time.Sleep(time.Millisecond)
		}
		// Gone again, by hand, for the next round's old job.
		mustDo(t, os.Remove(s.Path(Done, id)))
	}
}
