//go:build unix

package worker

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// TestHostilePending: valid jobs run among every kind of hostile entry in
// pending/; each hostile entry is quarantined with a reason (dotfiles are
// ignored), nothing outside the spool changes, and the worker neither
// crashes nor hangs.
func TestHostilePending(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.PollInterval = 0.2
	p := e.s.StateDir(spool.Pending)
	outside := t.TempDir()
	pwned := filepath.Join(outside, "pwned")
	canary := filepath.Join(outside, "canary.json")
	must(t, os.WriteFile(canary, []byte(`{"command": "echo canary"}`), 0o640))
	evil := filepath.Join(outside, "evil.json")
	must(t, os.WriteFile(evil, []byte(`{"command": "touch `+pwned+`"}`), 0o600))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, os.Chtimes(canary, old, old))
	before, _ := os.Stat(canary)

	write := func(name, data string) {
		t.Helper()
		must(t, os.WriteFile(filepath.Join(p, name), []byte(data), 0o600))
	}
	hostile := map[string]string{} // name -> what it is
	add := func(name, kind string) { hostile[name] = kind }

	write("empty.json", "")
	add("empty.json", "empty")
	write("truncated.json", `{"command": "touch `+pwned)
	add("truncated.json", "truncated")
	write("binary.json", "\x00\x01\x02\xff\xfe")
	add("binary.json", "binary")
	write("utf8.json", "{\"command\": \"echo \xc3\x28\"}")
	add("utf8.json", "invalid UTF-8")
	write("dupkey.json", `{"command": "true", "command": "touch `+pwned+`"}`)
	add("dupkey.json", "duplicate keys")
	write("types.json", `{"command": ["touch", "`+pwned+`"]}`)
	add("types.json", "wrong type")
	write("deep.json", `{"command": "true", "dir": `+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`)
	add("deep.json", "deep nesting")
	big, err := os.Create(filepath.Join(p, "big.json"))
	must(t, err)
	must(t, big.Truncate(64<<20))
	big.Close()
	add("big.json", "64 MiB")
	write("new\nline.json", `{"command": "true"}`)
	add("new\nline.json", "newline in name")
	long := strings.Repeat("x", 250) + ".json"
	write(long, `{"command": "true"}`)
	add(long, "255-byte name")
	write("not-json.txt", `{"command": "true"}`)
	add("not-json.txt", "wrong extension")
	must(t, os.Symlink(evil, filepath.Join(p, "outside.json")))
	add("outside.json", "symlink outside")
	e.enqueue(&job.Job{ID: "victim", Command: "true", RunAt: time.Now().Add(time.Hour)})
	must(t, os.Symlink(e.s.Path(spool.Pending, "victim"), filepath.Join(p, "instate.json")))
	add("instate.json", "symlink to another job")
	must(t, os.Symlink(filepath.Join(outside, "nowhere"), filepath.Join(p, "dangling.json")))
	add("dangling.json", "dangling symlink")
	must(t, os.Link(canary, filepath.Join(p, "hardlink.json")))
	add("hardlink.json", "hard link outside") // valid JSON: it runs, but the canary stays unchanged
	must(t, syscall.Mkfifo(filepath.Join(p, "fifo.json"), 0o600))
	add("fifo.json", "FIFO")
	l, err := net.Listen("unix", filepath.Join(p, "sock.json"))
	must(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	defer l.Close()
	add("sock.json", "socket")
	must(t, os.Mkdir(filepath.Join(p, "dir.json"), 0o700))
	add("dir.json", "directory")
	write("mode000.json", `{"comand": "x"}`)
	must(t, os.Chmod(filepath.Join(p, "mode000.json"), 0))
	add("mode000.json", "mode 000")
	write(".hidden.json", `{"command": "touch `+pwned+`"}`)

	const valid = 50
	for i := range valid {
		e.enqueue(&job.Job{ID: fmt.Sprintf("ok%03d", i), Command: "true"})
	}
	// A file still being written in place: half now, the rest later.
	growing := filepath.Join(p, "growing.json")
	must(t, os.WriteFile(growing, []byte(`{"command": "tr`), 0o600))

	e.start(2)
	time.Sleep(500 * time.Millisecond)
	f, err := os.OpenFile(growing, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	f.WriteString(`ue"}`)
	f.Close()

	wantRejected := len(hostile) - 1 // the hard link is a valid job
	e.waitFor("valid jobs done and hostile ones rejected", func() bool {
		return e.count(spool.Done) == valid+2 && e.count(spool.Rejected) == wantRejected
	})
	left, _ := e.s.Names(spool.Pending)
	if len(left) != 1 || left[0] != "victim.json" {
		t.Errorf("left in pending/: %q", left)
	}
	if _, err := os.Stat(filepath.Join(p, ".hidden.json")); err != nil {
		t.Error("the dotfile was touched")
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a hostile entry ran a command")
	}
	after, err := os.Stat(canary)
	data, _ := os.ReadFile(canary)
	if err != nil || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() ||
		string(data) != `{"command": "echo canary"}` {
		t.Fatalf("the canary outside the spool changed: %v %v %q", after.ModTime(), after.Mode(), data)
	}
	entries, err := e.s.List(spool.Rejected)
	must(t, err)
	for _, en := range entries {
		if en.Err == nil || en.Err.Error() == "" || strings.HasPrefix(en.Err.Error(), "rejected (no reason") {
			t.Errorf("rejected/%q has no reason", en.Name)
		}
	}
}

// TestRacingRecoverers: 1,000 orphans, 8 recoverers and 4 workers at once.
// Each orphan is put back exactly once and then runs exactly once (attempts
// 2: the interrupted run and the real one), and no id is ever seen in two
// state directories at the same moment.
func TestRacingRecoverers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 1000
	runs := filepath.Join(e.dir, "runs")
	for i := range n {
		id := fmt.Sprintf("o%04d", i)
		e.enqueue(&job.Job{ID: id, Command: "echo $QUEUECTL_JOB_ID >> " + runs})
		lease, err := e.s.Claim(spool.Pending, id, "dead-worker")
		must(t, err)
		lease.Release() // its owner dies
	}
	stop := make(chan struct{})
	var violations []string
	var wg sync.WaitGroup
	wg.Go(func() { violations = monitor(e.s, stop) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var rwg sync.WaitGroup
	for range 8 {
		rwg.Go(func() {
			for {
				if ids, _ := e.s.Orphans(); len(ids) == 0 {
					return
				}
				RecoverOrphans(e.s, 3, 0, log)
			}
		})
	}
	e.start(4)
	rwg.Wait()
	e.waitFor("all finished", func() bool {
		return e.count(spool.Done)+e.count(spool.Dead)+e.count(spool.Rejected) == n
	})
	if rejected, _ := e.s.List(spool.Rejected); len(rejected) > 0 {
		for _, r := range rejected {
			t.Errorf("rejected/%s: %v", r.Name, r.Err)
		}
	}
	close(stop)
	wg.Wait()
	for _, v := range violations {
		t.Error(v)
	}
	seen := map[string]int{}
	for _, id := range e.lines("runs") {
		seen[id]++
	}
	for i := range n {
		id := fmt.Sprintf("o%04d", i)
		if seen[id] != 1 {
			t.Errorf("%s ran %d times", id, seen[id])
		}
		if j := e.read(spool.Done, id); j.Attempts != 2 {
			t.Errorf("%s: attempts %d, want 2", id, j.Attempts)
		}
	}
}

// monitor watches the state directories until stop closes and returns the
// ids it found in two directories at once.
func monitor(s *spool.Spool, stop <-chan struct{}) []string {
	var out []string
	for {
		select {
		case <-stop:
			return out
		default:
		}
		where := map[string]spool.State{}
		for _, st := range spool.States {
			names, _ := s.Names(st)
			for _, name := range names {
				id := strings.TrimSuffix(name, ".json")
				other, dup := where[id]
				if !dup {
					where[id] = st
					continue
				}
				// The listing is not one snapshot: confirm both at once.
				_, err1 := os.Lstat(s.Path(other, id))
				_, err2 := os.Lstat(s.Path(st, id))
				if err1 == nil && err2 == nil && len(out) < 10 {
					out = append(out, fmt.Sprintf("%s in %s and %s", id, other, st))
				}
			}
		}
	}
}

// TestBurstAllSeen: 20,000 job files dropped at once, more than the
// kernel's notification queue holds by default, all reach a running
// worker's index (by events, or by the rescan after an overflow). They are
// due in an hour, so the test measures seeing them, not running them.
func TestBurstAllSeen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.PollInterval = 0.5
	ws := e.start(1)
	w := ws[0]
	e.waitFor("the worker registered", func() bool { return e.s.WorkerAlive(w.id) })
	const n = 20000
	due := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	tmp := filepath.Join(e.dir, "spool", "tmp")
	for i := range n {
		name := fmt.Sprintf("b%05d.json", i)
		must(t, os.WriteFile(filepath.Join(tmp, name), []byte(`{"command": "true", "run_at": "`+due+`"}`), 0o600))
		must(t, os.Rename(filepath.Join(tmp, name), filepath.Join(e.s.StateDir(spool.Pending), name)))
	}
	e.waitFor("all indexed", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.idx.items) == n
	})
}
