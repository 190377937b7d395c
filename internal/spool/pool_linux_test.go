package spool

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// inode returns the inode number of the file at path.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// runJob enqueues, claims and completes job id.
func runJob(t *testing.T, s *Spool, id string) (claimed uint64) {
	t.Helper()
	if err := s.Enqueue(&job.Job{ID: id, Command: "true"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Claim(Pending, id, "w")
	if err != nil {
		t.Fatal(err)
	}
	claimed = inode(t, s.path(Processing, id))
	if err := l.Complete("out " + id); err != nil {
		t.Fatal(err)
	}
	return claimed
}

// An outcome record is exchanged with the leased file, which is kept and
// written again as a later record: no file is created per outcome. The
// kept file is not a stale temporary file while it is held, and is gone
// after DropRecords.
func TestRecordReusesDisplacedFile(t *testing.T) {
	s := open(t)
	s.KeepRecords()
	first := runJob(t, s, "a")
	time.Sleep(poolMinAge + 10*time.Millisecond)
	runJob(t, s, "b")
	if got := inode(t, s.path(Done, "b")); got != first {
		t.Errorf("done/b.json is inode %d, want %d (the file a's claim displaced)", got, first)
	}
	for _, id := range []string{"a", "b"} {
		j, err := s.Read(Done, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if j.Output != "out "+id || j.State != string(Done) {
			t.Errorf("%s: %+v", id, j)
		}
		fi, err := os.Lstat(s.path(Done, id))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != s.fileMode().Perm() {
			t.Errorf("%s: mode %v, want %v", id, fi.Mode().Perm(), s.fileMode().Perm())
		}
	}
	tmp, err := os.ReadDir(s.dir(dirTmp))
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) != 1 {
		t.Fatalf("tmp/ holds %d files, want 1 (b's displaced file)", len(tmp))
	}
	s.Now = func() time.Time { return time.Now().Add(2 * StaleTemp) }
	findings, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Kind == "stale-temp" {
			t.Errorf("a held file is reported: %+v", f)
		}
	}
	s.DropRecords()
	if tmp, _ := os.ReadDir(s.dir(dirTmp)); len(tmp) != 0 {
		t.Errorf("tmp/ holds %d files after DropRecords", len(tmp))
	}
}

// The pool keeps at most poolMax files; more are removed at once.
func TestRecordPoolBounded(t *testing.T) {
	s := open(t)
	var p recordPool
	now := time.Now()
	for i := range poolMax + 5 {
		path, f, err := s.createTempLocked("x", []byte("{}"), false)
		if err != nil {
			t.Fatal(err)
		}
		p.put(f, path, now.Add(time.Duration(i)))
	}
	if len(p.files) != poolMax {
		t.Errorf("pool holds %d files, want %d", len(p.files), poolMax)
	}
	if tmp, _ := os.ReadDir(s.dir(dirTmp)); len(tmp) != poolMax {
		t.Errorf("tmp/ holds %d files, want %d", len(tmp), poolMax)
	}
	if _, ok := p.take(now); ok {
		t.Error("a file was taken before poolMinAge")
	}
	if e, ok := p.take(now.Add(poolMinAge)); !ok {
		t.Error("no file taken after poolMinAge")
	} else {
		e.f.Close()
		os.Remove(e.path)
	}
	p.drain()
	if tmp, _ := os.ReadDir(s.dir(dirTmp)); len(tmp) != 0 {
		t.Errorf("tmp/ holds %d files after drain", len(tmp))
	}
}

// A process that did not ask to keep records (a command, not a worker)
// leaves nothing in tmp/ after an outcome.
func TestRecordNotKeptByDefault(t *testing.T) {
	s := open(t)
	runJob(t, s, "a")
	if tmp, _ := os.ReadDir(s.dir(dirTmp)); len(tmp) != 0 {
		t.Errorf("tmp/ holds %d files", len(tmp))
	}
}
