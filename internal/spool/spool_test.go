package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

func open(t *testing.T) *Spool {
	t.Helper()
	s, err := Open(filepath.Join(tempDir(t), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesLayout(t *testing.T) {
	t.Parallel()
	s := open(t)
	for _, d := range []string{"tmp", "pending", "processing", "failed", "done", "dead", "rejected", "workers", "logs"} {
		fi, err := os.Stat(filepath.Join(s.Root(), d))
		if err != nil || !fi.IsDir() {
			t.Fatalf("%s: %v", d, err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", d, fi.Mode().Perm())
		}
	}
	if _, err := Open(s.Root()); err != nil {
		t.Fatalf("reopening: %v", err)
	}
}

func TestEnqueue(t *testing.T) {
	t.Parallel()
	s := open(t)
	now := time.Date(2026, 11, 27, 9, 59, 0, 123000000, time.UTC)
	s.Now = func() time.Time { return now }
	if err := s.Enqueue(&job.Job{ID: "a", Command: "echo a", Priority: 2}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(Pending, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Command != "echo a" || got.Priority != 2 || !got.CreatedAt.Equal(now) || got.State != "pending" {
		t.Fatalf("read back %+v", got)
	}
	if fi, _ := os.Stat(s.Path(Pending, "a")); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("job file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := s.Enqueue(&job.Job{ID: "a", Command: "echo again"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second enqueue: %v, want ErrExists", err)
	}
	if err := s.Enqueue(&job.Job{ID: "../x", Command: "x"}); !errors.Is(err, job.ErrBadID) {
		t.Fatalf("bad id: %v, want ErrBadID", err)
	}
	if err := s.Enqueue(&job.Job{ID: "b", Command: ""}); err == nil {
		t.Fatal("empty command accepted")
	}
	assertEmpty(t, filepath.Join(s.Root(), "tmp"))
}

// TestEnqueueUniqueAcrossStates: an id taken in any state cannot be
// enqueued again.
func TestEnqueueUniqueAcrossStates(t *testing.T) {
	t.Parallel()
	for _, st := range States {
		t.Run(string(st), func(t *testing.T) {
			t.Parallel()
			s := open(t)
			write(t, s.Path(st, "x"), `{"command": "true"}`)
			err := s.Enqueue(&job.Job{ID: "x", Command: "true"})
			if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), string(st)) {
				t.Fatalf("enqueue over a %s job: %v", st, err)
			}
			assertEmpty(t, filepath.Join(s.Root(), "tmp"))
		})
	}
}

// TestEnqueueRace: of 20 concurrent enqueues of one id exactly one wins,
// every time.
func TestEnqueueRace(t *testing.T) {
	t.Parallel()
	s := open(t)
	for round := range 50 {
		id := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				errs[i] = s.Enqueue(&job.Job{ID: id, Command: fmt.Sprintf("echo %d", i)})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrExists):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d enqueues of one id succeeded, want 1", round, won)
		}
	}
	assertEmpty(t, filepath.Join(s.Root(), "tmp"))
}

// TestEnqueueRaceWithMoves: while a job keeps moving between states the way
// workers move it (holding the lock for moves against findOrder), enqueues
// of its id never succeed.
func TestEnqueueRaceWithMoves(t *testing.T) {
	t.Parallel()
	s := open(t)
	if err := s.Enqueue(&job.Job{ID: "mover", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	// pending -> processing -> failed -> processing -> dead -> pending ...
	cycle := []State{Processing, Failed, Processing, Dead, Pending}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		cur := Pending
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			next := cycle[i%len(cycle)]
			backward := next == Pending || next == Failed
			var unlock func()
			if backward {
				var err error
				if unlock, err = s.lock(false); err != nil {
					t.Error(err)
					return
				}
			}
			if err := os.Rename(s.path(cur, "mover"), s.path(next, "mover")); err != nil {
				t.Error(err)
			}
			if backward {
				unlock()
			}
			cur = next
		}
	})
	for range 300 {
		if err := s.Enqueue(&job.Job{ID: "mover", Command: "true"}); !errors.Is(err, ErrExists) {
			t.Errorf("enqueue of a moving id: %v, want ErrExists", err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

func TestListAndCount(t *testing.T) {
	t.Parallel()
	s := open(t)
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"low-old", "low-new", "high", "scheduled"} {
		j := &job.Job{ID: id, Command: "true", CreatedAt: base.Add(time.Duration(i) * time.Second)}
		switch id {
		case "high":
			j.Priority = 5
		case "scheduled":
			j.RunAt = base.Add(-time.Hour)
		}
		if err := s.Enqueue(j); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(s.dir(Pending), "hand.json"), `{"command": "echo by hand"}`)
	// A file without created_at queues from its modification time.
	mustDo(t, os.Chtimes(filepath.Join(s.dir(Pending), "hand.json"), base, base.Add(1500*time.Millisecond)))
	write(t, filepath.Join(s.dir(Pending), "bad.json"), `{"comand": "x"}`)
	write(t, filepath.Join(s.dir(Pending), ".partial.json"), `{"com`)
	write(t, filepath.Join(s.dir(Pending), "writing.tmp"), `{"com`)

	entries, err := s.List(Pending)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range entries {
		if e.Err != nil {
			order = append(order, "!"+e.Name)
			continue
		}
		order = append(order, e.Job.ID)
	}
	want := "high scheduled low-old low-new hand !bad.json"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
	if n, err := s.Count(Pending); err != nil || n != 6 {
		t.Fatalf("Count = %d, %v; want 6", n, err)
	}
	if !strings.Contains(entries[5].Err.Error(), `field "comand": unknown field`) {
		t.Fatalf("bad entry error: %v", entries[5].Err)
	}
}

func TestReadEntryRefusesIrregular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("FIFOs and unix sockets")
	}
	t.Parallel()
	s := open(t)
	p := s.dir(Pending)
	outside := filepath.Join(tempDir(t), "outside.json")
	write(t, outside, `{"command": "echo outside"}`)
	mustDo(t, os.Symlink(outside, filepath.Join(p, "link.json")))
	mustDo(t, os.Symlink(filepath.Join(p, "nowhere"), filepath.Join(p, "dangling.json")))
	mustDo(t, os.Mkdir(filepath.Join(p, "dir.json"), 0o700))
	mustDo(t, mkfifo(filepath.Join(p, "fifo.json")))
	sock := filepath.Join(p, "sock.json")
	mksock(t, sock)
	big, err := os.Create(filepath.Join(p, "big.json"))
	mustDo(t, err)
	mustDo(t, big.Truncate(64<<20))
	big.Close()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for name, want := range map[string]string{
			"link.json": "symbolic link", "dangling.json": "symbolic link", "dir.json": "directory",
			"fifo.json": "FIFO", "sock.json": "socket", "big.json": "larger than",
		} {
			_, err := s.readName(Pending, name)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want an error about %q", name, err, want)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading irregular entries blocked")
	}
}

func TestQuarantine(t *testing.T) {
	t.Parallel()
	s := open(t)
	p := s.dir(Pending)
	write(t, filepath.Join(p, "bad.json"), "garbage \x00\xff")
	got, err := s.Quarantine(Pending, "bad.json", "not a JSON object")
	if err != nil || got != "bad.json" {
		t.Fatalf("Quarantine = %q, %v", got, err)
	}
	data, err := os.ReadFile(filepath.Join(s.dir(Rejected), "bad.json"))
	if err != nil || string(data) != "garbage \x00\xff" {
		t.Fatalf("bytes not kept: %q, %v", data, err)
	}
	// Same name again: kept beside the first.
	write(t, filepath.Join(p, "bad.json"), "second")
	got, err = s.Quarantine(Pending, "bad.json", "also bad")
	if err != nil || got != "bad.json.1" {
		t.Fatalf("second Quarantine = %q, %v", got, err)
	}
	entries, err := s.List(Rejected)
	if err != nil || len(entries) != 2 {
		t.Fatalf("List(Rejected) = %v, %v", entries, err)
	}
	if entries[0].Err.Error() != "not a JSON object" || entries[1].Err.Error() != "also bad" {
		t.Fatalf("reasons: %v / %v", entries[0].Err, entries[1].Err)
	}
	if _, err := s.Quarantine(Pending, "bad.json", "gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("quarantine of a missing entry: %v", err)
	}
	if _, err := s.Quarantine(Pending, "../done", "x"); err == nil {
		t.Fatal("quarantine accepted a path")
	}
	assertEmpty(t, p)
}

func TestQuarantineSymlinkNotFollowed(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	t.Parallel()
	s := open(t)
	target := filepath.Join(tempDir(t), "canary")
	write(t, target, "canary")
	mustDo(t, os.Symlink(target, filepath.Join(s.dir(Pending), "l.json")))
	if _, err := s.Quarantine(Pending, "l.json", "a symbolic link"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(s.dir(Rejected), "l.json"))
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("rejected entry is not the symlink itself: %v, %v", fi, err)
	}
	if data, _ := os.ReadFile(target); string(data) != "canary" {
		t.Fatal("symlink target changed")
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	s := open(t)
	write(t, s.Path(Dead, "d"), `{"command": "false", "attempts": 4, "max_retries": 3, "last_error": "exit status 1", "run_at": "2026-01-01T00:00:00Z"}`)
	j, err := s.Retry("d")
	if err != nil {
		t.Fatal(err)
	}
	if j.Attempts != 0 || !j.RunAt.IsZero() || j.LastError != "exit status 1" {
		t.Fatalf("retried job %+v", j)
	}
	if st, err := s.Find("d"); err != nil || st != Pending {
		t.Fatalf("after retry: %s, %v", st, err)
	}
	back, err := s.Read(Pending, "d")
	if err != nil || back.Attempts != 0 || back.State != "pending" {
		t.Fatalf("file after retry: %+v, %v", back, err)
	}
	var se *StateError
	if _, err := s.Retry("d"); !errors.As(err, &se) || se.Is != Pending {
		t.Fatalf("retry of a pending job: %v", err)
	}
	if _, err := s.Retry("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retry of a missing job: %v", err)
	}
	assertEmpty(t, s.dir(Dead))
	assertEmpty(t, filepath.Join(s.Root(), "tmp"))
}

func TestParseState(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]State{"pending": Pending, "completed": Done, "DONE": Done, "rejected": Rejected} {
		if got, err := ParseState(in); err != nil || got != want {
			t.Errorf("ParseState(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseState("running"); err == nil {
		t.Error("ParseState accepted running")
	}
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		t.Errorf("%s holds %s", dir, de.Name())
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRetryRace: concurrent retries of one dead job move it once; it is
// never left in two directories.
func TestRetryRace(t *testing.T) {
	t.Parallel()
	s := open(t)
	for round := range 100 {
		id := fmt.Sprintf("d%d", round)
		write(t, s.Path(Dead, id), `{"command": "false", "attempts": 4}`)
		var wg sync.WaitGroup
		var won atomic.Int32
		for range 4 {
			wg.Go(func() {
				if _, err := s.Retry(id); err == nil {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("round %d: %d retries succeeded", round, won.Load())
		}
		if _, err := os.Lstat(s.Path(Dead, id)); err == nil {
			t.Fatalf("round %d: job in both dead/ and pending/", round)
		}
	}
}

func TestQuarantineNames(t *testing.T) {
	t.Parallel()
	s := open(t)
	long := strings.Repeat("é", 120) + ".json" // 245 bytes
	for _, name := range []string{long, "notes.reason"} {
		write(t, filepath.Join(s.dir(Pending), name), "x")
		got, err := s.Quarantine(Pending, name, "bad")
		if err != nil {
			t.Fatalf("%.20s: %v", name, err)
		}
		if len(got)+len(".99.reason") > 255 || strings.HasSuffix(got, ".reason") {
			t.Errorf("%.20s quarantined as %q", name, got)
		}
	}
	if n, _ := s.Count(Rejected); n != 2 {
		t.Fatalf("Count(Rejected) = %d, want 2", n)
	}
}

// TestEnqueueNeverOverwrites: with a publish that overwrote, a job file
// dropped between the check and the rename would be replaced.
func TestPublishNeverOverwrites(t *testing.T) {
	t.Parallel()
	s := open(t)
	dst := s.Path(Pending, "x")
	write(t, dst, "theirs")
	src := filepath.Join(s.Root(), "tmp", "ours")
	write(t, src, "ours")
	if err := publish(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("publish over a file: %v", err)
	}
	if err := linkPublishTest(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linkPublish over a file: %v", err)
	}
	if data, _ := os.ReadFile(dst); string(data) != "theirs" {
		t.Fatalf("destination overwritten: %q", data)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("source lost: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	// The link fallback moves a symlink as itself, not its target.
	link := filepath.Join(s.Root(), "tmp", "link")
	mustDo(t, os.Symlink(src, link))
	moved := s.Path(Pending, "moved")
	mustDo(t, linkPublishTest(link, moved))
	if fi, err := os.Lstat(moved); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("linkPublish of a symlink: %v, %v", fi, err)
	}
}

func TestCheckPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("ACLs")
	}
	t.Parallel()
	s := open(t)
	if err := s.CheckPrivate(); err != nil {
		t.Fatalf("a new spool: %v", err)
	}
	for _, d := range []string{s.Root(), s.dir(Pending), s.dir(Failed)} {
		mustDo(t, os.Chmod(d, 0o777))
		err := s.CheckPrivate()
		if err == nil || !strings.Contains(err.Error(), "writable by other users") {
			t.Errorf("%s mode 0777: %v", d, err)
		}
		mustDo(t, os.Chmod(d, 0o700))
	}
	mustDo(t, os.Chmod(s.dir(Pending), 0o720))
	if err := s.CheckPrivate(); err == nil {
		t.Error("a group-writable pending/ was accepted")
	}
	mustDo(t, os.Chmod(s.dir(Pending), 0o700))
	mustDo(t, os.Rename(s.dir(Dead), s.dir(Dead)+".real"))
	mustDo(t, os.Symlink(s.dir(Dead)+".real", s.dir(Dead)))
	if err := s.CheckPrivate(); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a symlinked dead/: %v", err)
	}
}

func TestGroupShared(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("ACLs")
	}
	t.Parallel()
	s, err := OpenWith(filepath.Join(tempDir(t), "shared"), Options{GroupShared: true})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.dir(Pending))
	if err != nil || fi.Mode().Perm() != 0o770 || fi.Mode()&os.ModeSetgid == 0 {
		t.Fatalf("pending/ of a shared spool: %v, %v", fi.Mode(), err)
	}
	mustDo(t, s.Enqueue(&job.Job{ID: "g", Command: "true"}))
	if fi, _ := os.Stat(s.Path(Pending, "g")); fi.Mode().Perm() != 0o660 {
		t.Errorf("job file of a shared spool: %v", fi.Mode())
	}
	if err := s.CheckPrivate(); err != nil {
		t.Fatalf("a group-writable shared spool: %v", err)
	}
	mustDo(t, os.Chmod(s.dir(Pending), 0o777))
	if err := s.CheckPrivate(); err == nil {
		t.Fatal("a world-writable shared spool was accepted")
	}
}

func TestEnqueueBatch(t *testing.T) {
	t.Parallel()
	s := open(t)
	write(t, s.Path(Done, "taken"), `{"command": "true"}`)
	jobs := []*job.Job{{ID: "a", Command: "true"}, {ID: "taken", Command: "true"}, {ID: "c", Command: "true"}}
	_, err := s.EnqueueBatch(jobs)
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, ErrExists) {
		t.Fatalf("batch with a taken id: %v", err)
	}
	if n, _ := s.Count(Pending); n != 0 {
		t.Fatalf("%d jobs enqueued by a failed batch", n)
	}
	assertEmpty(t, filepath.Join(s.Root(), "tmp"))
	jobs = []*job.Job{{ID: "a", Command: "true"}, {ID: "b", Command: "echo b", Priority: 3}}
	if _, err := s.EnqueueBatch(jobs); err != nil {
		t.Fatal(err)
	}
	if j, err := s.Read(Pending, "b"); err != nil || j.Priority != 3 || j.State != "pending" {
		t.Fatalf("batch job b: %+v, %v", j, err)
	}
	if _, err := s.EnqueueBatch([]*job.Job{{ID: "x", Command: "true"}, {ID: "x", Command: "true"}}); !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("an id twice in one batch: %v", err)
	}
	assertEmpty(t, filepath.Join(s.Root(), "tmp"))
}

// A probe of a worker whose lock file is gone (the worker removed it on its
// way out, after the probe listed it) does not create the file again: a
// lock file left behind would show a stale worker for good.
func TestProbeDoesNotCreateLock(t *testing.T) {
	s := open(t)
	r, err := s.Register("w1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.WorkerAlive("w1") {
		t.Fatal("a registered worker is not alive")
	}
	r.Close()
	if alive, release := s.probeLock("w1"); alive {
		t.Error("a worker without a lock file is alive")
	} else {
		release()
	}
	if _, err := os.Lstat(s.workerPath("w1", ".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the lock file is back: %v", err)
	}
	if ws, err := s.Workers(false); err != nil || len(ws) != 0 {
		t.Errorf("workers after close: %+v, %v", ws, err)
	}
}

// TestEnqueueBatchTaken checks that a large batch, whose ids are looked up
// by reading the state directories, finds taken ids as Find does.
func TestEnqueueBatchTaken(t *testing.T) {
	t.Parallel()
	s := open(t)
	write(t, s.Path(Dead, "j040"), `{"command": "true"}`)
	write(t, s.Path(Failed, "j070"), `{"command": "true"}`)
	write(t, s.Path(Done, "j070"), `{"command": "true"}`) // in two states: Find's order decides
	var jobs []*job.Job
	for i := range 100 {
		jobs = append(jobs, &job.Job{ID: fmt.Sprintf("j%03d", i), Command: "true"})
	}
	if !s.worthListing(len(jobs)) {
		t.Fatal("a batch of 100 in a small spool is looked up one by one")
	}
	for _, tt := range []struct {
		jobs  []*job.Job
		index int
		state State
	}{{jobs, 40, Dead}, {jobs[41:], 70 - 41, Failed}} {
		_, err := s.EnqueueBatch(tt.jobs)
		var be *BatchError
		if !errors.As(err, &be) || be.Index != tt.index || !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "it is "+string(tt.state)) {
			t.Fatalf("batch with a taken id: %v, want index %d in %s", err, tt.index, tt.state)
		}
	}
	if n, _ := s.Count(Pending); n != 0 {
		t.Fatalf("%d jobs enqueued by a failed batch", n)
	}
	assertEmpty(t, filepath.Join(s.Root(), "tmp"))
	if _, err := s.EnqueueBatch(jobs[71:]); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(Pending); n != 29 {
		t.Fatalf("%d jobs pending, want 29", n)
	}
}
